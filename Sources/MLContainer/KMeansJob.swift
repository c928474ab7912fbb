import Foundation
import MLAlgorithms
import MLCore

/// K-means as a SageMaker training job (reference §4.3): `train` (required) streamed once per
/// epoch and `test` (optional) scored with `eval_metrics`; SageMaker's metric lines
/// (`#quality_metric: host=algo-1, train msd <loss>=…`, `test msd`, `test ssd`); a checkpoint
/// after every epoch and on SIGTERM, resumed from at start; the model in the model directory.
public struct KMeansJob: UnsupervisedTrainingJob {
    public static let algorithm = "kmeans"
    public static let channelRules = UnsupervisedJob.channelRules

    public let environment: TrainingEnvironment
    public let output: JobOutput

    public init(environment: TrainingEnvironment, output: JobOutput) {
        self.environment = environment
        self.output = output
    }

    static let displayName = "k-means"
    static func parse(_ strings: [String: String]) throws(HyperparameterError) -> KMeansHyperparameters { try KMeansHyperparameters(strings: strings) }
    static func featureDim(_ hyperparameters: KMeansHyperparameters) -> Int { hyperparameters.featureDim }
    static func valueCount(_ hyperparameters: KMeansHyperparameters) -> Int { hyperparameters.values.values.count }

    public func run(workers: Int, group: (any WorkerGroup)? = nil, cancellation: CancellationFlag? = nil) throws(ContainerError) {
        let log = output.line
        var timings = TrainingTimings()
        let (plan, hyperparameters) = try timings.measure("configuration") { () throws(ContainerError) in
            try self.plan(workers: workers, log: log)
        }
        timings.host = plan.resources.currentHost
        let host = plan.resources.currentHost
        let resolved = UnsupervisedJob.resolved(hyperparameters.values)
        log(LinearLearnerJob.finalConfigurationLine(resolved))
        // invariant: the channel rules require train
        guard let train = plan.readers["train"] else { throw .algorithm("the train channel disappeared") }

        let store = CheckpointStore(directory: plan.checkpointDirectory, algorithm: Self.algorithm, configuration: resolved, writable: environment.writesArtifacts)
        var resumed: KMeansTrainingState?
        if let checkpoint = try store.newest(log: log) {
            do {
                resumed = try KMeansTrainingState.decode(checkpoint.state)
            } catch {
                throw .client("the checkpoint \(checkpoint.path) cannot be resumed: \(error)")
            }
            log("Resuming from checkpoint \(checkpoint.path) (epoch \(checkpoint.epoch), mini-batch \(checkpoint.batch))")
        }
        try Self.checkMemory(hyperparameters, workers: workers, budget: MemoryBudget.fromEnvironment(environment.environment))
        var trainer = KMeansTrainer(hyperparameters: hyperparameters, workers: workers)
        trainer.group = group
        trainer.parameterServer = try JobParameterServer.choose(hyperparameters.values, workers: workers, group: group,
                                                                synchronousAcrossProcesses: true, log: log)
        let lines = SageMakerMetricLines(host: host)
        let output = self.output
        let result: KMeansTrainer.Result
        do {
            result = try timings.measure("training") {
                try trainer.fit(channel: "train", passes: { epoch in try train.openStream(epoch: epoch, cancellation: cancellation) },
                                resumingFrom: resumed, cancellation: cancellation,
                                events: { event in for line in lines.lines(for: event) { output.line(line) } },
                                checkpoint: { state in try store.save(state.encoded(), epoch: state.epoch, batch: state.batch) })
            }
        } catch {
            throw UnsupervisedJob.containerError(error)
        }
        if result.cancelled {
            do {
                try store.save(result.state.encoded(), epoch: result.state.epoch, batch: result.state.batch)
            } catch {
                throw UnsupervisedJob.containerError(error)
            }
            log("Stopped in epoch \(result.state.epoch) after mini-batch \(result.state.batch); checkpoint written to \(store.directory)")
        }
        let seconds = result.epochSeconds.reduce(0, +)
        for line in UnsupervisedJob.progressLines(host: host, epoch: hyperparameters.epochs - 1, epochs: hyperparameters.epochs,
                                                  rowsPerSecond: Double(result.rows * result.epochSeconds.count) / max(seconds, 1e-9)) {
            log(line)
        }
        var finals = [MetricValue(channel: "train", name: "msd", kind: .loss, value: result.trainMSD)]
        if let test = plan.readers["test"] {
            do {
                let (ssd, rows) = try timings.measure("test") {
                    try KMeansTrainer.evaluate(result.model, channel: "test", source: try test.openStream(epoch: 0, cancellation: cancellation))
                }
                for metric in hyperparameters.evalMetrics {
                    let value = metric == .msd ? ssd / Double(max(1, rows)) : ssd
                    finals.append(MetricValue(channel: "test", name: metric.rawValue, kind: .loss, value: value))
                }
            } catch {
                throw UnsupervisedJob.containerError(error)
            }
        } else {
            log("Test data is not provided.")
        }
        for metric in finals { for line in lines.lines(for: .finalMetric(metric)) { log(line) } }
        let model = result.model
        try timings.measure("write model") { () throws(ContainerError) in
            try UnsupervisedJob.writeModel(environment, log: log) { (directory: String) throws(ArtifactError) in try model.save(to: directory) }
        }
        try OutputData(directory: environment.outputDataDirectory, algorithm: Self.algorithm)
            .write(history: [], bestEpoch: nil, finalMetrics: finals, timings: timings)
    }
}
