import MLAlgorithms
import Foundation
import MLCore
import Testing

/// The repository root (tests read the bundled `data/` sets, which live outside the test bundle).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A bundled CSV channel (`data/<set>/<channel>.csv`).
func bundledDataset(_ set: String, _ channel: String) throws -> LinearDataset {
    let path = repositoryRoot.appendingPathComponent("data/\(set)/\(channel).csv").path
    return try LinearDataset(channel: channel, batch: CSVReader.readAll(files: [path]))
}

/// A fixture NPY pair (`<stem>_x.npy`, `<stem>_y.npy`) from the test bundle.
func fixtureDataset(_ stem: String, channel: String) throws -> LinearDataset {
    let base = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures")
    let x = try NPYReader<Float>.readMatrix(path: base.appendingPathComponent("\(stem)_x.npy").path)
    let y = try NPYReader<Float>.readVector(path: base.appendingPathComponent("\(stem)_y.npy").path)
    return try LinearDataset(channel: channel, features: x, labels: y)
}

/// `linear_learner_references.json` → cases → name.
func sklearnReference(_ name: String) throws -> [String: Any] {
    let base = try #require(Bundle.module.resourceURL)
    let data = try Data(contentsOf: base.appendingPathComponent("Fixtures/linear_learner_references.json"))
    let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let cases = try #require(root["cases"] as? [String: Any])
    return try #require(cases[name] as? [String: Any])
}

func trainer(_ strings: [String: String], workers: Int = 1, seed: UInt64 = 0) throws -> LinearLearnerTrainer {
    var t = LinearLearnerTrainer(hyperparameters: try LinearLearnerHyperparameters(strings: strings), workers: workers, seed: seed)
    t.collectiveTimeout = 60
    return t
}

func metric(_ metrics: [MetricValue], _ channel: String, _ name: String) -> Double? {
    metrics.first { $0.channel == channel && $0.name == name }?.value
}
