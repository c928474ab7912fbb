import Foundation
import MLAlgorithms
import MLCore

/// PCA as a SageMaker training job (reference §4.2): `train` (required) and `test` (optional),
/// hyperparameters checked before any data is read, the train channel streamed (one pass in
/// regular mode, two in randomized mode; memory is the summary, never the data), the model in
/// the model directory. The test channel, when given, is scored by the final model: SageMaker
/// documents no PCA metric names, so we report the mean squared reconstruction error
/// (`test reconstruction_mse`) and the share of the test variance the components explain
/// (`test explained_variance_ratio`), documented in docs/algorithms/pca.md.
public struct PCAJob: UnsupervisedTrainingJob {
    public static let algorithm = "pca"
    public static let channelRules = UnsupervisedJob.channelRules

    public let environment: TrainingEnvironment
    public let output: JobOutput

    public init(environment: TrainingEnvironment, output: JobOutput) {
        self.environment = environment
        self.output = output
    }

    static let displayName = "PCA"
    static func parse(_ strings: [String: String]) throws(HyperparameterError) -> PCAHyperparameters { try PCAHyperparameters(strings: strings) }
    static func featureDim(_ hyperparameters: PCAHyperparameters) -> Int { hyperparameters.featureDim }
    static func valueCount(_ hyperparameters: PCAHyperparameters) -> Int { hyperparameters.values.values.count }

    public func run(workers: Int, group: (any WorkerGroup)? = nil, cancellation: CancellationFlag? = nil) throws(ContainerError) {
        let log = output.line
        var timings = TrainingTimings()
        let (plan, hyperparameters) = try timings.measure("configuration") { () throws(ContainerError) in
            try self.plan(workers: workers, log: log)
        }
        timings.host = plan.resources.currentHost
        let host = plan.resources.currentHost
        log(LinearLearnerJob.finalConfigurationLine(UnsupervisedJob.resolved(hyperparameters.values)))
        // invariant: the channel rules require train
        guard let train = plan.readers["train"] else { throw .algorithm("the train channel disappeared") }
        var trainer = PCATrainer(hyperparameters: hyperparameters, workers: workers)
        trainer.group = group
        trainer.parameterServer = try JobParameterServer.choose(hyperparameters.values, workers: workers, group: group, log: log)
        log("\(hyperparameters.featureDim) feature(s) found in 'data'. algorithm_mode=\(hyperparameters.mode.rawValue), "
            + "num_components=\(hyperparameters.numComponents)" + (hyperparameters.mode == .randomized ? ", sketch rows \(hyperparameters.sketchRows)" : "")
            + ", \(workers) worker(s)")
        let output = self.output
        let result: PCATrainer.Result
        do {
            result = try timings.measure("training") {
                try trainer.fit(channel: "train", passes: { pass in try train.openStream(epoch: pass, cancellation: cancellation) },
                                cancellation: cancellation, progress: { pass, rows in output.progress(pass, rows >> 11, 0) })
            }
        } catch {
            throw UnsupervisedJob.containerError(error)
        }
        let totalSeconds = result.passSeconds.reduce(0, +)
        for line in UnsupervisedJob.progressLines(host: host, epoch: 0, epochs: 1, rowsPerSecond: Double(result.rows) / max(totalSeconds, 1e-9)) {
            log(line)
        }
        if result.cancelled { log("Stopped early (SIGTERM): the model summarizes the first \(result.rows) rows") }
        let model = result.model
        log("Explained variance ratio of the \(model.componentCount) component(s): "
            + String(format: "%.6g", model.explainedVarianceRatio.reduce(0.0) { $0 + Double($1) }))

        var finals: [MetricValue] = []
        if let test = plan.readers["test"], !result.cancelled {
            do {
                let (squares, explained, rows) = try timings.measure("test") {
                    try Self.score(model, source: try test.openStream(epoch: 0, cancellation: cancellation))
                }
                if rows > 0 {
                    finals.append(MetricValue(channel: "test", name: "reconstruction_mse", kind: .loss, value: (squares - explained) / Double(rows)))
                    finals.append(MetricValue(channel: "test", name: "explained_variance_ratio", kind: .score, value: squares > 0 ? explained / squares : 0))
                }
            } catch {
                throw UnsupervisedJob.containerError(error)
            }
            let lines = SageMakerMetricLines(host: host)
            for metric in finals { for line in lines.lines(for: .finalMetric(metric)) { log(line) } }
        } else if plan.readers["test"] == nil {
            log("Test data is not provided.")
        }
        try timings.measure("write model") { () throws(ContainerError) in
            try UnsupervisedJob.writeModel(environment, log: log) { (directory: String) throws(ArtifactError) in try model.save(to: directory) }
        }
        try OutputData(directory: environment.outputDataDirectory, algorithm: Self.algorithm)
            .write(history: [], bestEpoch: nil, finalMetrics: finals, timings: timings)
    }

    /// Σ‖x − mean‖² and Σ‖(x − mean)·V‖² over a channel (V has orthonormal columns, so their
    /// difference is the squared reconstruction error), and its rows.
    static func score(_ model: PCAModel, source: any DataSource) throws -> (squares: Double, explained: Double, rows: Int) {
        var blocks = DenseRowBlocks(channel: "test", features: model.features, blockRows: 16_384, source: source)
        var squares = 0.0, explained = 0.0
        while let block = try blocks.next() {
            let projection = try model.project(block)
            let d = model.features
            block.withUnsafeBufferPointer { x in
                for i in 0..<block.rows {
                    for j in 0..<d {
                        let c = Double(x[i * d + j] - model.mean[j])
                        squares += c * c
                    }
                }
            }
            projection.withUnsafeBufferPointer { p in for v in p { explained += Double(v) * Double(v) } }
        }
        return (squares, explained, blocks.rowsDelivered)
    }
}
