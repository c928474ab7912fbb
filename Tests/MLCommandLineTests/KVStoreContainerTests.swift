import Foundation
import MLCore
import Testing
@testable import MLCommandLine

/// An `/opt/ml` tree whose `train` channel is the bundled digits without their label column.
private func digitsTree(hyperparameters: String) throws -> TemporaryDirectory {
    let root = try TemporaryDirectory()
    let fm = FileManager.default
    try fm.createDirectory(atPath: root.path + "/input/config", withIntermediateDirectories: true)
    try fm.createDirectory(atPath: root.path + "/input/data/train", withIntermediateDirectories: true)
    let rows = try String(contentsOfFile: bundled("digits", "train"), encoding: .utf8).split(separator: "\n")
        .map { $0.split(separator: ",").dropFirst().joined(separator: ",") }
    try (rows.joined(separator: "\n") + "\n").write(toFile: root.path + "/input/data/train/part-0.csv", atomically: true, encoding: .utf8)
    try hyperparameters.write(toFile: root.path + "/input/config/hyperparameters.json", atomically: true, encoding: .utf8)
    try #"{"train": {"ContentType": "text/csv;label_size=0"}}"#.write(toFile: root.path + "/input/config/inputdataconfig.json",
                                                                        atomically: true, encoding: .utf8)
    return root
}

/// The hidden `_kvstore` / `_num_kv_servers` in a training job: `dist_sync` trains through the
/// parameter server with the same model bytes as all-reduce; bad values are ClientErrors.
@Suite("_kvstore in the container")
struct KVStoreContainerTests {
    @Test("linear learner, k-means and PCA: _kvstore=dist_sync gives the model bytes of all-reduce and says so",
          arguments: ["linear-learner", "kmeans", "pca"])
    func synchronousServerSameModel(algorithm: String) throws {
        func tree(_ extra: String) throws -> TemporaryDirectory {
            switch algorithm {
            case "linear-learner":
                return try trainingTree(hyperparameters: #"{"predictor_type": "binary_classifier", "mini_batch_size": "32", "epochs": "4""# + extra + "}")
            case "kmeans":
                return try digitsTree(hyperparameters: #"{"k": "10", "feature_dim": "64", "mini_batch_size": "300", "epochs": "2""# + extra + "}")
            default:
                return try digitsTree(hyperparameters: #"{"feature_dim": "64", "num_components": "5", "mini_batch_size": "300""# + extra + "}")
            }
        }
        let plain = try tree(""), served = try tree(#", "_kvstore": "dist_sync", "_num_kv_servers": "3""#)
        defer {
            plain.remove()
            served.remove()
        }
        let a = mlc(["train", "--algorithm", algorithm, "--root", plain.path, "--workers", "2"])
        let b = mlc(["train", "--algorithm", algorithm, "--root", served.path, "--workers", "2"])
        #expect(a.status == 0 && b.status == 0, "\(a.stderr) \(b.stderr) \(failure(served) ?? "")")
        #expect(b.stdout.contains("_kvstore: parameter server, sync, 3 shard(s), 2 worker(s) (the same bits as all-reduce)"), "\(b.stdout)")
        let model = "/model/model.safetensors"
        #expect(!contents(plain.path + model).isEmpty)
        #expect(contents(plain.path + model) == contents(served.path + model), "\(algorithm): the models differ")
    }

    @Test("a bad _kvstore or _num_kv_servers is a ClientError naming it")
    func badValues() throws {
        for (key, value) in [("_kvstore", "dist_stale:x"), ("_num_kv_servers", "0")] {
            let extra = key == "_kvstore" ? #", "_kvstore": "\#(value)""# : #", "_kvstore": "dist_async", "_num_kv_servers": "\#(value)""#
            let root = try trainingTree(hyperparameters: #"{"predictor_type": "binary_classifier", "mini_batch_size": "32", "epochs": "1""# + extra + "}")
            defer { root.remove() }
            let run = mlc(["train", "--algorithm", "linear-learner", "--root", root.path])
            #expect(run.status != 0)
            let reason = failure(root) ?? ""
            #expect(reason.hasPrefix("ClientError") && reason.contains(key) && reason.contains(value), "\(reason)")
        }
    }
}
