import ArgumentParser

/// `mlc fit`: the arguments. ``MLC/run(arguments:console:cancellation:)`` runs it through
/// ``FitRun`` (docs/cli.md).
public struct FitCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Train a model locally from files, printing SageMaker's metric lines.",
        discussion: """
            Channels are SageMaker CSV (no header, the label in the first column): a file, or a \
            directory whose files (recursively, sorted, skipping names starting with '.' or '_') \
            form the channel. Hyperparameters are SageMaker's names and values; -p wins over \
            --hyperparameters-json. stdout carries the metric lines; errors, the progress bar \
            and interrupt notices go to stderr. Exit status: 0 trained, 1 error, 130 interrupted \
            (SIGINT/SIGTERM; nothing is saved). See docs/cli.md.
            """)

    /// The algorithms `fit` trains.
    public enum Algorithm: String, CaseIterable, Sendable, ExpressibleByArgument {
        case linearLearner = "linear-learner"
    }

    @Option(help: "The algorithm to train.")
    public var algorithm: Algorithm

    @Option(help: ArgumentHelp("The training channel: a CSV file or a directory of CSV files.", valueName: "path"))
    public var train: String

    @Option(help: ArgumentHelp("The validation channel (selects the best epoch, drives early stopping, final metrics).",
                               valueName: "path"))
    public var validation: String?

    @Option(help: ArgumentHelp("The test channel (final metrics only).", valueName: "path"))
    public var test: String?

    @Option(name: [.customShort("p"), .customLong("hyperparameter")],
            help: ArgumentHelp("A hyperparameter, e.g. -p epochs=10 (repeatable; the last of a name wins).",
                               valueName: "name=value"),
            transform: { argument in try HyperparameterAssignment.parse(argument) })
    public var hyperparameters: [HyperparameterAssignment] = []

    @Option(name: .customLong("hyperparameters-json"),
            help: ArgumentHelp("A JSON object of hyperparameter names to string values, as SageMaker's hyperparameters.json.",
                               valueName: "file"))
    public var hyperparametersJSON: String?

    @Option(name: .customLong("model-dir"),
            help: ArgumentHelp("Where to write the model (created if missing) after training completes. Default: not saved.",
                               valueName: "dir"))
    public var modelDirectory: String?

    @Option(help: "In-process workers (1...1024). Default: min(cores, cgroup CPU quota), or MLCORE_THREADS.")
    public var workers: Int?

    @Option(help: "The seed of initialization, sampling and shuffling.")
    public var seed: UInt64 = 0

    @Option(help: "The host name in the metric lines.")
    public var host: String = "algo-1"

    @Flag(name: .customLong("no-progress"), help: "Never draw the progress bar (it is drawn only when stderr is a terminal).")
    public var noProgress = false

    public init() {}

    public func validate() throws {
        if let workers, !(1...1024).contains(workers) {
            throw ValidationError("--workers must be in 1...1024, got \(workers)")
        }
        if host.isEmpty || host.contains(where: { $0 == "," || $0.isWhitespace }) {
            throw ValidationError("--host must be a non-empty name without spaces or commas, got '\(host)'")
        }
    }
}
