import Foundation
import MLContainer
import Testing

/// A fabricated `/opt/ml` tree in a temporary directory, laid out as SageMaker lays it out.
struct FakeOptML {
    let root: String

    init(hyperparameters: String? = #"{"predictor_type": "binary_classifier", "epochs": "5"}"#,
         inputDataConfig: String? = #"{"train": {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}}"#,
         resourceConfig: String? = #"{"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}"#,
         checkpointConfig: String? = nil) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("optml-\(UUID().uuidString)").path
        let config = root + "/input/config"
        try FileManager.default.createDirectory(atPath: config, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/input/data/train", withIntermediateDirectories: true)
        for (name, text) in [("hyperparameters", hyperparameters), ("inputdataconfig", inputDataConfig),
                             ("resourceconfig", resourceConfig), ("checkpointconfig", checkpointConfig)] {
            if let text { try Data(text.utf8).write(to: URL(fileURLWithPath: "\(config)/\(name).json")) }
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

@Suite("MediaType")
struct MediaTypeTests {
    @Test("type, subtype and parameter names are case-insensitive; values keep their case")
    func parses() throws {
        let t = try MediaType(parsing: "Text/CSV; Label_Size=0")
        #expect(t.essence == "text/csv" && t.parameters == ["label_size": "0"])
        let r = try MediaType(parsing: #"application/x-recordio; label-format="Class-ID""#)
        #expect(r.essence == "application/x-recordio" && r.parameters["label-format"] == "Class-ID")
        #expect(try MediaType(parsing: "application/x-recordio-protobuf").parameters.isEmpty)
        #expect(t.description == "text/csv;label_size=0")
    }

    @Test("malformed content types are client errors", arguments: ["csv", "text/", "/csv", "text/csv;label_size", "te xt/csv", ""])
    func rejects(_ text: String) {
        #expect(throws: ContainerError.self) { _ = try MediaType(parsing: text) }
    }
}

@Suite("Container configuration files")
struct ContainerConfigurationTests {
    @Test("hyperparameters.json: strings as SageMaker sends them; numbers and booleans tolerated")
    func hyperparameters() throws {
        let h = try ContainerConfiguration.hyperparameters(
            Data(#"{"epochs": "15", "learning_rate": 0.1, "use_bias": true, "mini_batch_size": 100, "optimizer": "\"adam\""}"#.utf8), path: "h.json")
        #expect(h == ["epochs": "15", "learning_rate": "0.1", "use_bias": "true", "mini_batch_size": "100", "optimizer": "\"adam\""])
        #expect(throws: ContainerError.self) { _ = try ContainerConfiguration.hyperparameters(Data(#"{"a": [1]}"#.utf8), path: "h.json") }
        #expect(throws: ContainerError.self) { _ = try ContainerConfiguration.hyperparameters(Data("[1]".utf8), path: "h.json") }
        #expect(throws: ContainerError.self) { _ = try ContainerConfiguration.hyperparameters(Data("{".utf8), path: "h.json") }
    }

    @Test("inputdataconfig.json: the reference's example, defaults, and every bad field")
    func channels() throws {
        let example = #"""
        {"train": {"ContentType": "application/x-recordio-protobuf", "TrainingInputMode": "File", "S3DistributionType": "ShardedByS3Key", "RecordWrapperType": "None"},
         "validation": {"ContentType": "text/csv", "TrainingInputMode": "Pipe", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"},
         "test": {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None", "Extra": 1}}
        """#
        let c = try ContainerConfiguration.channels(Data(example.utf8), path: "i.json")
        #expect(c.map(\.name) == ["test", "train", "validation"])
        #expect(c[0].contentType == nil && c[0].inputMode == .file)
        #expect(c[1].contentType?.essence == "application/x-recordio-protobuf" && c[1].distribution == "ShardedByS3Key")
        #expect(c[2].inputMode == .pipe && c[2].contentType?.essence == "text/csv")
        // SageMaker XGBoost's shorthand names are MIME types here.
        let shorthand = try ContainerConfiguration.channels(Data(#"{"train": {"ContentType": "csv;label_size=1"}, "validation": {"ContentType": "libsvm"}}"#.utf8), path: "i.json")
        #expect(shorthand.map { $0.contentType?.essence } == ["text/csv", "text/libsvm"] && shorthand[0].contentType?.parameters["label_size"] == "1")
        let minimal = try ContainerConfiguration.channels(Data(#"{"train": {}}"#.utf8), path: "i.json")
        #expect(minimal == [ChannelConfiguration(name: "train", contentType: nil, inputMode: .file, distribution: "FullyReplicated", recordWrapper: "None")])
        for bad in [#"{"train": {"TrainingInputMode": "Stream"}}"#, #"{"train": {"S3DistributionType": "Sharded"}}"#,
                    #"{"train": {"RecordWrapperType": "Gzip"}}"#, #"{"train": {"ContentType": "comma separated"}}"#, #"{"train": 1}"#,
                    #"{"tr ain": {}}"#, #"{"train": {"ContentType": 5}}"#] {
            #expect(throws: ContainerError.self, "\(bad)") { _ = try ContainerConfiguration.channels(Data(bad.utf8), path: "i.json") }
        }
    }

    @Test("resourceconfig.json: current_host among hosts; interface defaults to eth0")
    func resources() throws {
        let r = try ContainerConfiguration.resources(Data(#"{"current_host": "algo-2", "hosts": ["algo-2", "algo-1"]}"#.utf8), path: "r.json")
        #expect(r == ResourceConfiguration(currentHost: "algo-2", hosts: ["algo-1", "algo-2"], networkInterfaceName: "eth0"))
        #expect(throws: ContainerError.client("r.json: current_host 'algo-3' is not one of hosts [\"algo-1\"]")) {
            _ = try ContainerConfiguration.resources(Data(#"{"current_host": "algo-3", "hosts": ["algo-1"]}"#.utf8), path: "r.json")
        }
        #expect(throws: ContainerError.self) { _ = try ContainerConfiguration.resources(Data(#"{"hosts": ["algo-1"]}"#.utf8), path: "r.json") }
    }
}

@Suite("Training environment")
struct TrainingEnvironmentTests {
    @Test("the root: flag, then SAGEMAKER_BASE_DIR, then /opt/ml; SM_* overrides")
    func paths() {
        #expect(TrainingEnvironment(environment: [:]).root == "/opt/ml")
        #expect(TrainingEnvironment(environment: ["SAGEMAKER_BASE_DIR": "/tmp/x"]).modelDirectory == "/tmp/x/model")
        #expect(TrainingEnvironment(root: "/r", environment: ["SAGEMAKER_BASE_DIR": "/tmp/x"]).root == "/r")
        let e = TrainingEnvironment(root: "/r", environment: ["SM_MODEL_DIR": "/m", "SM_OUTPUT_DATA_DIR": "/o", "SM_CHANNEL_TRAIN": "/c"])
        #expect(e.modelDirectory == "/m" && e.outputDataDirectory == "/o" && e.channelDirectory("train") == "/c")
        #expect(e.channelDirectory("validation") == "/r/input/data/validation")
        #expect(e.pipePath("train", epoch: 2) == "/r/input/data/train_2")
        #expect(e.failurePath == "/r/output/failure" && e.hyperparametersPath == "/r/input/config/hyperparameters.json")
    }

    @Test("a fabricated /opt/ml tree loads; missing optional files take their defaults")
    func loads() throws {
        let tree = try FakeOptML(checkpointConfig: #"{"LocalPath": "/tmp/ckpt"}"#)
        defer { tree.remove() }
        let config = try TrainingEnvironment(root: tree.root, environment: [:]).loadConfiguration()
        #expect(config.hyperparameters == ["predictor_type": "binary_classifier", "epochs": "5"])
        #expect(config.channels.map(\.name) == ["train"] && config.channels[0].contentType?.essence == "text/csv")
        #expect(config.resources == .singleHost)
        #expect(config.checkpointDirectory == "/tmp/ckpt")

        let bare = try FakeOptML(hyperparameters: nil, resourceConfig: nil)
        defer { bare.remove() }
        let defaults = try TrainingEnvironment(root: bare.root, environment: [:]).loadConfiguration()
        #expect(defaults.hyperparameters.isEmpty && defaults.resources == .singleHost)
        #expect(defaults.checkpointDirectory == bare.root + "/checkpoints")

        let missing = try FakeOptML(inputDataConfig: nil)
        defer { missing.remove() }
        #expect(throws: ContainerError.self) { _ = try TrainingEnvironment(root: missing.root, environment: [:]).loadConfiguration() }
    }

    @Test("the failure file: ClientError/AlgorithmError first line, and the first failure wins")
    func failureFile() throws {
        let tree = try FakeOptML()
        defer { tree.remove() }
        let env = TrainingEnvironment(root: tree.root, environment: [:])
        env.writeFailure(.client("hyperparameter 'epochs' = 0: must be an integer in [1, 2147483647]"))
        env.writeFailure(.algorithm("later"))
        let text = try String(contentsOfFile: env.failurePath, encoding: .utf8)
        #expect(text == "ClientError: hyperparameter 'epochs' = 0: must be an integer in [1, 2147483647]\n")
    }
}
