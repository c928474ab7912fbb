import ArgumentParser
import Foundation
import MLContainer
import MLCore

/// `mlc train`: run a training job the way SageMaker runs a training container — configuration
/// from `<root>/input/config`, channels from `<root>/input/data`, the model into `<root>/model`,
/// checkpoints into `<root>/checkpoints`, the failure reason into `<root>/output/failure`
/// (docs/cli.md).
public struct TrainCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Run a SageMaker training job from an /opt/ml tree.",
        discussion: """
            The root is --root, else SAGEMAKER_BASE_DIR, else /opt/ml; SM_MODEL_DIR, \
            SM_OUTPUT_DATA_DIR and SM_CHANNEL_<NAME> override their directories. The algorithm \
            is --algorithm, else MLC_ALGORITHM (what a container image sets). A checkpoint is \
            written after every epoch, and training resumes from the newest one at start. \
            Exit status: 0 trained (also when SIGTERM/SIGINT stopped it: the model so far and a \
            checkpoint are written; xgboost writes the model only with \
            save_model_on_termination=true), 1 failed (the reason, ClientError: or AlgorithmError:, is \
            in output/failure).
            """)

    @Option(help: "The algorithm (default: the MLC_ALGORITHM environment variable).")
    public var algorithm: ContainerAlgorithm?

    @Option(help: ArgumentHelp("The SageMaker root directory (default: SAGEMAKER_BASE_DIR, else /opt/ml).", valueName: "path"))
    public var root: String?

    @Option(help: "Worker threads (default: the cores the container may use).")
    public var workers: Int?

    @Flag(help: "Never draw the progress bar (it is drawn only when stderr is a terminal).")
    public var noProgress = false

    public init() {}
}

/// Runs a parsed ``TrainCommand``.
struct TrainRun {
    let command: TrainCommand
    let console: Console
    let cancellation: CancellationFlag

    func run() -> Int32 {
        let environment = TrainingEnvironment(root: command.root)
        let console = self.console
        let bar = ProgressBar(console: console, enabled: console.errorIsTerminal && !command.noProgress, epochs: 0)
        defer { bar.clear() }
        let output = JobOutput(line: { line in
            bar.clear()
            console.out(line)
        }, progress: { epoch, completed, total in
            bar.update(epoch: epoch, completed: completed, total: total)
        })
        do throws(ContainerError) {
            // Several hosts, or a rank of mpirun (TrainCommand+Cluster.swift): launch, wait or join.
            var group: (any WorkerGroup)?
            var jobEnvironment = environment
            var jobOutput = output
            var shardScratch: String?
            switch try clusterPlacement(environment: environment, output: output) {
            case .finished(let status):
                return status
            case .local:
                break
            case .rank(let rankGroup):
                group = rankGroup
                if !rankGroup.isPrimary {
                    // Every rank but 0 trains the same state in lockstep, quietly, and writes
                    // its copy of the model to scratch (TrainingEnvironment.secondaryScratch).
                    jobEnvironment.secondaryScratch = FileManager.default.temporaryDirectory
                        .appendingPathComponent("mlc-rank-\(UUID().uuidString)").path
                    jobOutput = JobOutput(line: { _ in })
                }
                // ShardedByS3Key channels: the ranks exchange their hosts' shards first.
                shardScratch = FileManager.default.temporaryDirectory.appendingPathComponent("mlc-shards-\(UUID().uuidString)").path
                jobEnvironment = try ShardedChannels.exchange(environment: jobEnvironment, group: rankGroup, scratch: shardScratch ?? "",
                                                              log: jobOutput.line)
            }
            defer {
                if let scratch = jobEnvironment.secondaryScratch { try? FileManager.default.removeItem(atPath: scratch) }
                if let shardScratch { try? FileManager.default.removeItem(atPath: shardScratch) }
            }
            // A run killed while writing left a staging directory or temporary file: the model
            // directory must end up holding whole files only.
            if jobEnvironment.writesArtifacts { ArtifactDirectory.removeInterruptedWrites(in: jobEnvironment.modelDirectory) }
            let name = command.algorithm?.rawValue ?? ProcessInfo.processInfo.environment["MLC_ALGORITHM"]
            let job = try TrainingJobs.named(name).init(environment: jobEnvironment, output: jobOutput)
            let workers = command.workers.map { max(1, $0) } ?? ComputeContext.defaultThreadCount()
            try job.run(workers: workers, group: group, cancellation: cancellation)
            if cancellation.isCancelled && jobEnvironment.writesArtifacts {
                // SageMaker's stop: the model so far and a checkpoint are written; the job ends cleanly.
                console.err("Training was stopped; the model so far and a checkpoint were written")
            }
            return 0
        } catch {
            bar.clear()
            environment.writeFailure(error)
            console.err(error.failureReason)
            // A rank of an MPI job ends the whole job, so no other rank waits for it.
            abortClusterJob(reason: error.failureReason)
            return MLC.failure
        }
    }
}
