import Foundation
import MLAlgorithms
import MLContainer
import MLTestSupport
import Testing
@testable import MLCommandLine

/// The SageMaker training contract end to end: the built-in MetricDefinitions applied to real
/// output, the environment overrides and input modes a real process sees, the failure file's
/// first line, and the SDK's XGBoost maps trained as they are.
// Serialized: several tests wait on child processes, and each waiting test holds one of the
// few Swift concurrency threads other suites' servers need.
@Suite("the training contract, end to end", .serialized)
struct TrainingContractTests {
    /// Reference §4.1's built-in MetricDefinitions for every predictor type (applied with
    /// re.search semantics: the first capture of the first match anywhere in a line).
    static let commonDefinitions: [(name: String, regex: String)] = [
        ("train:progress", #"#progress_metric: host=\S+, completed (\S+) %"#),
        ("train:throughput", #"#throughput_metric: host=\S+, train throughput=(\S+) records/second"#),
        ("train:objective_loss", #"#quality_metric: host=\S+, epoch=\S+, train \S+_objective <loss>=(\S+)"#),
        ("validation:objective_loss", #"#quality_metric: host=\S+, epoch=\S+, validation \S+_objective <loss>=(\S+)"#),
        ("validation:objective_loss:final", #"#quality_metric: host=\S+, validation \S+_objective <loss>=(\S+)"#),
        ("test:objective_loss", #"#quality_metric: host=\S+, test \S+_objective <loss>=(\S+)"#),
    ]

    /// The final-score definitions of a predictor type, per channel (`<ch>` in the reference).
    static func scoreDefinitions(_ predictor: String, channel: String) -> [(name: String, regex: String)] {
        let names: [(String, String)] = switch predictor {
        case "binary_classifier": [
            ("binary_f_beta", #"binary_f_\S+ <score>"#), ("binary_classification_accuracy", "binary_classification_accuracy <score>"),
            ("precision", "precision <score>"), ("recall", "recall <score>"), ("roc_auc_score", "roc_auc_score <score>"),
        ]
        case "multiclass_classifier": [
            ("dcg", "dcg <score>"), ("macro_precision", "macro_precision <score>"), ("macro_recall", "macro_recall <score>"),
            ("macro_f_beta", #"macro_f_\S+ <score>"#), ("multiclass_accuracy", "multiclass_accuracy <score>"),
            ("multiclass_top_k_accuracy", #"multiclass_top_k_accuracy_\S+ <score>"#),
        ]
        default: [("mse", "mse <loss>"), ("absolute_loss", "absolute_loss <loss>"), ("rmse", "rmse <loss>")]
        }
        return names.map { ("\(channel):\($0.0)", #"#quality_metric: host=\S+, "# + channel + " " + $0.1 + #"=(\S+)"#) }
    }

    /// Values of `regex`'s first capture over every line it is found in.
    static func scraped(_ lines: [String], _ pattern: String) throws -> [Double] {
        let regex = try Regex(pattern, as: (Substring, Substring).self)
        return lines.compactMap { $0.firstMatch(of: regex).map { Double(String($0.1)) ?? .nan } }
    }

    @Test("the reference's built-in MetricDefinitions all find numbers in a real run, for every predictor type",
          arguments: [("binary_classifier", "breast-cancer", #""#), ("multiclass_classifier", "digits", #", "num_classes": "10""#),
                      ("regressor", "breast-cancer", #""#)])
    func metricDefinitions(predictor: String, dataSet: String, extra: String) throws {
        let root = try trainingTree(hyperparameters: #"{"predictor_type": "\#(predictor)", "epochs": "3"\#(extra)}"#,
                                    channels: #"{"train": {"ContentType": "text/csv"}, "validation": {"ContentType": "text/csv"}, "test": {"ContentType": "text/csv"}}"#,
                                    dataSet: dataSet)
        defer { root.remove() }
        try FileManager.default.createDirectory(atPath: root.path + "/input/data/test", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: bundled(dataSet, "validation"), toPath: root.path + "/input/data/test/part-0.csv")
        let run = mlc(["train", "--algorithm", "linear-learner", "--root", root.path, "--workers", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        var definitions = Self.commonDefinitions
        for channel in ["validation", "test"] { definitions += Self.scoreDefinitions(predictor, channel: channel) }
        for (name, pattern) in definitions {
            let values = try Self.scraped(run.lines, pattern)
            #expect(!values.isEmpty, "\(name): no line matches \(pattern)")
            #expect(values.allSatisfy { $0.isFinite }, "\(name): \(values)")
        }
        // The per-epoch definitions find one value per epoch; `:final` and `test:` one each, at the end.
        let counts = try Self.commonDefinitions.map { try Self.scraped(run.lines, $0.regex).count }
        #expect(counts == [3, 3, 3, 3, 1, 1], "\(counts)")
    }

    @Test("a real process finds everything through SAGEMAKER_BASE_DIR and the SM_* overrides, and reads a FastFile channel")
    func environmentOverrides() throws {
        let root = try trainingTree(channels: #"{"train": {"ContentType": "text/csv", "TrainingInputMode": "FastFile"}, "validation": {"ContentType": "text/csv", "TrainingInputMode": "FastFile"}}"#)
        let elsewhere = try TemporaryDirectory()
        defer { root.remove(); elsewhere.remove() }
        // The train channel lives outside the tree, where SM_CHANNEL_TRAIN points.
        try FileManager.default.moveItem(atPath: root.path + "/input/data/train", toPath: elsewhere.path + "/train-data")
        var environment = ProcessInfo.processInfo.environment
        environment["SAGEMAKER_BASE_DIR"] = root.path
        environment["SM_MODEL_DIR"] = elsewhere.path + "/model"
        environment["SM_OUTPUT_DATA_DIR"] = elsewhere.path + "/output-data"
        environment["SM_CHANNEL_TRAIN"] = elsewhere.path + "/train-data"
        environment["MLC_ALGORITHM"] = "linear-learner"
        let run = try runProcess(try builtProduct("mlc"), ["train", "--workers", "2"], environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        let fm = FileManager.default
        #expect(fm.fileExists(atPath: elsewhere.path + "/model/model.safetensors"))
        #expect(fm.fileExists(atPath: elsewhere.path + "/output-data/metrics.json"))
        #expect(!fm.fileExists(atPath: root.path + "/model/model.safetensors"))
        #expect(!fm.fileExists(atPath: root.path + "/output/failure"))
        let accuracy = try Self.scraped(run.stdout.split(separator: "\n").map(String.init),
                                        #"#quality_metric: host=\S+, validation binary_classification_accuracy <score>=(\S+)"#)
        #expect((accuracy.last ?? 0) > 0.9, "\(accuracy)")
    }

    @Test("Pipe mode streams one FIFO per epoch, train_0, train_1, …, each made by the writer only after the last was read")
    func pipeEpochs() throws {
        let root = try trainingTree(hyperparameters: #"{"predictor_type": "binary_classifier", "epochs": "3", "early_stopping_patience": "10"}"#,
                                    channels: #"{"train": {"ContentType": "text/csv", "TrainingInputMode": "Pipe"}, "validation": {"ContentType": "text/csv"}}"#)
        defer { root.remove() }
        let source = root.path + "/train-source.csv"
        try FileManager.default.moveItem(atPath: root.path + "/input/data/train/part-0.csv", toPath: source)
        try FileManager.default.removeItem(atPath: root.path + "/input/data/train")
        // As SageMaker's agent: the next FIFO appears only once the previous one was read to the end.
        let data = root.path + "/input/data"
        let writer = try shell("for i in 0 1 2 3 4 5 6 7; do mkfifo '\(data)/train_'$i; cat '\(source)' > '\(data)/train_'$i; touch '\(root.path)/fed_'$i; done")
        defer { if writer.isRunning { writer.terminate() } }
        var environment = ProcessInfo.processInfo.environment
        environment["MLC_MEMORY_BUDGET_MB"] = "0"
        let run = try runProcess(try builtProduct("mlc"), ["train", "--algorithm", "linear-learner", "--root", root.path, "--workers", "2"],
                                 environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        let fed = (0..<8).filter { FileManager.default.fileExists(atPath: root.path + "/fed_\($0)") }
        // One pass per epoch (the statistics for scaling come from the first pass too).
        #expect(fed.count >= 3 && fed == Array(0..<fed.count), "\(fed)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        let epochs = try Self.scraped(lines, #"#quality_metric: host=\S+, epoch=\S+, train \S+_objective <loss>=(\S+)"#)
        #expect(epochs.count == 3)
        #expect(FileManager.default.fileExists(atPath: root.path + "/model/model.safetensors"))
    }

    @Test("output/failure: the root cause alone on a first line that fits SageMaker's 1024 characters, the whole message after it")
    func failureFirstLine() throws {
        let long = String(repeating: "9", count: 3000)
        let root = try trainingTree(hyperparameters: #"{"predictor_type": "binary_classifier", "epochs": "\#(long)x"}"#)
        defer { root.remove() }
        let run = mlc(["train", "--algorithm", "linear-learner", "--root", root.path])
        #expect(run.status == 1)
        let text = try #require(failure(root))
        let first = try #require(text.split(separator: "\n").first)
        #expect(first.count <= ContainerError.failureReasonLimit - 1, "\(first.count)")
        #expect(first.hasPrefix("ClientError: ") && first.contains("epochs"), "\(first.prefix(200))")
        #expect(text.contains(long + "x"), "the full value is kept below the first line")
        // A short message is the whole file, one line.
        #expect(ContainerError.client("bad").failureFileText == "ClientError: bad\n")
        #expect(ContainerError.algorithm("a\nb").failureFileText == "AlgorithmError: a\n\nDetail:\nAlgorithmError: a\nb\n")
    }

    @Test("an internal failure (the model directory cannot be written) is an AlgorithmError, exit 1")
    func algorithmError() throws {
        let root = try trainingTree(hyperparameters: #"{"predictor_type": "binary_classifier", "epochs": "2"}"#)
        defer { root.remove() }
        try Data("not a directory".utf8).write(to: URL(fileURLWithPath: root.path + "/model"))
        let run = mlc(["train", "--algorithm", "linear-learner", "--root", root.path])
        #expect(run.status == 1)
        let text = try #require(failure(root))
        #expect(text.hasPrefix("AlgorithmError: "), "\(text)")
        #expect(run.stderr.contains("AlgorithmError: "))
    }

    @Test("the SDK v2's XGBoost maps (built-in estimator and framework estimator, JSON-quoted) train through mlc train as they are",
          arguments: ["xgboost-builtin", "xgboost-framework"])
    func xgboostSDKMaps(name: String) throws {
        let fixture = repositoryRoot.appendingPathComponent("Tests/Fixtures/sdk-hyperparameters/\(name).json").path
        let map = try String(contentsOfFile: fixture, encoding: .utf8)
        let root = try trainingTree(hyperparameters: map,
                                    channels: #"{"train": {"ContentType": "text/csv"}, "validation": {"ContentType": "text/csv"}}"#)
        defer { root.remove() }
        let run = mlc(["train", "--algorithm", "xgboost", "--root", root.path, "--workers", "2"])
        #expect(run.status == 0, "\(run.stderr) \(failure(root) ?? "")")
        let aucs = try Self.scraped(run.lines, ".*\\[[0-9]+\\].*\tvalidation-auc:(\\S+)")
        #expect(aucs.count == 10 && (aucs.last ?? 0) > 0.95, "\(aucs)")
        let model = try BoostedTreesModel.load(path: root.path + "/model/xgboost-model")
        #expect(model.rounds == 10)
        if name == "xgboost-framework" { #expect(run.lines.contains { $0.contains("sagemaker_program") }) }
    }

    @Test("mlc validate reads a sample of every channel: a validation channel that disagrees with train is named, nothing is trained")
    func validateEveryChannel() throws {
        let root = try trainingTree()
        defer { root.remove() }
        try Data("1,2,3\n".utf8).write(to: URL(fileURLWithPath: root.path + "/input/data/validation/part-0.csv"))
        let run = mlc(["validate", "--algorithm", "linear-learner", "--root", root.path])
        #expect(run.status == 1)
        #expect(run.stderr.contains("ClientError: validation channel has 2 features but the train channel says 30"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root.path + "/model"))
        #expect(failure(root) == nil, "validate writes no failure file")
    }

    @Test("the main job's other trees (PCA, k-means, XGBoost) validate and train with their metric lines",
          arguments: [("pca", "unsupervised-training-tree.sh pca", #"#quality_metric: host=algo-1, test reconstruction_mse <loss>=(\S+)"#),
                      ("kmeans", "unsupervised-training-tree.sh kmeans", #"#quality_metric: host=algo-1, test msd <loss>=(\S+)"#),
                      ("xgboost", "xgboost-training-tree.sh", ".*\\[[0-9]+\\].*\tvalidation-auc:(\\S+)")])
    func mainJobTrees(algorithm: String, script: String, metric: String) throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        let tree = root.path + "/opt-ml"
        let make = try shell("'\(repositoryRoot.path)/scripts/'\(script) '\(tree)' > /dev/null")
        make.waitUntilExit()
        #expect(make.terminationStatus == 0)
        let validate = mlc(["validate", "--algorithm", algorithm, "--root", tree])
        #expect(validate.status == 0 && validate.stdout.contains("Valid: \(algorithm) can train"), "\(validate.stderr)")
        let run = mlc(["train", "--algorithm", algorithm, "--root", tree, "--workers", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        let values = try Self.scraped(run.lines, metric)
        #expect(!values.isEmpty && values.allSatisfy { $0.isFinite }, "\(values)")
        #expect(!FileManager.default.fileExists(atPath: tree + "/output/failure"))
    }
}
