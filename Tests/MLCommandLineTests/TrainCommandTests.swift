import Foundation
import MLContainer
import Testing
@testable import MLCommandLine

/// `mlc train` against a fabricated `/opt/ml` tree laid out as SageMaker lays it out.
@Suite("mlc train")
struct TrainCommandTests {
    private func tree(hyperparameters: String = defaultTrainingHyperparameters,
                      channels: String = defaultTrainingChannels) throws -> TemporaryDirectory {
        try trainingTree(hyperparameters: hyperparameters, channels: channels)
    }

    @Test("trains from the tree: metric lines, model, metrics.json, no failure file")
    func trains() throws {
        let root = try tree()
        defer { root.remove() }
        let run = mlc(["train", "--algorithm", "linear-learner", "--root", root.path, "--workers", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        let objective = try Regex(#"#quality_metric: host=\S+, epoch=\S+, validation \S+_objective <loss>=(\S+)"#, as: (Substring, Substring).self)
        #expect(captures(run.lines, objective).count == 8)
        let accuracy = try Regex(#"#quality_metric: host=algo-1, validation binary_classification_accuracy <score>=(\S+)"#, as: (Substring, Substring).self)
        #expect(captures(run.lines, accuracy).compactMap { Double($0) }.first.map { $0 > 0.9 } == true)
        #expect(run.lines.contains("Ignoring reserved hyperparameter sagemaker_job_name=x"))
        #expect(run.lines.contains { $0.hasPrefix("Final configuration: {") && $0.contains("\"epochs\": \"8\"") })
        for file in ["model/model.safetensors", "model/model.json", "output/data/metrics.json"] {
            #expect(FileManager.default.fileExists(atPath: root.path + "/" + file), "\(file)")
        }
        #expect(failure(root) == nil)
    }

    @Test("SAGEMAKER_BASE_DIR is not needed when --root is given; MLC_ALGORITHM chooses the algorithm in an image")
    func missingAlgorithm() throws {
        let root = try tree()
        defer { root.remove() }
        // No --algorithm and (in tests) no MLC_ALGORITHM: a ClientError, not a crash.
        if ProcessInfo.processInfo.environment["MLC_ALGORITHM"] == nil {
            let run = mlc(["train", "--root", root.path])
            #expect(run.status == 1)
            #expect(failure(root)?.hasPrefix("ClientError: no known algorithm chosen") == true)
        }
    }

    @Test("every configuration mistake is a ClientError in output/failure, before any data is read", arguments: [
        (#"{"predictor_type": "binary_classifier", "epochs": "0"}"#, nil, "epochs"),
        (#"{"predictor_type": "binary_classifier", "mini_batch_siz": "10"}"#, nil, "mini_batch_size"),
        (#"{"epochs": "3"}"#, nil, "predictor_type"),
        (#"{"predictor_type": "binary_classifier", "loss": "huber_loss"}"#, nil, "trains with auto, logistic, hinge_loss"),
        (nil, #"{"train": {"ContentType": "text/csv"}, "extra": {"ContentType": "text/csv"}}"#, "'extra'"),
        (nil, #"{"validation": {"ContentType": "text/csv"}}"#, "train channel is required"),
        (nil, #"{"train": {"ContentType": "application/json"}}"#, "is not one this algorithm reads"),
        (nil, #"{"train": {"ContentType": "text/libsvm"}}"#, "is not one this algorithm reads"),
        (nil, #"{"train": {"ContentType": "text/csv", "RecordWrapperType": "RecordIO"}}"#, "RecordWrapperType"),
        (nil, #"{"train": {"ContentType": "text/csv;label_size=0"}}"#, "label_size"),
        (nil, #"{"train": {"TrainingInputMode": "Sometimes"}}"#, "TrainingInputMode"),
    ] as [(String?, String?, String)])
    func clientErrors(hyperparameters: String?, channels: String?, mention: String) throws {
        let root = try tree(hyperparameters: hyperparameters ?? #"{"predictor_type": "binary_classifier"}"#,
                            channels: channels ?? #"{"train": {"ContentType": "text/csv"}}"#)
        defer { root.remove() }
        let run = mlc(["train", "--algorithm", "linear-learner", "--root", root.path])
        #expect(run.status == 1)
        let text = try #require(failure(root))
        #expect(text.hasPrefix("ClientError: ") && text.contains(mention), "\(text)")
        #expect(!FileManager.default.fileExists(atPath: root.path + "/model/model.safetensors"))
    }

    @Test("bad data is a ClientError naming the channel and row")
    func badData() throws {
        let root = try tree()
        defer { root.remove() }
        try Data("1,2,3\n7,2,3\n".utf8).write(to: URL(fileURLWithPath: root.path + "/input/data/train/part-0.csv"))
        let run = mlc(["train", "--algorithm", "linear-learner", "--root", root.path])
        #expect(run.status == 1)
        let text = try #require(failure(root))
        #expect(text.hasPrefix("ClientError: train channel, row 2: label 7.0 is invalid"), "\(text)")
    }
}
