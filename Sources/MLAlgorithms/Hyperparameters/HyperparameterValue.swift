/// A parsed hyperparameter value.
public enum HyperparameterValue: Sendable, Equatable, CustomStringConvertible {
    case integer(Int)
    case real(Double)
    case boolean(Bool)
    /// A `choice` or `text` value.
    case word(String)
    /// The literal `auto`, where allowed.
    case auto

    public var description: String {
        switch self {
        case .integer(let v): String(v)
        case .real(let v): String(v)
        case .boolean(let v): String(v)
        case .word(let v): v
        case .auto: "auto"
        }
    }
}

/// A hyperparameter that cannot be used, with the name, the value and the rule.
public enum HyperparameterError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A name no definition has; `suggestion` is the closest known name, if one is close.
    case unknown(name: String, suggestion: String?)
    /// A required hyperparameter that was not given.
    case missing(name: String, rule: String)
    /// A value that breaks the rule.
    case invalid(name: String, value: String, rule: String)
    /// A recognised hyperparameter set to a value MLCore does not implement.
    case unsupported(name: String, value: String, reason: String)

    public var description: String {
        switch self {
        case let .unknown(name, suggestion?):
            return "unknown hyperparameter '\(name)'; did you mean '\(suggestion)'?"
        case let .unknown(name, nil):
            return "unknown hyperparameter '\(name)'"
        case let .missing(name, rule):
            return "hyperparameter '\(name)' is required (\(rule))"
        case let .invalid(name, value, rule):
            return "hyperparameter '\(name)' = '\(value)' is invalid: expected \(rule)"
        case let .unsupported(name, value, reason):
            return "hyperparameter '\(name)' = '\(value)' is recognised but not supported: \(reason)"
        }
    }
}
