import Foundation

/// Where a training job's files are (reference §1.2): `/opt/ml`, or `SAGEMAKER_BASE_DIR`, or a
/// root given on the command line, with the `SM_*` overrides script-mode users rely on
/// (`SM_MODEL_DIR`, `SM_OUTPUT_DATA_DIR`, `SM_CHANNEL_<NAME>`) honoured when set.
public struct TrainingEnvironment: Sendable, Equatable {
    public let root: String
    public let environment: [String: String]
    /// Set on every rank of a multi-process job but rank 0. Ranks train in lockstep and hold
    /// the same state, so only rank 0 writes the model, output data and checkpoints; the others
    /// write their model and output data under this scratch directory (which the caller removes)
    /// and read, never write, the shared checkpoint directory — so they resume from the same
    /// checkpoint as rank 0.
    public var secondaryScratch: String? = nil

    /// Whether this process writes the job's artifacts (it is rank 0, or the only process).
    public var writesArtifacts: Bool { secondaryScratch == nil }

    /// `root` wins over `SAGEMAKER_BASE_DIR`, which wins over `/opt/ml`.
    public init(root: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.root = root ?? environment["SAGEMAKER_BASE_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/opt/ml"
        self.environment = environment
    }

    public var configDirectory: String { root + "/input/config" }
    public var hyperparametersPath: String { configDirectory + "/hyperparameters.json" }
    public var inputDataConfigPath: String { configDirectory + "/inputdataconfig.json" }
    public var resourceConfigPath: String { configDirectory + "/resourceconfig.json" }
    public var checkpointConfigPath: String { configDirectory + "/checkpointconfig.json" }
    public var dataDirectory: String { root + "/input/data" }
    public var modelDirectory: String { secondaryScratch.map { $0 + "/model" } ?? environment["SM_MODEL_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? root + "/model" }
    public var outputDirectory: String { root + "/output" }
    public var outputDataDirectory: String { secondaryScratch.map { $0 + "/output/data" } ?? environment["SM_OUTPUT_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? outputDirectory + "/data" }
    public var failurePath: String { outputDirectory + "/failure" }
    public var successPath: String { outputDirectory + "/success" }
    public var defaultCheckpointDirectory: String { root + "/checkpoints" }

    /// A File/FastFile channel's directory: `SM_CHANNEL_<NAME>` (name upper-cased) when set.
    public func channelDirectory(_ name: String) -> String {
        environment["SM_CHANNEL_" + name.uppercased()].flatMap { $0.isEmpty ? nil : $0 } ?? dataDirectory + "/" + name
    }

    /// Pipe mode's FIFO for `epoch` of a channel: `<data>/<channel>_<epoch>`.
    public func pipePath(_ name: String, epoch: Int) -> String { dataDirectory + "/\(name)_\(epoch)" }

    /// The hyperparameters, channels, resources and checkpoint directory, all read and checked.
    /// `hyperparameters.json` missing means `{}`; `resourceconfig.json` missing means one host
    /// (a local run); `inputdataconfig.json` is required.
    public func loadConfiguration() throws(ContainerError) -> (hyperparameters: [String: String], channels: [ChannelConfiguration],
                                                              resources: ResourceConfiguration, checkpointDirectory: String) {
        let hyperparameters = try read(hyperparametersPath).map { d throws(ContainerError) in
            try ContainerConfiguration.hyperparameters(d, path: hyperparametersPath)
        } ?? [:]
        guard let channelData = try read(inputDataConfigPath) else {
            throw .client("\(inputDataConfigPath) does not exist: a training job needs its channel configuration (is \(root) the SageMaker root? set SAGEMAKER_BASE_DIR or --root)")
        }
        let channels = try ContainerConfiguration.channels(channelData, path: inputDataConfigPath)
        let resources = try read(resourceConfigPath).map { d throws(ContainerError) in
            try ContainerConfiguration.resources(d, path: resourceConfigPath)
        } ?? .singleHost
        let checkpoint = try read(checkpointConfigPath).flatMap { d throws(ContainerError) in
            try ContainerConfiguration.checkpointPath(d, path: checkpointConfigPath)
        } ?? defaultCheckpointDirectory
        return (hyperparameters, channels, resources, checkpoint)
    }

    /// Writes `/opt/ml/output/failure` unless it exists (the toolkit's rule: the first failure wins).
    public func writeFailure(_ error: ContainerError) {
        guard !FileManager.default.fileExists(atPath: failurePath) else { return }
        try? FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        try? Data(error.failureFileText.utf8).write(to: URL(fileURLWithPath: failurePath), options: .atomic)
    }

    func read(_ path: String) throws(ContainerError) -> Data? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .client("cannot read \(path): \(error.localizedDescription)")
        }
    }
}
