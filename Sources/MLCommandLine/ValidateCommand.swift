import ArgumentParser
import Foundation
import MLContainer
import MLCore

/// `mlc validate`: every check `mlc train` makes before training, and a sample of every channel
/// read and checked, in seconds and without training or writing anything (docs/cli.md).
public struct ValidateCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a SageMaker training job's configuration and data without training.",
        discussion: """
            Reads <root>/input/config (hyperparameters, channels, resources, checkpoints) as \
            `mlc train` does, then the first rows of every file of every File/FastFile channel \
            (Pipe channels are not read: that would consume the FIFO). Writes nothing: no model, \
            no output/failure. Exit status: 0 valid, 1 the first problem found (printed as \
            ClientError: …, exactly as train would fail).
            """)

    @Option(help: "The algorithm (default: the MLC_ALGORITHM environment variable).")
    public var algorithm: ContainerAlgorithm?

    @Option(help: ArgumentHelp("The SageMaker root directory (default: SAGEMAKER_BASE_DIR, else /opt/ml).", valueName: "path"))
    public var root: String?

    @Option(help: "Rows read from the start of each file.")
    public var sampleRows = 1000

    public init() {}

    public func validate() throws {
        guard sampleRows >= 1 else { throw ValidationError("--sample-rows must be at least 1, got \(sampleRows)") }
    }
}

/// Runs a parsed ``ValidateCommand``.
struct ValidateRun {
    let command: ValidateCommand
    let console: Console

    func run() -> Int32 {
        let environment = TrainingEnvironment(root: command.root)
        let console = self.console
        do throws(ContainerError) {
            let name = command.algorithm?.rawValue ?? ProcessInfo.processInfo.environment["MLC_ALGORITHM"]
            let job = try TrainingJobs.named(name).init(environment: environment, output: JobOutput(line: { console.out($0) }))
            let report = try job.validate(sampleRows: command.sampleRows, workers: ComputeContext.defaultThreadCount())
            for line in report { console.out(line) }
            console.out("Valid: \(type(of: job).algorithm) can train from \(environment.root)")
            return 0
        } catch {
            console.err(error.failureReason)
            return MLC.failure
        }
    }
}
