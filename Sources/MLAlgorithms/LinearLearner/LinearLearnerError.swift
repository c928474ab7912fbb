/// Why the linear learner refused data or stopped, naming the channel, row and value or the
/// hyperparameter, and how to fix it.
public enum LinearLearnerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Rows are numbered from 1 within the channel.
    case invalidLabel(channel: String, row: Int, label: Double, rule: String)
    case nonFiniteFeature(channel: String, row: Int, column: Int, value: Double)
    case invalidWeight(channel: String, row: Int, weight: Double)
    case featureCount(channel: String, expected: Int, found: Int, source: String)
    case emptyChannel(channel: String)
    /// `unbias_data=true` with sparse features: centring would make every row dense.
    case sparseCentering(channel: String)
    case malformed(channel: String, reason: String)
    /// The loss or the parameters stopped being finite, or the loss exploded.
    case diverged(epoch: Int, batch: Int, reason: String, hint: String)
    /// A checkpoint that does not belong to this run.
    case incompatibleState(reason: String)

    public var description: String {
        switch self {
        case let .invalidLabel(channel, row, label, rule):
            "\(channel) channel, row \(row): label \(label) is invalid: \(rule)"
        case let .nonFiniteFeature(channel, row, column, value):
            "\(channel) channel, row \(row), feature column \(column): \(value) is not a finite number; clean or impute the data"
        case let .invalidWeight(channel, row, weight):
            "\(channel) channel, row \(row): example weight \(weight) must be finite and ≥ 0"
        case let .featureCount(channel, expected, found, source):
            "\(channel) channel has \(found) features but \(source) says \(expected)"
        case let .emptyChannel(channel):
            "\(channel) channel has no rows"
        case let .sparseCentering(channel):
            "\(channel) channel is sparse and unbias_data=true: centring sparse features would make every row dense; "
                + "leave unbias_data at auto (sparse data is scaled, not centred) or pass dense data"

        case let .malformed(channel, reason):
            "\(channel) channel: \(reason)"
        case let .diverged(epoch, batch, reason, hint):
            "training diverged in epoch \(epoch), mini-batch \(batch): \(reason); \(hint)"
        case let .incompatibleState(reason):
            "cannot resume from this training state: \(reason)"
        }
    }
}
