import MLAlgorithms
import Foundation
import MLCore
import Synchronization
import Testing

/// The README's "From Swift, training a model" snippet, kept compiling and working.
@Suite struct LinearLearnerReadmeTests {
    @Test func readmeSnippetTrains() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mlcore-readme-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let lines = Mutex<[String]>([])
        let root = repositoryRoot.path

        let hyperparameters = try LinearLearnerHyperparameters(strings: [
            "predictor_type": "binary_classifier", "mini_batch_size": "32", "epochs": "40"])
        let train = try LinearDataset(channel: "train", batch: CSVReader.readAll(files: [root + "/data/breast-cancer/train.csv"]))
        let validation = try LinearDataset(channel: "validation", batch: CSVReader.readAll(files: [root + "/data/breast-cancer/validation.csv"]))
        let result = try LinearLearnerTrainer(hyperparameters: hyperparameters, workers: 2)
            .fit(train: train, validation: validation) { event in
                for line in SageMakerMetricLines().lines(for: event) { lines.withLock { $0.append(line) } }
            }
        try result.model.save(to: directory)
        let predictions = try result.model.predict(validation.features)

        #expect(predictions.count == validation.rows)
        #expect(try LinearModel.load(from: directory) == result.model)
        let accuracy = try #require(metric(result.finalMetrics, "validation", "binary_classification_accuracy"))
        #expect(accuracy >= 0.95)
        #expect(lines.withLock { $0 }.contains { $0.hasPrefix("#quality_metric: host=algo-1, validation binary_classification_accuracy <score>=") })
    }
}
