/// Whether smaller or larger is better, and how SageMaker tags the value (`<loss>` / `<score>`).
public enum MetricKind: String, Sendable, Equatable, Codable {
    case loss
    case score
}

/// One named value measured on one channel (`train`, `validation`, `test`).
public struct MetricValue: Sendable, Equatable, Codable {
    public var channel: String
    /// SageMaker's metric name, e.g. `binary_classification_cross_entropy_objective`.
    public var name: String
    public var kind: MetricKind
    public var value: Double

    public init(channel: String, name: String, kind: MetricKind, value: Double) {
        self.channel = channel
        self.name = name
        self.kind = kind
        self.value = value
    }
}

/// What a trainer reports at the end of each epoch (or boosting round).
public struct EpochSummary: Sendable, Equatable, Codable {
    /// 0-based, as SageMaker's logs count.
    public var epoch: Int
    /// The most epochs the run may take.
    public var epochs: Int
    /// Objective and quality metrics on each evaluated channel.
    public var metrics: [MetricValue]
    /// The value early stopping and best-epoch selection look at.
    public var criterion: MetricValue
    /// Whether this epoch became the best so far.
    public var improved: Bool
    /// Training rows processed per second of wall time in this epoch (not part of any model).
    public var rowsPerSecond: Double
    /// Wall time of the epoch, evaluation included.
    public var seconds: Double

    public init(epoch: Int, epochs: Int, metrics: [MetricValue], criterion: MetricValue, improved: Bool,
                rowsPerSecond: Double, seconds: Double) {
        self.epoch = epoch
        self.epochs = epochs
        self.metrics = metrics
        self.criterion = criterion
        self.improved = improved
        self.rowsPerSecond = rowsPerSecond
        self.seconds = seconds
    }
}

/// Progress and metrics a trainer emits while it runs (DESIGN.md "Core types"). Rendered as
/// SageMaker metric lines by ``SageMakerMetricLines`` and, on a terminal, as a progress bar.
public enum TrainingEvent: Sendable, Equatable {
    /// `completed` of `total` mini-batches of `epoch` are done.
    case progress(epoch: Int, completed: Int, total: Int)
    case epochEnded(EpochSummary)
    /// A metric of the final model (after training, on validation or test data).
    case finalMetric(MetricValue)
    /// A human-readable line (`Epoch 3: loss improved, updating the best model`).
    case note(String)
}
