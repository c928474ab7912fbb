/// Hyperparameters parsed from SageMaker's string map against their definitions.
///
/// SageMaker delivers every value as a string, sometimes JSON-encoded a second time
/// (`"\"0.1\""`), booleans in any case. Parsing checks every name and value before any data is
/// read: an unknown name (with the closest known one suggested), a missing required value, a
/// value outside its rule, or a non-default value of a recognised-but-unsupported hyperparameter
/// is a ``HyperparameterError``. Defaults fill in the rest.
public struct HyperparameterSet: Sendable, Equatable {
    public let definitions: [HyperparameterDefinition]
    /// Parsed values for every definition that has a value (given or default).
    public private(set) var values: [String: HyperparameterValue]
    /// The names the user set explicitly.
    public private(set) var explicitlySet: Set<String>
    /// The `_`-prefixed names that no definition has (SageMaker's hidden ones), as given.
    public private(set) var hidden: [String: String]

    /// Parses `strings`. Names starting with `_` (SageMaker's hidden tuning or framework
    /// parameters, e.g. `_tuning_objective_metric`) are ignored unless defined.
    public init(definitions: [HyperparameterDefinition], strings: [String: String]) throws(HyperparameterError) {
        self.definitions = definitions
        values = [:]
        explicitlySet = []
        hidden = strings.filter { $0.key.hasPrefix("_") }
        let byName = Dictionary(definitions.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        // Sorted so that, of several bad names, the same one is reported every time.
        for name in strings.keys.sorted() where byName[name] == nil && !name.hasPrefix("_") {
            throw .unknown(name: name, suggestion: Self.closestName(to: name, among: definitions.map(\.name)))
        }
        for definition in definitions {
            hidden[definition.name] = nil
            if let raw = strings[definition.name] {
                let text = Self.unquote(raw)
                let value = try Self.parse(text, as: definition)
                if case .unsupported(let reason, let accepted) = definition.support,
                   !((definition.defaultValue.map { [$0] } ?? []) + accepted).contains(where: { (try? Self.parse($0, as: definition)) == value }) {
                    throw .unsupported(name: definition.name, value: text, reason: reason)
                }
                values[definition.name] = value
                explicitlySet.insert(definition.name)
            } else if let fallback = definition.defaultValue {
                values[definition.name] = try Self.parse(fallback, as: definition)
            } else if definition.isRequired {
                throw .missing(name: definition.name, rule: definition.rule)
            }
        }
    }

    /// The value of `name`, or `nil` when it has neither a value nor a default.
    public subscript(name: String) -> HyperparameterValue? { values[name] }

    /// `name` as an integer (`nil` when unset or `auto`).
    public func integer(_ name: String) -> Int? {
        if case .integer(let v)? = values[name] { return v }
        return nil
    }

    /// `name` as a real number; integers widen (`nil` when unset or `auto`).
    public func real(_ name: String) -> Double? {
        switch values[name] {
        case .real(let v)?: v
        case .integer(let v)?: Double(v)
        default: nil
        }
    }

    /// `name` as a Boolean (`nil` when unset).
    public func boolean(_ name: String) -> Bool? {
        if case .boolean(let v)? = values[name] { return v }
        return nil
    }

    /// `name` as a word (`choice`, `text` or a keyword such as `balanced`; `nil` when unset or `auto`).
    public func word(_ name: String) -> String? {
        if case .word(let v)? = values[name] { return v }
        return nil
    }

    /// Whether `name` is `auto`.
    public func isAuto(_ name: String) -> Bool { values[name] == .auto }

    // MARK: Parsing

    /// Strips one layer of JSON string quoting (`"\"0.1\""` → `0.1`) and surrounding spaces.
    static func unquote(_ raw: String) -> String {
        var text = Substring(raw).trimmingSpaces()
        if text.count >= 2, text.first == "\"", text.last == "\"" {
            text = text.dropFirst().dropLast().trimmingSpaces()
        }
        return String(text)
    }

    static func parse(_ text: String, as definition: HyperparameterDefinition) throws(HyperparameterError) -> HyperparameterValue {
        let invalid = HyperparameterError.invalid(name: definition.name, value: text, rule: definition.rule)
        if let keyword = definition.keywords.first(where: { $0 == text.lowercased() }) {
            return keyword == "auto" ? .auto : .word(keyword)
        }
        switch definition.kind {
        case .integer(let range):
            // Accept "10.0" (the SDK sometimes sends floats for integer tuning ranges) but not "10.5".
            let value: Int
            if let v = Int(text) {
                value = v
            } else if let d = Double(text), d.isFinite, d == d.rounded(), abs(d) < 9e15 {
                value = Int(d)
            } else {
                throw invalid
            }
            if let range, !range.contains(value) { throw invalid }
            return .integer(value)
        case .real(let bounds):
            guard let v = Double(text), bounds.contains(v) else { throw invalid }
            return .real(v)
        case .boolean:
            switch text.lowercased() {
            case "true": return .boolean(true)
            case "false": return .boolean(false)
            default: throw invalid
            }
        case .choice(let words):
            guard words.contains(text) else { throw invalid }
            return .word(text)
        case .text:
            return .word(text)
        }
    }

    /// The known name within edit distance 2 of `name` (or sharing its words), if any.
    static func closestName(to name: String, among names: [String]) -> String? {
        var best: (name: String, distance: Int)?
        for candidate in names.sorted() {
            let d = editDistance(name.lowercased(), candidate.lowercased())
            if d <= 2 && d < (best?.distance ?? Int.max) { best = (candidate, d) }
        }
        return best?.name
    }

    /// Levenshtein distance, two rows.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...max(1, b.count) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s = s.dropLast() }
        return s
    }
}

extension HyperparameterDefinition {
    /// The Markdown table of `definitions` for the docs: name, accepted values, default, support,
    /// summary. Generated, never written by hand, so the docs cannot drift from the code.
    public static func markdownTable(_ definitions: [HyperparameterDefinition]) -> String {
        var lines = ["| name | accepted values | default | status | description |", "| --- | --- | --- | --- | --- |"]
        for d in definitions {
            let status: String = switch d.support {
            case .supported: "supported"
            case .unsupported(let reason, let accepted):
                "recognised, not supported: " + reason
                    + (accepted.isEmpty ? "" : " (accepted now: " + accepted.map { "`\($0)`" }.joined(separator: ", ") + ")")
            }
            let fallback = d.defaultValue.map { "`\($0)`" } ?? (d.isRequired ? "required" : "none")
            let cells = ["`\(d.name)`", d.rule, fallback, status, d.summary]
            lines.append("| " + cells.map { $0.replacingPipes() }.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension String {
    fileprivate func replacingPipes() -> String { split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|") }
}
