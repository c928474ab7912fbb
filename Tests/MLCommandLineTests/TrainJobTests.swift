import MLAlgorithms
import Foundation
import MLTestSupport
import MLContainer
import MLCore
import Testing
@testable import MLCommandLine

/// `mlc train` through the rest of the container contract: channel formats and modes,
/// checkpoints and resuming, stopping, output data, progress. (`TrainCommandTests` covers the
/// basic run and the configuration errors; `ContainerProcessTests` the real signals.)
@Suite("mlc train: channels, checkpoints, stopping")
struct TrainJobTests {
    let csvChannels = #"{"train": {"ContentType": "text/csv"}, "validation": {"ContentType": "text/csv"}}"#

    @Test("Pipe mode: the train channel streams through train_0, a real FIFO fed by a writer process")
    func pipeMode() throws {
        let root = try trainingTree(channels: #"{"train": {"ContentType": "text/csv", "TrainingInputMode": "Pipe"}, "validation": {"ContentType": "text/csv"}}"#)
        defer { root.remove() }
        let source = root.path + "/train.csv"
        try FileManager.default.moveItem(atPath: root.path + "/input/data/train/part-0.csv", toPath: source)
        try FileManager.default.removeItem(atPath: root.path + "/input/data/train")
        let fifo = root.path + "/input/data/train_0"
        let writer = try shell("sleep 0.2; mkfifo '\(fifo)'; cat '\(source)' > '\(fifo)'")
        let run = mlc(["train", "--algorithm", "linear-learner", "--root", root.path, "--workers", "2"])
        writer.waitUntilExit()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.lines.contains { $0.hasPrefix("epoch_stats={\"data_pipeline\": \"\(fifo)\"") && $0.contains("\"num_examples\": 455") })
        #expect(FileManager.default.fileExists(atPath: root.path + "/model/model.safetensors"))
    }

    @Test("NPY channels: the label first, as in CSV; the same model as from the CSV")
    func npyChannels() throws {
        let csv = try trainingTree(channels: csvChannels)
        let npy = try trainingTree(channels: #"{"train": {"ContentType": "application/x-npy"}, "validation": {"ContentType": "application/x-npy"}}"#)
        defer { csv.remove(); npy.remove() }
        for channel in ["train", "validation"] {
            let dir = npy.path + "/input/data/\(channel)"
            let batch = try CSVReader.readAll(files: [dir + "/part-0.csv"], options: CSVOptions(labelSize: 0))
            guard case .dense(let m) = batch.features else { Issue.record("dense"); return }
            try FileManager.default.removeItem(atPath: dir + "/part-0.csv")
            try NPYWriter.write(m, to: dir + "/part-0.npy")
        }
        let a = mlc(["train", "--algorithm", "linear-learner", "--root", csv.path, "--workers", "2"])
        let b = mlc(["train", "--algorithm", "linear-learner", "--root", npy.path, "--workers", "2"])
        #expect(a.status == 0 && b.status == 0, "\(a.stderr) \(b.stderr)")
        #expect(contents(csv.path + "/model/model.safetensors") == contents(npy.path + "/model/model.safetensors"))
    }

    @Test("RecordIO-protobuf channels: dense rows train the CSV's model byte for byte; sparse rows train sparse, as well")
    func recordIOChannels() throws {
        let csv = try trainingTree(channels: csvChannels)
        let dense = try trainingTree(channels: #"{"train": {}, "validation": {}}"#)  // no ContentType: RecordIO
        let sparse = try trainingTree(channels: #"{"train": {"ContentType": "application/x-recordio-protobuf"}, "validation": {}}"#)
        defer { csv.remove(); dense.remove(); sparse.remove() }
        for channel in ["train", "validation"] {
            let batch = try CSVReader.readAll(files: [bundled("breast-cancer", channel)], options: CSVOptions())
            guard case .dense(let x) = batch.features else { Issue.record("dense"); return }
            for tree in [dense, sparse] { try FileManager.default.removeItem(atPath: tree.path + "/input/data/\(channel)/part-0.csv") }
            try RecordIOProtobufWriter.write(batch, to: dense.path + "/input/data/\(channel)/part-0.pbr")
            // The same rows as CSR, zeros left out, split over two files.
            let half = x.rows / 2
            for (index, rows) in [0..<half, half..<x.rows].enumerated() {
                var offsets = [0], columns: [Int32] = [], values: [Float] = []
                for r in rows {
                    for c in 0..<x.columns where x[r, c] != 0 { columns.append(Int32(c)); values.append(x[r, c]) }
                    offsets.append(columns.count)
                }
                let part = try SparseMatrix(rows: rows.count, columns: x.columns, rowOffsets: offsets, columnIndices: columns, values: values)
                let labels = try Matrix<Float>(rows: rows.count, columns: 1, elements: Array(try #require(batch.labelVector)[rows]))
                try RecordIOProtobufWriter.write(Batch(features: .sparse(part), labels: labels),
                                                 to: sparse.path + "/input/data/\(channel)/part-\(index).pbr")
            }
        }
        let runs = [csv, dense, sparse].map { mlc(["train", "--algorithm", "linear-learner", "--root", $0.path, "--workers", "2"]) }
        #expect(runs.allSatisfy { $0.status == 0 }, "\(runs.map(\.stderr))")
        let model = contents(csv.path + "/model/model.safetensors")
        #expect(!model.isEmpty)
        #expect(contents(dense.path + "/model/model.safetensors") == model)
        // Sparse rows stay sparse (scaled, not centred: a different path to a model as good).
        #expect(runs[2].stdout.contains("Channel train: 455 sparse rows") && runs[2].stdout.contains("), 30 features"), "\(runs[2].stdout)")
        #expect(runs[2].stdout.contains("Training on 455 rows × 30 features (sparse)"))
        func accuracy(_ out: String) -> Double? {
            out.split(separator: "\n").last { $0.hasPrefix("#quality_metric: host=algo-1, validation binary_classification_accuracy <score>=") }
                .flatMap { Double($0.split(separator: "=").last ?? "") }
        }
        let denseAccuracy = try #require(accuracy(runs[1].stdout)), sparseAccuracy = try #require(accuracy(runs[2].stdout))
        #expect(abs(denseAccuracy - sparseAccuracy) <= 0.03, "dense \(denseAccuracy), sparse \(sparseAccuracy)")
    }

    @Test("the main job's tree (scripts/local-training-tree.sh): the SDK's RecordIO files and hyperparameters validate and train")
    func mainJobTree() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        let script = try shell("'\(repositoryRoot.path)/scripts/local-training-tree.sh' '\(root.path)/opt-ml' > /dev/null")
        script.waitUntilExit()
        #expect(script.terminationStatus == 0)
        let tree = root.path + "/opt-ml"
        let validate = mlc(["validate", "--algorithm", "linear-learner", "--root", tree])
        #expect(validate.status == 0 && validate.stdout.contains("Valid: linear-learner can train"), "\(validate.stderr)")
        let run = mlc(["train", "--algorithm", "linear-learner", "--root", tree, "--workers", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        let accuracy = captures(run.lines, /#quality_metric: host=algo-1, validation binary_classification_accuracy <score>=(.*)/)
        #expect((accuracy.last.flatMap(Double.init) ?? 0) >= 0.95, "\(accuracy)")
        #expect(FileManager.default.fileExists(atPath: tree + "/model/model.safetensors"))
    }

    @Test("a train channel over MLC_MEMORY_BUDGET_MB is streamed through the shuffle buffer, as the real process runs it")
    func streamedTrainChannel() throws {
        let root = try trainingTree(channels: csvChannels)
        defer { root.remove() }
        var environment = ProcessInfo.processInfo.environment
        environment["MLC_MEMORY_BUDGET_MB"] = "0"
        environment["MLC_SHUFFLE_BUFFER_ROWS"] = "100"
        let run = try runProcess(try builtProduct("mlc"), ["train", "--algorithm", "linear-learner", "--root", root.path, "--workers", "2"],
                                 environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("Streaming the train channel (0 MiB, memory budget 0 MiB, shuffle buffer 100 rows)") })
        // The reader hands over the whole small file at once: buffer plus that batch, never more than the channel.
        let held = try #require(lines.first { $0.hasPrefix("Streamed training held at most ") })
        #expect(held == "Streamed training held at most 455 rows in memory")
        let accuracy = captures(lines, /#quality_metric: host=algo-1, validation binary_classification_accuracy <score>=(.*)/)
        #expect((accuracy.last.flatMap(Double.init) ?? 0) >= 0.93, "\(accuracy)")
        #expect(FileManager.default.fileExists(atPath: root.path + "/model/model.safetensors"))
    }

    @Test("a checkpoint after every epoch (the newest two kept); a second run resumes the finished state and writes the same model")
    func checkpoints() throws {
        let root = try trainingTree(channels: csvChannels)
        defer { root.remove() }
        let first = mlc(["train", "--algorithm", "linear-learner", "--root", root.path, "--workers", "2"])
        #expect(first.status == 0, "\(first.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: root.path + "/checkpoints").sorted()
        #expect(files == ["linear-learner-epoch-000007-batch-00000000.ckpt", "linear-learner-epoch-000008-batch-00000000.ckpt"])
        let model = contents(root.path + "/model/model.safetensors")
        try FileManager.default.removeItem(atPath: root.path + "/model")
        let second = mlc(["train", "--algorithm", "linear-learner", "--root", root.path, "--workers", "1"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.lines.contains { $0.hasPrefix("Resuming from checkpoint ") && $0.hasSuffix("(epoch 8, mini-batch 0)") })
        #expect(contents(root.path + "/model/model.safetensors") == model)
    }

    @Test("checkpointconfig.json's LocalPath is where checkpoints go")
    func localPath() throws {
        let root = try trainingTree(channels: csvChannels)
        defer { root.remove() }
        let local = root.path + "/elsewhere/ckpt"
        try Data(#"{"LocalPath": "\#(local)"}"#.utf8).write(to: URL(fileURLWithPath: root.path + "/input/config/checkpointconfig.json"))
        #expect(mlc(["train", "--algorithm", "linear-learner", "--root", root.path]).status == 0)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: local)) ?? []).count == 2)
        #expect(!FileManager.default.fileExists(atPath: root.path + "/checkpoints"))
    }

    @Test("a checkpoint of different hyperparameters is refused with a ClientError, not silently resumed")
    func otherConfiguration() throws {
        let root = try trainingTree(channels: csvChannels)
        defer { root.remove() }
        #expect(mlc(["train", "--algorithm", "linear-learner", "--root", root.path]).status == 0)
        try Data(#"{"predictor_type": "binary_classifier", "mini_batch_size": "32", "epochs": "8", "wd": "0.5"}"#.utf8)
            .write(to: URL(fileURLWithPath: root.path + "/input/config/hyperparameters.json"))
        let run = mlc(["train", "--algorithm", "linear-learner", "--root", root.path])
        #expect(run.status == 1)
        #expect(failure(root)?.contains("different configuration (wd: checkpoint auto, this job 0.5)") == true, "\(failure(root) ?? "")")
    }

    @Test("stopped in the middle (the flag SIGTERM sets): a valid model and a mid-epoch checkpoint; the restart ends with the uninterrupted run's model, byte for byte")
    func stopAndResume() throws {
        let hyperparameters = #"{"predictor_type": "multiclass_classifier", "num_classes": "10", "mini_batch_size": "8", "epochs": "12"}"#
        let reference = try trainingTree(hyperparameters: hyperparameters, channels: csvChannels, dataSet: "digits")
        let stopped = try trainingTree(hyperparameters: hyperparameters, channels: csvChannels, dataSet: "digits")
        defer { reference.remove(); stopped.remove() }
        #expect(mlc(["train", "--algorithm", "linear-learner", "--root", reference.path, "--workers", "2"]).status == 0)

        // Stop once the third epoch's checkpoint exists, somewhere inside the fourth epoch.
        let flag = CancellationFlag()
        let watcher = Thread {
            while !flag.isCancelled {
                let files = (try? FileManager.default.contentsOfDirectory(atPath: stopped.path + "/checkpoints")) ?? []
                if files.contains(where: { $0.contains("epoch-000003") }) { flag.cancel() }
                Thread.sleep(forTimeInterval: 0.001)
            }
        }
        watcher.start()
        let first = mlc(["train", "--algorithm", "linear-learner", "--root", stopped.path, "--workers", "2"], cancellation: flag)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.lines.contains { $0.hasPrefix("Stopped in epoch ") })
        #expect(failure(stopped) == nil)
        // The model written on stopping loads and predicts.
        let model = try LinearModel.load(from: stopped.path + "/model")
        #expect(model.layout.features == 64)
        let interrupted = contents(stopped.path + "/model/model.safetensors")
        #expect(interrupted != contents(reference.path + "/model/model.safetensors"))

        let second = mlc(["train", "--algorithm", "linear-learner", "--root", stopped.path, "--workers", "2"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.lines.contains { $0.hasPrefix("Resuming from checkpoint ") })
        for file in ["model.safetensors", "model.json"] {
            #expect(contents(stopped.path + "/model/" + file) == contents(reference.path + "/model/" + file), "\(file)")
        }
    }

    @Test("output/data: metrics.json, metrics.svg and timings.json")
    func outputData() throws {
        let root = try trainingTree(channels: csvChannels)
        defer { root.remove() }
        #expect(mlc(["train", "--algorithm", "linear-learner", "--root", root.path]).status == 0)
        for name in ["metrics.json", "metrics.svg", "timings.json"] {
            #expect(!contents(root.path + "/output/data/" + name).isEmpty, "\(name)")
        }
        #expect(String(decoding: contents(root.path + "/output/data/metrics.svg"), as: UTF8.self).contains("<svg"))
    }

    @Test("on a terminal a progress bar on stderr, erased before each stdout line; in a pipe none")
    func progressBar() throws {
        let root = try trainingTree(channels: csvChannels)
        defer { root.remove() }
        let terminal = mlc(["train", "--algorithm", "linear-learner", "--root", root.path], errorIsTerminal: true)
        #expect(terminal.status == 0)
        #expect(terminal.stderr.contains("epoch 1 [") && terminal.stderr.contains("\r\u{1B}[2K"))
        try FileManager.default.removeItem(atPath: root.path + "/checkpoints")
        let piped = mlc(["train", "--algorithm", "linear-learner", "--root", root.path])
        #expect(!piped.stderr.contains("epoch 1 ["))
        #expect(!piped.stdout.contains("\u{1B}"))
    }
}

@Suite("mlc validate")
struct ValidateCommandTests {
    @Test("a valid tree: every check reported, nothing written, status 0")
    func valid() throws {
        let root = try trainingTree()
        defer { root.remove() }
        let run = mlc(["validate", "--algorithm", "linear-learner", "--root", root.path, "--sample-rows", "10"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.lines.contains("Channel train: text/csv, File mode: the first 10 row(s) of each file are valid (30 features)"))
        #expect(run.lines.last?.hasPrefix("Valid: linear-learner") == true)
        for path in ["model", "output", "checkpoints"] {
            #expect(!FileManager.default.fileExists(atPath: root.path + "/" + path), "\(path)")
        }
    }

    @Test("the first problem, as train would report it, and status 1, without a failure file", arguments: [
        (#"{"predictor_type": "binary_classifier", "epochs": "-1"}"#, "1,2\n", "epochs"),
        (#"{"predictor_type": "binary_classifier"}"#, "1,2\n3,4\n", "label 3.0 is invalid"),
        (#"{"predictor_type": "binary_classifier", "feature_dim": "5"}"#, "1,2\n", "feature_dim"),
        (#"{"predictor_type": "binary_classifier"}"#, "1,2\n0,abc\n", "'abc' is not a number"),
    ])
    func invalid(hyperparameters: String, csv: String, mention: String) throws {
        let root = try trainingTree(hyperparameters: hyperparameters)
        defer { root.remove() }
        try Data(csv.utf8).write(to: URL(fileURLWithPath: root.path + "/input/data/train/part-0.csv"))
        let run = mlc(["validate", "--algorithm", "linear-learner", "--root", root.path])
        #expect(run.status == 1)
        #expect(run.stderr.hasPrefix("ClientError: ") && run.stderr.contains(mention), "\(run.stderr)")
        #expect(failure(root) == nil)
    }

    @Test("a Pipe channel is reported, not read")
    func pipe() throws {
        let root = try trainingTree(channels: #"{"train": {"ContentType": "text/csv", "TrainingInputMode": "Pipe"}}"#)
        defer { root.remove() }
        let run = mlc(["validate", "--algorithm", "linear-learner", "--root", root.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.lines.contains { $0.hasPrefix("Channel train: text/csv, Pipe mode: not read") && $0.hasSuffix("does not exist yet") })
    }
}
