import Foundation

/// Renders ``TrainingEvent``s as the lines SageMaker's built-in algorithms print, which its
/// predefined metric regexes scrape (reference §1.11, §4.1):
///
/// ```text
/// #quality_metric: host=algo-1, epoch=0, train binary_classification_cross_entropy_objective <loss>=0.595682421003
/// #early_stopping_criteria_metric: host=algo-1, epoch=0, criteria=validation_objective_loss, value=0.508278604365
/// #progress_metric: host=algo-1, completed 6 % of epochs
/// #throughput_metric: host=algo-1, train throughput=22356.2318742 records/second
/// #validation_score (algo-1) : ('binary_classification_accuracy', 0.9947933615359583)
/// #quality_metric: host=algo-1, validation binary_classification_accuracy <score>=0.994793361536
/// ```
public struct SageMakerMetricLines: Sendable, Equatable {
    /// The host name in the lines (`algo-1` for a single-host job).
    public var host: String

    public init(host: String = "algo-1") { self.host = host }

    /// The lines for `event` (none for per-batch progress, which only drives the progress bar).
    public func lines(for event: TrainingEvent) -> [String] {
        switch event {
        case .progress:
            return []
        case .epochEnded(let e):
            var out = e.metrics.map { m in
                "#quality_metric: host=\(host), epoch=\(e.epoch), \(m.channel) \(m.name) <\(m.kind.rawValue)>=\(Self.short(m.value))"
            }
            out.append("#early_stopping_criteria_metric: host=\(host), epoch=\(e.epoch), criteria=\(e.criterion.channel)_\(e.criterion.name), value=\(Self.short(e.criterion.value))")
            let percent = Int((Double(e.epoch + 1) / Double(max(1, e.epochs)) * 100).rounded(.down))
            out.append("#progress_metric: host=\(host), completed \(percent) % of epochs")
            out.append("#throughput_metric: host=\(host), train throughput=\(Self.short(e.rowsPerSecond)) records/second")
            return out
        case .finalMetric(let m):
            return [
                "#\(m.channel)_score (\(host)) : ('\(m.name)', \(m.value))",
                "#quality_metric: host=\(host), \(m.channel) \(m.name) <\(m.kind.rawValue)>=\(Self.short(m.value))",
            ]
        case .note(let text):
            return [text]
        }
    }

    /// Twelve significant digits, as the built-ins print quality metrics.
    static func short(_ x: Double) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
        return String(format: "%.12g", x)
    }
}
