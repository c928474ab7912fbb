import ArgumentParser
import Foundation
import MLContainer
import MLCore

/// `mlc train`: run a training job the way SageMaker runs a training container — configuration
/// from `<root>/input/config`, channels from `<root>/input/data`, the model into `<root>/model`,
/// the failure reason into `<root>/output/failure` (docs/cli.md).
public struct TrainCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Run a SageMaker training job from an /opt/ml tree.",
        discussion: """
            The root is --root, else SAGEMAKER_BASE_DIR, else /opt/ml; SM_MODEL_DIR, \
            SM_OUTPUT_DATA_DIR and SM_CHANNEL_<NAME> override their directories. The algorithm \
            is --algorithm, else MLC_ALGORITHM (what a container image sets). Exit status: 0 \
            trained (also when SIGTERM/SIGINT stopped it: the best model so far is written), \
            1 failed (the reason, ClientError: or AlgorithmError:, is in output/failure).
            """)

    @Option(help: "The algorithm (default: the MLC_ALGORITHM environment variable).")
    public var algorithm: FitCommand.Algorithm?

    @Option(help: ArgumentHelp("The SageMaker root directory (default: SAGEMAKER_BASE_DIR, else /opt/ml).", valueName: "path"))
    public var root: String?

    @Option(help: "Worker threads (default: the cores the container may use).")
    public var workers: Int?

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
        do {
            let name = command.algorithm?.rawValue ?? ProcessInfo.processInfo.environment["MLC_ALGORITHM"]
            guard let name, let algorithm = FitCommand.Algorithm(rawValue: name) else {
                let known = FitCommand.Algorithm.allCases.map(\.rawValue).joined(separator: ", ")
                throw ContainerError.client("no known algorithm chosen (--algorithm or MLC_ALGORITHM = '\(name ?? "")'); known: \(known)")
            }
            switch algorithm {
            case .linearLearner:
                let workers = command.workers.map { max(1, $0) } ?? ComputeContext.defaultThreadCount()
                try LinearLearnerJob(environment: environment, log: { console.out($0) })
                    .run(workers: workers, cancellation: cancellation)
            }
            if cancellation.isCancelled {
                // SageMaker's stop: the best model so far is written and the job ends cleanly.
                console.err("Training was stopped; the best model so far was written")
            }
            return 0
        } catch let error as ContainerError {
            environment.writeFailure(error)
            console.err(error.failureReason)
            return MLC.failure
        } catch {
            let wrapped = ContainerError.algorithm("\(error)")
            environment.writeFailure(wrapped)
            console.err(wrapped.failureReason)
            return MLC.failure
        }
    }
}
