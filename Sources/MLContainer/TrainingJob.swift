import MLCore

/// Where a job's output goes: plain lines (SageMaker's metric lines, the log) and, on a
/// terminal, progress.
public struct JobOutput: Sendable {
    /// One line of the log (no newline).
    public var line: @Sendable (String) -> Void
    /// `completed` of `total` mini-batches (or rounds) of the 0-based `epoch` are done.
    public var progress: @Sendable (_ epoch: Int, _ completed: Int, _ total: Int) -> Void

    public init(line: @escaping @Sendable (String) -> Void,
                progress: @escaping @Sendable (_ epoch: Int, _ completed: Int, _ total: Int) -> Void = { _, _, _ in }) {
        self.line = line
        self.progress = progress
    }
}

/// An algorithm as a SageMaker training job. Every algorithm plugs into `mlc train` and
/// `mlc validate` through this: the container contract (configuration files, channels,
/// checkpoints, failure file) is the same for all of them.
public protocol TrainingJob: Sendable {
    /// The name `--algorithm` and `MLC_ALGORITHM` take (`linear-learner`).
    static var algorithm: String { get }
    /// The channels the algorithm takes and the content types it reads.
    static var channelRules: ChannelRules { get }

    init(environment: TrainingEnvironment, output: JobOutput)

    /// Checks the configuration and reads a sample of every channel, training nothing; returns
    /// a line per finding. Throws the first problem, as training would.
    func validate(sampleRows: Int, workers: Int) throws(ContainerError) -> [String]

    /// Trains and writes the model, checkpoints and output data. When `cancellation` is set
    /// (SIGTERM) it stops after the current step, writes a valid model and a checkpoint, and
    /// returns normally.
    ///
    /// `group` is where the ranks run: `nil` means `workers` threads of this process; an MPI
    /// group (MLCluster) runs one rank per process, every process calling this with the same
    /// configuration and data. On every rank but rank 0 the environment's
    /// ``TrainingEnvironment/secondaryScratch`` is set, so only rank 0 writes artifacts.
    func run(workers: Int, group: (any WorkerGroup)?, cancellation: CancellationFlag?) throws(ContainerError)
}

/// Which channels an algorithm takes and how it reads them.
public struct ChannelRules: Sendable {
    public var required: [String]
    public var optional: [String]
    public var formats: [ChannelFormat]
    /// The content type of a channel that names none (the 1P algorithms' default is RecordIO-protobuf).
    public var defaultFormat: ChannelFormat
    /// Leading label columns of CSV/NPY rows unless the content type says `label_size`.
    public var defaultLabelSize: Int

    public init(required: [String], optional: [String], formats: [ChannelFormat], defaultFormat: ChannelFormat, defaultLabelSize: Int) {
        self.required = required
        self.optional = optional
        self.formats = formats
        self.defaultFormat = defaultFormat
        self.defaultLabelSize = defaultLabelSize
    }

    /// A ClientError for a channel the algorithm does not take or a required one missing; the
    /// readers of the channels otherwise (content types and parameters checked, nothing read).
    public func readers(for channels: [ChannelConfiguration], algorithm: String, environment: TrainingEnvironment,
                        threads: Int) throws(ContainerError) -> [String: ChannelReader] {
        let described = (required.map { "\($0) (required)" } + optional).joined(separator: ", ")
        for channel in channels where !required.contains(channel.name) && !optional.contains(channel.name) {
            throw .client("the \(algorithm) does not take a channel named '\(channel.name)': its channels are \(described)")
        }
        for name in required where !channels.contains(where: { $0.name == name }) {
            throw .client("the \(name) channel is required and inputdataconfig.json has none (the \(algorithm)'s channels are \(described))")
        }
        var readers: [String: ChannelReader] = [:]
        for channel in channels {
            readers[channel.name] = try ChannelReader(channel: channel, environment: environment, accepted: formats,
                                                      defaultContentType: defaultFormat, defaultLabelSize: defaultLabelSize,
                                                      threads: threads)
        }
        return readers
    }
}

extension ContainerConfiguration {
    /// The hyperparameters meant for the algorithm: keys starting with `_` or `sagemaker_` (which
    /// SageMaker, the SDK and automatic model tuning add) are dropped, each with a log line.
    public static func algorithmHyperparameters(_ all: [String: String], keeping hidden: Set<String> = [],
                                                log: (String) -> Void) -> [String: String] {
        var kept: [String: String] = [:]
        for name in all.keys.sorted() {
            // invariant: `name` is a key of `all`
            let value = all[name]!
            if hidden.contains(name) {
                log("Hidden hyperparameter \(name)=\(value)")
                kept[name] = value
            } else if name.hasPrefix("sagemaker_") || name.hasPrefix("_") {
                log(name == "_tuning_objective_metric" ? "Tuning objective metric \(name)=\(value)" : "Ignoring reserved hyperparameter \(name)=\(value)")
                // The one hidden name an algorithm acts on: under automatic model tuning the
                // linear learner trains one model (reference §4.1); the parsers ignore the rest.
                if name == "_tuning_objective_metric" { kept[name] = value }
            } else {
                kept[name] = value
            }
        }
        return kept
    }
}

/// Every algorithm that runs as a training job, by the name `--algorithm` and `MLC_ALGORITHM` take.
public enum TrainingJobs {
    public static let all: [any TrainingJob.Type] = [LinearLearnerJob.self, PCAJob.self, KMeansJob.self, XGBoostJob.self,
                                                    ImageClassificationJob.self]

    public static var names: [String] { all.map { $0.algorithm } }

    /// The job type for `name` (`--algorithm`, else `MLC_ALGORITHM`), or a ClientError listing the known names.
    public static func named(_ name: String?) throws(ContainerError) -> any TrainingJob.Type {
        guard let name, let job = all.first(where: { $0.algorithm == name }) else {
            throw .client("no known algorithm chosen (--algorithm or MLC_ALGORITHM = '\(name ?? "")'); known: "
                          + names.joined(separator: ", "))
        }
        return job
    }
}
