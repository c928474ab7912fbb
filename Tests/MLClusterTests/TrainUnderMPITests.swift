#if MPI
import Foundation
import MLTestSupport
import Testing

/// `mpirun -np 2 mlc train` against `mlc train --workers 2`: the same model files, byte for byte.
@Suite("mlc train under mpirun", .serialized, .enabled(if: mpirun != nil, "mpirun (Open MPI) is not installed"))
struct TrainUnderMPITests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// An /opt/ml tree in a temporary directory: `channels` is inputdataconfig.json, each channel
    /// gets `data/<set>/<file>.csv` as `part-0.csv`.
    static func tree(algorithm: String, hyperparameters: String, channels: String, files: [String: String]) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("mlc-mpi-\(algorithm)-\(UUID().uuidString)").path
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/input/config", withIntermediateDirectories: true)
        for (channel, source) in files {
            try fm.createDirectory(atPath: root + "/input/data/\(channel)", withIntermediateDirectories: true)
            try fm.copyItem(atPath: repository.appendingPathComponent("data/" + source).path, toPath: root + "/input/data/\(channel)/part-0.csv")
        }
        try Data(hyperparameters.utf8).write(to: URL(fileURLWithPath: root + "/input/config/hyperparameters.json"))
        try Data(channels.utf8).write(to: URL(fileURLWithPath: root + "/input/config/inputdataconfig.json"))
        try Data(#"{"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "lo"}"#.utf8)
            .write(to: URL(fileURLWithPath: root + "/input/config/resourceconfig.json"))
        return root
    }

    /// Trains with 2 in-process workers and as `mpirun -np 2` (one worker a rank), each on its own
    /// tree (`mpiHyperparameters` for the MPI one, the same by default): the MPI run and both
    /// `model.safetensors`.
    static func trainBothWays(algorithm: String, hyperparameters: String, mpiHyperparameters: String? = nil, channels: String,
                              files: [String: String]) throws -> (run: BoundedRun, local: Data, distributed: Data) {
        let local = try tree(algorithm: algorithm, hyperparameters: hyperparameters, channels: channels, files: files)
        let distributed = try tree(algorithm: algorithm, hyperparameters: mpiHyperparameters ?? hyperparameters, channels: channels, files: files)
        defer {
            try? FileManager.default.removeItem(atPath: local)
            try? FileManager.default.removeItem(atPath: distributed)
        }
        let mlc = try builtExecutable("mlc")
        let reference = try runBounded(mlc, ["train", "--algorithm", algorithm, "--root", local, "--workers", "2", "--no-progress"], seconds: 300)
        try #require(reference.status == 0, "\(reference.stderr)")
        let run = try runMPI(ranks: 2, [mlc, "train", "--algorithm", algorithm, "--root", distributed, "--workers", "1", "--no-progress"], seconds: 300)
        try #require(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        return (run, try Data(contentsOf: URL(fileURLWithPath: local + "/model/model.safetensors")),
                try Data(contentsOf: URL(fileURLWithPath: distributed + "/model/model.safetensors")))
    }

    static let cases: [(algorithm: String, hyperparameters: String, channels: String, files: [String: String])] = [
        ("kmeans", #"{"k": "10", "feature_dim": "65", "mini_batch_size": "200", "epochs": "3"}"#,
         #"{"train": {"ContentType": "text/csv;label_size=0"}}"#, ["train": "digits/train.csv"]),
        ("linear-learner", #"{"predictor_type": "binary_classifier", "mini_batch_size": "32", "epochs": "5"}"#,
         #"{"train": {"ContentType": "text/csv"}, "validation": {"ContentType": "text/csv"}}"#,
         ["train": "breast-cancer/train.csv", "validation": "breast-cancer/validation.csv"]),
        ("pca", #"{"feature_dim": "65", "num_components": "5", "mini_batch_size": "200"}"#,
         #"{"train": {"ContentType": "text/csv;label_size=0"}}"#, ["train": "digits/train.csv"]),
        ("xgboost", #"{"objective": "binary:logistic", "num_round": "8", "max_depth": "4", "subsample": "0.8", "eval_metric": "auc"}"#,
         #"{"train": {"ContentType": "text/csv"}, "validation": {"ContentType": "text/csv"}}"#,
         ["train": "breast-cancer/train.csv", "validation": "breast-cancer/validation.csv"]),
    ]

    @Test("k-means, linear learner, PCA and XGBoost: mpirun -np 2 gives the model files of 2 in-process workers, byte for byte; rank 1 prints nothing",
          arguments: [0, 1, 2, 3])
    func sameModelAsInProcess(index: Int) throws {
        let c = Self.cases[index]
        let mlc = try builtExecutable("mlc")
        let local = try Self.tree(algorithm: c.algorithm, hyperparameters: c.hyperparameters, channels: c.channels, files: c.files)
        let distributed = try Self.tree(algorithm: c.algorithm, hyperparameters: c.hyperparameters, channels: c.channels, files: c.files)
        defer {
            try? FileManager.default.removeItem(atPath: local)
            try? FileManager.default.removeItem(atPath: distributed)
        }
        let reference = try runBounded(mlc, ["train", "--algorithm", c.algorithm, "--root", local, "--workers", "2", "--no-progress"], seconds: 300)
        try #require(reference.status == 0, "\(reference.stderr)")

        let run = try runMPI(ranks: 2, ["--tag-output", mlc, "train", "--algorithm", c.algorithm, "--root", distributed, "--workers", "1", "--no-progress"],
                             seconds: 300)
        try #require(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: local + "/model").sorted()
        #expect(!files.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: distributed + "/model").sorted() == files)
        for file in files {
            let expected = try Data(contentsOf: URL(fileURLWithPath: local + "/model/" + file))
            let got = try Data(contentsOf: URL(fileURLWithPath: distributed + "/model/" + file))
            #expect(got == expected, "\(c.algorithm): \(file) differs")
        }
        // --tag-output prefixes each line with [job,rank]<stdout>: rank 1 stays quiet.
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.contains { $0.contains(",0]<stdout>:") })
        #expect(!lines.contains { $0.contains(",1]<stdout>:") }, "\(run.stdout)")
        #expect(!FileManager.default.fileExists(atPath: distributed + "/output/failure"))
        #expect(!run.stdout.contains("ShardedByS3Key"))
    }

    @Test("SIGTERM to mpirun mid-training: the ranks stop together, exit 0 with a checkpoint, and a rerun resumes to the uninterrupted model's bytes",
          arguments: [0, 1])
    func sigtermStopsTogetherAndResumes(index: Int) throws {
        guard let mpirun else { return }
        let c = Self.cases[index]
        // Long enough to be stopped in the middle: many epochs of small mini-batches.
        var hp = try JSONSerialization.jsonObject(with: Data(c.hyperparameters.utf8)) as? [String: String] ?? [:]
        hp["epochs"] = index == 0 ? "400" : "300"
        let hyperparameters = String(decoding: try JSONSerialization.data(withJSONObject: hp, options: [.sortedKeys]), as: UTF8.self)
        let whole = try Self.tree(algorithm: c.algorithm, hyperparameters: hyperparameters, channels: c.channels, files: c.files)
        let stopped = try Self.tree(algorithm: c.algorithm, hyperparameters: hyperparameters, channels: c.channels, files: c.files)
        defer {
            try? FileManager.default.removeItem(atPath: whole)
            try? FileManager.default.removeItem(atPath: stopped)
        }
        let mlc = try builtExecutable("mlc")
        let arguments = ["--allow-run-as-root", "--oversubscribe", "-np", "2", mlc, "train", "--algorithm", c.algorithm, "--workers", "1", "--no-progress", "--root"]
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"
        let reference = try runBounded(mpirun, arguments + [whole], environment: environment, seconds: 600)
        try #require(reference.status == 0, "\(reference.stderr)")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun)
        process.arguments = arguments + [stopped]
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Stop it once the first checkpoint exists (an epoch done), well before the end.
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, Date() < deadline,
              ((try? FileManager.default.contentsOfDirectory(atPath: stopped + "/checkpoints")) ?? []).isEmpty {
            usleep(20_000)
        }
        try #require(process.isRunning, "the run ended before it could be stopped; make it longer")
        process.terminate()
        let grace = Date().addingTimeInterval(60)
        while process.isRunning && Date() < grace { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "\(c.algorithm): mpirun ended with \(process.terminationStatus)")
        #expect(!((try? FileManager.default.contentsOfDirectory(atPath: stopped + "/checkpoints")) ?? []).isEmpty)

        let again = try runBounded(mpirun, arguments + [stopped], environment: environment, seconds: 600)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("Resuming from checkpoint"), "\(again.stdout)")
        for file in try FileManager.default.contentsOfDirectory(atPath: whole + "/model") {
            #expect(try Data(contentsOf: URL(fileURLWithPath: stopped + "/model/" + file)) == Data(contentsOf: URL(fileURLWithPath: whole + "/model/" + file)),
                    "\(c.algorithm): \(file) differs after the resume")
        }
    }

    @Test("image classification (ResNet-20 on the digits' MXNet RecordIO): mpirun -np 2 gives the model of 2 in-process workers; kv_store=dist_sync falls back to all-reduce across processes")
    func imageClassifierSameModel() throws {
        func imageTree() throws -> String {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("mlc-mpi-images-\(UUID().uuidString)").path
            let fm = FileManager.default
            try fm.createDirectory(atPath: root + "/input/config", withIntermediateDirectories: true)
            for set in ["train", "validation"] {
                try fm.createDirectory(atPath: root + "/input/data/" + set, withIntermediateDirectories: true)
                try fm.copyItem(atPath: Self.repository.appendingPathComponent("data/digits-images/\(set).rec").path,
                                toPath: root + "/input/data/\(set)/\(set).rec")
            }
            try Data(#"{"num_classes": "10", "num_training_samples": "1437", "num_layers": "20", "image_shape": "1,8,8", "epochs": "1", "mini_batch_size": "64", "optimizer": "adam", "learning_rate": "0.003", "kv_store": "dist_sync"}"#.utf8)
                .write(to: URL(fileURLWithPath: root + "/input/config/hyperparameters.json"))
            try Data(#"{"train": {"ContentType": "application/x-recordio"}, "validation": {"ContentType": "application/x-recordio"}}"#.utf8)
                .write(to: URL(fileURLWithPath: root + "/input/config/inputdataconfig.json"))
            try Data(#"{"current_host": "algo-1", "hosts": ["algo-1"]}"#.utf8).write(to: URL(fileURLWithPath: root + "/input/config/resourceconfig.json"))
            return root
        }
        let mlc = try builtExecutable("mlc")
        let local = try imageTree(), distributed = try imageTree()
        defer {
            try? FileManager.default.removeItem(atPath: local)
            try? FileManager.default.removeItem(atPath: distributed)
        }
        let reference = try runBounded(mlc, ["train", "--algorithm", "image-classification", "--root", local, "--workers", "2", "--no-progress"], seconds: 600)
        try #require(reference.status == 0, "\(reference.stderr)")
        #expect(reference.stdout.contains("kv_store=dist_sync: through the parameter server"))
        let run = try runMPI(ranks: 2, [mlc, "train", "--algorithm", "image-classification", "--root", distributed, "--workers", "1", "--no-progress"],
                             seconds: 600)
        try #require(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("kv_store=dist_sync: all-reduce over 2 MPI processes"), "\(run.stdout)")
        for file in ["model.safetensors", "model.json"] {
            #expect(try Data(contentsOf: URL(fileURLWithPath: distributed + "/model/" + file)) == Data(contentsOf: URL(fileURLWithPath: local + "/model/" + file)),
                    "\(file) differs")
        }
    }

    @Test("k-means with _kvstore=dist_sync under mpirun -np 2: the parameter server's shards on the ranks, the model bytes of 2 in-process workers")
    func kmeansParameterServerAcrossProcesses() throws {
        let c = Self.cases[0]
        let hyperparameters = #"{"k": "10", "feature_dim": "65", "mini_batch_size": "200", "epochs": "3", "_kvstore": "dist_sync", "_num_kv_servers": "3"}"#
        let both = try Self.trainBothWays(algorithm: c.algorithm, hyperparameters: c.hyperparameters, mpiHyperparameters: hyperparameters,
                                          channels: c.channels, files: c.files)
        #expect(both.run.stdout.contains("_kvstore: parameter server, sync, 3 shard(s) on 2 MPI processes"), "\(both.run.stdout)")
        #expect(both.distributed == both.local)
    }

    @Test("ShardedByS3Key: each rank reads only its host's shard, the ranks exchange them and train on the union in host order — the model bytes of one process reading host-0000/ and host-0001/; a host without a validation shard is a warning")
    func shardedChannelsAreExchanged() throws {
        let fm = FileManager.default
        let lines = try String(contentsOfFile: Self.repository.appendingPathComponent("data/breast-cancer/train.csv").path, encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: true)
        let halves = [lines[0..<(lines.count / 3)], lines[(lines.count / 3)...]].map { $0.joined(separator: "\n") + "\n" }
        let validation = try Data(contentsOf: Self.repository.appendingPathComponent("data/breast-cancer/validation.csv"))
        let hyperparameters = #"{"predictor_type": "binary_classifier", "mini_batch_size": "32", "epochs": "4"}"#
        let sharded = #"{"train": {"ContentType": "text/csv", "S3DistributionType": "ShardedByS3Key"}, "validation": {"ContentType": "text/csv", "S3DistributionType": "ShardedByS3Key"}}"#
        // The reference: one process, the union laid out as the exchange lays it out.
        let local = try Self.tree(algorithm: "linear-learner", hyperparameters: hyperparameters, channels: sharded, files: [:])
        // The job: one /opt/ml tree, a different channel directory per rank (SM_CHANNEL_*), as two hosts would have.
        let distributed = try Self.tree(algorithm: "linear-learner", hyperparameters: hyperparameters, channels: sharded, files: [:])
        defer {
            try? fm.removeItem(atPath: local)
            try? fm.removeItem(atPath: distributed)
        }
        for (r, half) in halves.enumerated() {
            let host = String(format: "host-%04d", r)
            try fm.createDirectory(atPath: local + "/input/data/train/\(host)/part", withIntermediateDirectories: true)
            try Data(half.utf8).write(to: URL(fileURLWithPath: local + "/input/data/train/\(host)/part/rows.csv"))
            try fm.createDirectory(atPath: distributed + "/hosts/\(r)/train/part", withIntermediateDirectories: true)
            try Data(half.utf8).write(to: URL(fileURLWithPath: distributed + "/hosts/\(r)/train/part/rows.csv"))
            try fm.createDirectory(atPath: distributed + "/hosts/\(r)/validation", withIntermediateDirectories: true)
        }
        // Only host 1 has a validation shard.
        try fm.createDirectory(atPath: local + "/input/data/validation/host-0001", withIntermediateDirectories: true)
        try validation.write(to: URL(fileURLWithPath: local + "/input/data/validation/host-0001/v.csv"))
        try validation.write(to: URL(fileURLWithPath: distributed + "/hosts/1/validation/v.csv"))

        let mlc = try builtExecutable("mlc")
        let reference = try runBounded(mlc, ["train", "--algorithm", "linear-learner", "--root", local, "--workers", "2", "--no-progress"], seconds: 300)
        try #require(reference.status == 0, "\(reference.stderr)")
        func rank(_ r: Int) -> [String] {
            ["-x", "SM_CURRENT_HOST=algo-\(r + 1)", "-x", "SM_CHANNEL_TRAIN=\(distributed)/hosts/\(r)/train", "-x", "SM_CHANNEL_VALIDATION=\(distributed)/hosts/\(r)/validation",
             mlc, "train", "--algorithm", "linear-learner", "--root", distributed, "--workers", "1", "--no-progress"]
        }
        let run = try runMPI(ranks: 1, rank(0) + [":", "-np", "1"] + rank(1), seconds: 300)
        try #require(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        for file in ["model.safetensors", "model.json"] where fm.fileExists(atPath: local + "/model/" + file) {
            let expected = try Data(contentsOf: URL(fileURLWithPath: local + "/model/" + file))
            let got = try Data(contentsOf: URL(fileURLWithPath: distributed + "/model/" + file))
            #expect(got == expected, "\(file) differs")
        }
        #expect(try fm.contentsOfDirectory(atPath: distributed + "/model").sorted() == fm.contentsOfDirectory(atPath: local + "/model").sorted())
        #expect(run.stdout.contains("Channel 'train' is ShardedByS3Key: the 2 hosts exchanged their shards"), "\(run.stdout)")
        #expect(run.stdout.contains("channel 'validation' is ShardedByS3Key and host 1 of 2 has no data in it"), "\(run.stdout)")
        #expect(!fm.fileExists(atPath: distributed + "/output/failure"))
    }

    @Test("ShardedByS3Key with every rank on one host (plain mpirun -np 2): nothing exchanged, the model bytes of 2 in-process workers")
    func shardedChannelOnOneHost() throws {
        let c = Self.cases[0]
        let sharded = #"{"train": {"ContentType": "text/csv;label_size=0", "S3DistributionType": "ShardedByS3Key"}}"#
        let both = try Self.trainBothWays(algorithm: c.algorithm, hyperparameters: c.hyperparameters, channels: sharded, files: c.files)
        #expect(!both.run.stdout.contains("exchanged their shards"), "\(both.run.stdout)")
        #expect(both.distributed == both.local)
    }

    @Test("a ClientError under mpirun (a bad hyperparameter): the job ends non-zero within seconds with the reason in output/failure")
    func clientErrorEndsTheJob() throws {
        let c = Self.cases[0]
        let root = try Self.tree(algorithm: c.algorithm, hyperparameters: #"{"k": "ten", "feature_dim": "65"}"#, channels: c.channels, files: c.files)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let run = try runMPI(ranks: 2, [try builtExecutable("mlc"), "train", "--algorithm", c.algorithm, "--root", root, "--no-progress"], seconds: 60)
        #expect(run.status != nil && run.status != 0, "\(run.stderr)")
        let failure = try String(contentsOfFile: root + "/output/failure", encoding: .utf8)
        #expect(failure.hasPrefix("ClientError: ") && failure.contains("ten"), "\(failure)")
        #expect(!FileManager.default.fileExists(atPath: root + "/model/model.safetensors"))
    }
}
#endif
