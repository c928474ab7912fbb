import Foundation
import Testing
@testable import MLCommandLine

/// `mlc train` on the exact hyperparameter maps the SageMaker Python SDK v2 sends to
/// CreateTrainingJob (Fixtures/sdk-hyperparameters, written by make_sdk_hyperparameters.py).
@Suite("SDK hyperparameters")
struct SDKHyperparametersTests {
    static let fixtures = repositoryRoot.appendingPathComponent("Tests/Fixtures/sdk-hyperparameters")

    /// The fixture's map as the SDK produced it: every key and value a string.
    static func load(_ name: String) throws -> (text: Data, map: [String: String]) {
        let data = try Data(contentsOf: fixtures.appendingPathComponent(name + ".json"))
        return (data, try JSONDecoder().decode([String: String].self, from: data))
    }

    struct Manifest: Decodable {
        struct Case: Decodable { var estimator: String; var channels: [String] }
        var sagemaker_version: String
        var cases: [String: Case]
    }

    static func manifest() throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: fixtures.appendingPathComponent("manifest.json")))
    }

    static let linearLearnerCases = ["linear-learner-binary", "linear-learner-binary-defaults", "linear-learner-multiclass",
                                     "linear-learner-regressor", "linear-learner-tuning"]

    @Test("the fixtures are string-to-string maps from SDK v2, one per case of the manifest")
    func fixturesAreSDKOutput() throws {
        let manifest = try Self.manifest()
        #expect(manifest.sagemaker_version.hasPrefix("2."), "\(manifest.sagemaker_version)")
        for name in manifest.cases.keys.sorted() {
            // Decoding as [String: String] fails on any non-string value.
            let map = try Self.load(name).map
            #expect(!map.isEmpty && map.count <= 100, "\(name)")
        }
        #expect(Set(Self.linearLearnerCases).isSubset(of: manifest.cases.keys))
    }

    /// A small CSV channel for the fixture's predictor type: label first, then `features` columns.
    static func csv(rows: Int, features: Int, predictor: String, classes: Int, seed: UInt64) -> String {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func uniform() -> Double {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Double(state >> 11) / Double(1 << 53) * 2 - 1
        }
        var lines: [String] = []
        for _ in 0..<rows {
            let x = (0..<features).map { _ in uniform() }
            let score = x.enumerated().reduce(0.0) { $0 + $1.element * Double($1.offset + 1) }
            let label: String = switch predictor {
            case "binary_classifier": score + 0.3 * uniform() > 0 ? "1" : "0"
            case "multiclass_classifier": String(Int((x[0] + 1) / 2 * Double(classes)).clamped(0, classes - 1))
            default: String(3 * score + 0.1 * uniform() + 2)
            }
            lines.append(([label] + x.map { String($0) }).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test("mlc train accepts the SDK's map verbatim and trains", arguments: linearLearnerCases)
    func trains(name: String) throws {
        let (text, map) = try Self.load(name)
        let channels = try #require(try Self.manifest().cases[name]).channels
        let features = try #require(map["feature_dim"].flatMap { Int($0) }, "the SDK sets feature_dim from the RecordSet")
        let predictor = try #require(map["predictor_type"])
        let classes = map["num_classes"].flatMap { Int($0) } ?? 2

        let root = try TemporaryDirectory()
        defer { root.remove() }
        let fm = FileManager.default
        try fm.createDirectory(atPath: root.path + "/input/config", withIntermediateDirectories: true)
        try text.write(to: URL(fileURLWithPath: root.path + "/input/config/hyperparameters.json"))
        var config: [String] = []
        for (index, channel) in channels.enumerated() {
            try fm.createDirectory(atPath: root.path + "/input/data/\(channel)", withIntermediateDirectories: true)
            let rows = channel == "train" ? 200 : 60
            try Data(Self.csv(rows: rows, features: features, predictor: predictor, classes: classes, seed: UInt64(index + 1)).utf8)
                .write(to: URL(fileURLWithPath: root.path + "/input/data/\(channel)/part-0.csv"))
            config.append(#""\#(channel)": {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}"#)
        }
        try Data(("{" + config.joined(separator: ", ") + "}").utf8)
            .write(to: URL(fileURLWithPath: root.path + "/input/config/inputdataconfig.json"))
        try Data(#"{"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}"#.utf8)
            .write(to: URL(fileURLWithPath: root.path + "/input/config/resourceconfig.json"))

        // Always --root: never the real /opt/ml.
        let run = mlc(["train", "--algorithm", "linear-learner", "--root", root.path, "--workers", "2"])
        let failure = try? String(contentsOfFile: root.path + "/output/failure", encoding: .utf8)
        #expect(run.status == 0, "\(name): \(failure ?? run.stderr)")
        #expect(failure == nil)
        for file in ["model/model.safetensors", "model/model.json"] {
            #expect(fm.fileExists(atPath: root.path + "/" + file), "\(name): \(file)")
        }

        // Every key was taken (reserved ones logged and ignored), and the counts as sent.
        let configuration = try #require(run.lines.first { $0.hasPrefix("Final configuration: {") }, "\(run.stdout)")
        for (key, value) in map.sorted(by: { $0.key < $1.key }) {
            if key.hasPrefix("_") || key.hasPrefix("sagemaker_") {
                let logged = key == "_tuning_objective_metric" ? "Tuning objective metric \(key)=\(value)" : "Ignoring reserved hyperparameter \(key)=\(value)"
                #expect(run.lines.contains(logged), "\(name): \(key)")
            } else {
                #expect(configuration.contains("\"\(key)\": \""), "\(name): \(key) missing from \(configuration)")
            }
        }
        for key in ["epochs", "mini_batch_size", "feature_dim", "predictor_type"] {
            #expect(configuration.contains("\"\(key)\": \"\(map[key] ?? "")\""), "\(name): \(key) in \(configuration)")
        }
        let epochs = try #require(map["epochs"].flatMap { Int($0) })
        let objective = try Regex(#"#quality_metric: host=algo-1, epoch=(\S+), train \S+_objective <loss>=\S+"#, as: (Substring, Substring).self)
        let ran = captures(run.lines, objective).count
        #expect(ran >= 1 && ran <= epochs, "\(name): \(ran) epochs of \(epochs)")
    }
}

extension Int {
    fileprivate func clamped(_ lower: Int, _ upper: Int) -> Int { Swift.min(Swift.max(self, lower), upper) }
}
