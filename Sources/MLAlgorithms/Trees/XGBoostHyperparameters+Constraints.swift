import Foundation

/// The syntax of `monotone_constraints` and `interaction_constraints`, as XGBoost's parameter
/// reader accepts it (src/tree/param.cc): a parenthesised tuple (or a bare integer) for the
/// first, a JSON list of integer lists for the second.
extension XGBoostHyperparameters {
    /// `"(1,0,-1)"` (spaces allowed, a trailing comma as Python prints a 1-tuple), `"()"`, or a
    /// bare `"1"`: one of −1, 0, 1 per feature, from feature 0; features past the end are free.
    static func parseMonotoneConstraints(_ text: String) throws(HyperparameterError) -> [Int] {
        let rule = "a tuple of -1, 0 and 1 per feature, e.g. (1,0,-1)"
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var body = Substring(trimmed)
        if body.first == "(" {
            guard body.last == ")" else { throw .invalid(name: "monotone_constraints", value: text, rule: rule) }
            body = body.dropFirst().dropLast()
        } else if body.contains(",") || body.isEmpty {
            // XGBoost reads a bare value only when it is one integer.
            throw .invalid(name: "monotone_constraints", value: text, rule: rule)
        }
        var pieces = body.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if pieces.count > 1, pieces.last == "" { pieces.removeLast() }
        if pieces == [""] { return [] }
        return try pieces.enumerated().map { (k, piece) throws(HyperparameterError) -> Int in
            guard let c = Int(piece), (-1...1).contains(c) else {
                throw .invalid(name: "monotone_constraints", value: text,
                               rule: rule + " ('\(piece)' at position \(k + 1) is not one)")
            }
            return c
        }
    }

    /// `"[[0,1],[2,3,4]]"`: sets of feature indices that may appear together on a path. Integral
    /// floats (`2.0`) are read as XGBoost reads them; anything else is refused.
    static func parseInteractionConstraints(_ text: String) throws(HyperparameterError) -> [[Int]] {
        let rule = "a list of feature-index lists, e.g. [[0,1],[2,3,4]]"
        var scanner = ListScanner(text: Array(text.unicodeScalars))
        guard let sets = scanner.nestedList(), scanner.atEnd else {
            throw .invalid(name: "interaction_constraints", value: text, rule: rule)
        }
        return try sets.map { set throws(HyperparameterError) -> [Int] in
            try set.map { x throws(HyperparameterError) -> Int in
                guard x >= 0, x == x.rounded(), x < Double(Int32.max) else {
                    throw .invalid(name: "interaction_constraints", value: text,
                                   rule: rule + " (\(x) is not a feature index)")
                }
                return Int(x)
            }
        }
    }

    /// Checks the constraints against the data's feature count (known only once data is read).
    public func checkConstraints(featureCount d: Int) throws(HyperparameterError) {
        if monotoneConstraints.count > d {
            throw .invalid(name: "monotone_constraints", value: values.word("monotone_constraints") ?? "",
                           rule: "at most one entry per feature (the data has \(d) features)")
        }
        for set in interactionConstraints ?? [] {
            if let bad = set.first(where: { $0 >= d }) {
                throw .invalid(name: "interaction_constraints", value: values.word("interaction_constraints") ?? "",
                               rule: "feature indices below \(d), the data's feature count (\(bad) is not)")
            }
        }
    }
}

/// Reads `[[n, …], …]` with whitespace anywhere.
private struct ListScanner {
    let text: [Unicode.Scalar]
    var at = 0

    var atEnd: Bool {
        mutating get { skipSpace(); return at == text.count }
    }

    mutating func skipSpace() {
        while at < text.count, text[at].properties.isWhitespace { at += 1 }
    }

    mutating func take(_ c: Unicode.Scalar) -> Bool {
        skipSpace()
        guard at < text.count, text[at] == c else { return false }
        at += 1
        return true
    }

    mutating func nestedList() -> [[Double]]? {
        list { $0.list { $0.number() } }
    }

    /// `[a, b, …]` (possibly empty), each element read by `element`.
    mutating func list<T>(_ element: (inout ListScanner) -> T?) -> [T]? {
        guard take("[") else { return nil }
        var out: [T] = []
        if take("]") { return out }
        repeat {
            guard let x = element(&self) else { return nil }
            out.append(x)
        } while take(",")
        return take("]") ? out : nil
    }

    mutating func number() -> Double? {
        skipSpace()
        let start = at
        while at < text.count, "0123456789+-.eE".unicodeScalars.contains(text[at]) { at += 1 }
        guard at > start else { return nil }
        var s = ""
        s.unicodeScalars.append(contentsOf: text[start..<at])
        return Double(s)
    }
}
