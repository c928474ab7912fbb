/// Why PCA or k-means refused its data or its state, naming the channel and the row (numbered
/// from 1 within the channel), the column, or the hyperparameter, and how to fix it.
public enum UnsupervisedDataError: Error, Equatable, Sendable, CustomStringConvertible {
    case featureCount(channel: String, expected: Int, found: Int)
    case nonFinite(channel: String, row: Int, column: Int, value: Double)
    /// Fewer rows than a hyperparameter needs (`k` centres, `num_components` components).
    case tooFewRows(channel: String, rows: Int, parameter: String, value: Int, rule: String)
    case emptyChannel(channel: String)
    /// Every row is the same point (after the mean, if subtracted): the covariance is zero and
    /// no direction is a principal component.
    case noVariance(channel: String, rows: Int)
    /// A checkpoint that does not belong to this run.
    case incompatibleState(reason: String)
    /// The data could not be read (the reader's own error, with its location).
    case unreadable(channel: String, reason: String)

    public var description: String {
        switch self {
        case let .featureCount(channel, expected, found):
            "\(channel) channel has \(found) features but hyperparameter feature_dim says \(expected); "
                + "set feature_dim to the number of feature columns (without a label column)"
        case let .nonFinite(channel, row, column, value):
            "\(channel) channel, row \(row), feature column \(column): \(value) is not a finite number; clean or impute the data"
        case let .tooFewRows(channel, rows, parameter, value, rule):
            "\(channel) channel has \(rows) row(s) but \(parameter)=\(value) needs \(rule)"
        case let .emptyChannel(channel):
            "\(channel) channel has no rows"
        case let .noVariance(channel, rows):
            "\(channel) channel: its \(rows) rows have no variance (every row is the same point), so the covariance matrix is zero "
                + "and has no principal components; likely cause: constant or empty feature columns, or the wrong file"
        case let .incompatibleState(reason):
            "cannot resume from this training state: \(reason)"
        case let .unreadable(channel, reason):
            "\(channel) channel: \(reason)"
        }
    }
}
