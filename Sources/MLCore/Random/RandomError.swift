/// A distribution or sampling parameter outside its domain.
///
/// Thrown by ``RandomStream``'s distributions instead of trapping, so a bad hyperparameter (a
/// dropout probability of 1.5, a sample larger than the data) reaches the user as a message that
/// names the parameter, its value and the rule it broke.
public enum RandomError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `name` (the argument label, e.g. `probability`) had `value`, which breaks `rule`.
    case invalidParameter(name: String, value: String, rule: String)

    public var description: String {
        switch self {
        case let .invalidParameter(name, value, rule):
            return "invalid random-sampling parameter \(name) = \(value): \(rule)"
        }
    }
}

extension RandomError {
    @usableFromInline
    static func invalid(_ name: String, _ value: some CustomStringConvertible, _ rule: String) -> RandomError {
        .invalidParameter(name: name, value: value.description, rule: rule)
    }
}
