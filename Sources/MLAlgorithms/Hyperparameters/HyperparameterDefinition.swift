/// How a hyperparameter's string is read and which values it accepts.
public enum HyperparameterKind: Sendable, Equatable {
    /// A whole number within `range` (inclusive), or any when `nil`.
    case integer(ClosedRange<Int>?)
    /// A real number within the bounds (each optional, inclusive or not). NaN is never accepted.
    case real(RealBounds)
    /// `true` or `false`, in any case (SageMaker sends `"True"`, the SDK `"true"`).
    case boolean
    /// One of the listed words, compared case-sensitively as SageMaker does.
    case choice([String])
    /// Free text (checked by the algorithm, e.g. a list syntax).
    case text
}

/// Bounds of a real-valued hyperparameter.
public struct RealBounds: Sendable, Equatable {
    public var lower: Double?
    public var lowerInclusive: Bool
    public var upper: Double?
    public var upperInclusive: Bool

    public init(lower: Double? = nil, lowerInclusive: Bool = true, upper: Double? = nil, upperInclusive: Bool = true) {
        self.lower = lower
        self.lowerInclusive = lowerInclusive
        self.upper = upper
        self.upperInclusive = upperInclusive
    }

    /// `x > 0`.
    public static let positive = RealBounds(lower: 0, lowerInclusive: false)
    /// `x ≥ 0`.
    public static let nonNegative = RealBounds(lower: 0)
    /// `0 ≤ x ≤ 1`.
    public static let unitInterval = RealBounds(lower: 0, upper: 1)
    /// Any finite number.
    public static let any = RealBounds()

    public func contains(_ x: Double) -> Bool {
        guard x.isFinite else { return false }
        if let lower, lowerInclusive ? x < lower : x <= lower { return false }
        if let upper, upperInclusive ? x > upper : x >= upper { return false }
        return true
    }

    /// The rule in words, for errors and the docs table: `(0, 1]`, `≥ 0`, `any`.
    public var rule: String {
        switch (lower, upper) {
        case (nil, nil): return "any finite number"
        case let (l?, nil): return (lowerInclusive ? "≥ " : "> ") + format(l)
        case let (nil, u?): return (upperInclusive ? "≤ " : "< ") + format(u)
        case let (l?, u?): return (lowerInclusive ? "[" : "(") + format(l) + ", " + format(u) + (upperInclusive ? "]" : ")")
        }
    }
}

/// Whether MLCore implements a hyperparameter SageMaker documents.
public enum HyperparameterSupport: Sendable, Equatable {
    case supported
    /// Recognised and validated, but only its default (and the values in `alsoAccepted`, which
    /// mean what the default does today) is accepted; any other value is refused with `reason`
    /// (never reported as an unknown name).
    case unsupported(reason: String, alsoAccepted: [String] = [])
}

/// One hyperparameter, defined once: the parser, the validation and the documentation table all
/// read this value. Names keep SageMaker's spelling (`mini_batch_size`).
public struct HyperparameterDefinition: Sendable, Equatable {
    public let name: String
    public let kind: HyperparameterKind
    /// The default as SageMaker spells it, or `nil` when there is none.
    public let defaultValue: String?
    /// With no default: whether leaving it out is an error (`false`: it is simply absent, and
    /// the algorithm decides, e.g. `num_classes` matters only for multiclass).
    public let isRequired: Bool
    /// Words accepted besides the kind's values (`auto`, `balanced`), compared case-insensitively.
    public let keywords: [String]
    /// Whether the word `auto` is accepted besides the kind's values.
    public var allowsAuto: Bool { keywords.contains("auto") }
    /// One sentence for the documentation table.
    public let summary: String
    public let support: HyperparameterSupport

    public init(
        _ name: String, _ kind: HyperparameterKind, default defaultValue: String?, required: Bool = true,
        allowsAuto: Bool = false, keywords: [String] = [], support: HyperparameterSupport = .supported, summary: String
    ) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.isRequired = defaultValue == nil && required
        self.keywords = (allowsAuto && !keywords.contains("auto") ? ["auto"] : []) + keywords
        self.summary = summary
        self.support = support
    }

    /// The accepted values in words: `integer in [1, 100]`, `one of sgd, adam`, `… or auto`.
    public var rule: String {
        let base: String = switch kind {
        case .integer(let range?): "integer in [\(range.lowerBound), \(range.upperBound)]"
        case .integer(nil): "integer"
        case .real(let bounds): "real " + bounds.rule
        case .boolean: "true or false"
        case .choice(let words): "one of " + words.joined(separator: ", ")
        case .text: "text"
        }
        return keywords.isEmpty ? base : base + ", or " + keywords.joined(separator: ", or ")
    }
}

private func format(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
}
