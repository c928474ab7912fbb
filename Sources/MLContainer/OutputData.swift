import Foundation
import MLCore

/// What a training job leaves in `/opt/ml/output/data` besides the model (reference §1.8): the
/// per-epoch metrics as JSON (`metrics.json`) and as a plot a person can open (`metrics.svg`),
/// and where the time went (`timings.json`). Nothing here goes into the model files, which stay
/// deterministic.
public struct OutputData: Sendable {
    public let directory: String
    public let algorithm: String

    public init(directory: String, algorithm: String) {
        self.directory = directory
        self.algorithm = algorithm
    }

    public func write(history: [EpochSummary], bestEpoch: Int?, finalMetrics: [MetricValue], timings: TrainingTimings) throws(ContainerError) {
        var timings = timings
        timings.recordEpochs(history)
        timings.finish()
        struct History: Encodable {
            var epochs: [EpochSummary]
            var bestEpoch: Int?
            var final: [MetricValue]
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            try encoder.encode(History(epochs: history, bestEpoch: bestEpoch, final: finalMetrics))
                .write(to: URL(fileURLWithPath: directory + "/metrics.json"), options: .atomic)
            let svg = MetricsPlot.svg(history: history, title: "\(algorithm): metrics per epoch", bestEpoch: bestEpoch)
            try Data(svg.utf8).write(to: URL(fileURLWithPath: directory + "/metrics.svg"), options: .atomic)
        } catch {
            throw .algorithm("cannot write the output data in \(directory): \(error)")
        }
        try timings.write(to: directory + "/timings.json")
    }
}
