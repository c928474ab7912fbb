/// Input that a ``Metrics`` function cannot score. Every case names the metric (the Swift
/// function's name, such as `"rocAUC"`) and its `description` states the rule that was broken.
///
/// The functions never trap on data: a mismatched length, an empty input, a NaN, a probability
/// outside [0, 1] or a ROC AUC over a single class comes back as one of these.
public enum MetricError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No samples were given.
    case empty(metric: String)
    /// `argument` has `actual` elements where `expected` are needed (one per label, or
    /// labels × classCount for a flat row-major matrix).
    case lengthMismatch(metric: String, argument: String, expected: Int, actual: Int)
    /// A NaN or an infinity at `index` (flat index for matrices) of `argument`.
    case nonFinite(metric: String, argument: String, index: Int)
    /// A binary metric got a value other than 0 and 1 at `index` of `argument`.
    case notBinary(metric: String, argument: String, index: Int, value: Double)
    /// A class label that is not an integer or, when the metric has a class count, lies outside
    /// `0..<classCount`.
    case invalidClassLabel(metric: String, argument: String, index: Int, value: Double, classCount: Int?)
    /// ROC AUC needs both classes with positive total weight; only `presentClass` has any.
    case singleClass(metric: String, presentClass: Double)
    /// A probability outside [0, 1] at `index` (flat index for matrices).
    case probabilityOutOfRange(metric: String, index: Int, value: Double)
    /// A row of class probabilities whose sum differs from 1 by more than `tolerance`.
    case probabilitiesDoNotSumToOne(metric: String, row: Int, sum: Double, tolerance: Double)
    /// A negative sample weight at `index`.
    case negativeWeight(metric: String, index: Int, value: Double)
    /// The sample weights add up to zero, so no average exists.
    case zeroTotalWeight(metric: String)
    /// A parameter (`k`, `beta`, `classCount`) outside its domain; `rule` states the domain.
    case invalidParameter(metric: String, name: String, value: String, rule: String)
    /// Row `row` of a `[[T]]` matrix has `actual` entries but row 0 has `expected`.
    case raggedRows(metric: String, row: Int, expected: Int, actual: Int)
    /// Fewer samples than the metric is defined for.
    case tooFewSamples(metric: String, minimum: Int, actual: Int)

    /// The metric that rejected its input.
    public var metric: String {
        switch self {
        case let .empty(metric), let .lengthMismatch(metric, _, _, _), let .nonFinite(metric, _, _),
             let .notBinary(metric, _, _, _), let .invalidClassLabel(metric, _, _, _, _),
             let .singleClass(metric, _), let .probabilityOutOfRange(metric, _, _),
             let .probabilitiesDoNotSumToOne(metric, _, _, _), let .negativeWeight(metric, _, _),
             let .zeroTotalWeight(metric), let .invalidParameter(metric, _, _, _),
             let .raggedRows(metric, _, _, _), let .tooFewSamples(metric, _, _):
            return metric
        }
    }

    public var description: String {
        switch self {
        case let .empty(metric):
            return "\(metric): no samples; a metric needs at least one label"
        case let .lengthMismatch(metric, argument, expected, actual):
            return "\(metric): \(argument) has \(actual) elements but \(expected) are needed to match the labels"
        case let .nonFinite(metric, argument, index):
            return "\(metric): \(argument)[\(index)] is NaN or infinite; every value must be finite"
        case let .notBinary(metric, argument, index, value):
            return "\(metric): \(argument)[\(index)] is \(value); binary metrics take 0 (negative) and 1 (positive) only"
        case let .invalidClassLabel(metric, argument, index, value, classCount?):
            return "\(metric): \(argument)[\(index)] is \(value); class labels must be integers in 0..<\(classCount) (the class count)"
        case let .invalidClassLabel(metric, argument, index, value, nil):
            return "\(metric): \(argument)[\(index)] is \(value); class labels must be integer-valued (as scikit-learn, a fractional label is a regression target)"
        case let .singleClass(metric, presentClass):
            return "\(metric): only class \(presentClass) occurs in the labels with positive weight; ROC AUC is undefined unless both 0 and 1 occur"
        case let .probabilityOutOfRange(metric, index, value):
            return "\(metric): probabilities[\(index)] is \(value); probabilities must lie in [0, 1]"
        case let .probabilitiesDoNotSumToOne(metric, row, sum, tolerance):
            return "\(metric): probability row \(row) sums to \(sum); each row must sum to 1 (within \(tolerance)) — pass probabilities, not raw scores"
        case let .negativeWeight(metric, index, value):
            return "\(metric): weights[\(index)] is \(value); sample weights must be non-negative"
        case let .zeroTotalWeight(metric):
            return "\(metric): the sample weights sum to zero; at least one weight must be positive"
        case let .invalidParameter(metric, name, value, rule):
            return "\(metric): \(name) = \(value) is invalid; \(rule)"
        case let .raggedRows(metric, row, expected, actual):
            return "\(metric): row \(row) has \(actual) columns but row 0 has \(expected); every row needs one value per class"
        case let .tooFewSamples(metric, minimum, actual):
            return "\(metric): \(actual) sample(s) given; the metric is defined for at least \(minimum)"
        }
    }
}
