import Foundation
import MLAlgorithms
import MLContainer
import MLCore
import Testing
@testable import MLCommandLine

/// Rows of `blobs` blobs (the same centres for every seed) in `features` dimensions as CSV text (no label column).
private func blobCSV(rows: Int, features: Int, blobs: Int, seed: UInt64, bad: (row: Int, column: Int)? = nil) -> String {
    var fixed = RandomStream(seed: 99)
    let centres = (0..<(blobs * features)).map { _ in fixed.nextDouble() * 20 - 10 }
    var random = RandomStream(seed: seed)
    var lines: [String] = []
    for i in 0..<rows {
        let b = i % blobs
        var fields = (0..<features).map { j in String(Float(centres[b * features + j] + random.standardNormal())) }
        if let bad, bad.row == i { fields[bad.column] = "nan" }
        lines.append(fields.joined(separator: ","))
    }
    return lines.joined(separator: "\n") + "\n"
}

/// An `/opt/ml` tree with CSV `train` and `test` channels of blob rows.
private func unsupervisedTree(hyperparameters: String, channels: String = #"{"train": {"ContentType": "text/csv;label_size=0"}, "test": {"ContentType": "text/csv"}}"#,
                              features: Int = 5, bad: (row: Int, column: Int)? = nil) throws -> TemporaryDirectory {
    let root = try TemporaryDirectory()
    let fm = FileManager.default
    try fm.createDirectory(atPath: root.path + "/input/config", withIntermediateDirectories: true)
    for (channel, rows, seed) in [("train", 3000, UInt64(1)), ("test", 500, UInt64(2))] {
        try fm.createDirectory(atPath: root.path + "/input/data/\(channel)", withIntermediateDirectories: true)
        try blobCSV(rows: rows, features: features, blobs: 3, seed: seed, bad: channel == "train" ? bad : nil)
            .write(toFile: root.path + "/input/data/\(channel)/part-0.csv", atomically: true, encoding: .utf8)
    }
    try hyperparameters.write(toFile: root.path + "/input/config/hyperparameters.json", atomically: true, encoding: .utf8)
    try channels.write(toFile: root.path + "/input/config/inputdataconfig.json", atomically: true, encoding: .utf8)
    try #"{"current_host": "algo-1", "hosts": ["algo-1"]}"#.write(toFile: root.path + "/input/config/resourceconfig.json", atomically: true, encoding: .utf8)
    return root
}

private func sdkMap(_ name: String) throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent("Tests/Fixtures/sdk-hyperparameters/\(name).json"), encoding: .utf8)
}

@Suite("PCA and k-means in the container: train, predict, serve")
struct UnsupervisedContainerTests {
    @Test("k-means trains from the SDK's hyperparameter map: SageMaker's metric lines, the model, a checkpoint a rerun resumes from")
    func kmeansTrains() throws {
        let root = try unsupervisedTree(hyperparameters: try sdkMap("kmeans"))
        defer { root.remove() }
        let run = mlc(["train", "--algorithm", "kmeans", "--root", root.path, "--workers", "2"])
        #expect(run.status == 0, "\(run.stderr) \(failure(root) ?? "")")
        let train = try Regex(#"#quality_metric: host=algo-1, train msd <loss>=(\S+)"#, as: (Substring, Substring).self)
        let msd = try Regex(#"#quality_metric: host=\S+, test msd <loss>=(\S+)"#, as: (Substring, Substring).self)
        let ssd = try Regex(#"#quality_metric: host=\S+, test ssd <loss>=(\S+)"#, as: (Substring, Substring).self)
        #expect(captures(run.lines, train).count == 1)
        let testMSD = try #require(captures(run.lines, msd).first.flatMap(Double.init))
        let testSSD = try #require(captures(run.lines, ssd).first.flatMap(Double.init))
        #expect(abs(testSSD / 500 - testMSD) < 1e-6 * testMSD)
        // Unit-variance blobs in 5 dimensions: about 5 per row when each blob has its centre.
        #expect(testMSD < 8, "\(testMSD)")
        #expect(run.lines.contains("shrinking 6 centers into 3"))
        let model = try KMeansModel.load(from: root.path + "/model")
        #expect(model.k == 3 && model.features == 5)
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: root.path + "/checkpoints")
        #expect(!checkpoints.isEmpty)
        // A rerun finds the epoch-end checkpoint, resumes, and writes the same bytes.
        let bytes = contents(root.path + "/model/model.safetensors")
        let again = mlc(["train", "--algorithm", "kmeans", "--root", root.path, "--workers", "1"])
        #expect(again.status == 0)
        #expect(again.lines.contains { $0.hasPrefix("Resuming from checkpoint") })
        #expect(contents(root.path + "/model/model.safetensors") == bytes)
    }

    @Test("A secondary rank (secondaryScratch set) trains the same model but writes nothing under /opt/ml: no model, no checkpoint")
    func secondaryRankWritesNothing() throws {
        let root = try unsupervisedTree(hyperparameters: try sdkMap("kmeans"))
        defer { root.remove() }
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        var secondary = TrainingEnvironment(root: root.path, environment: [:])
        secondary.secondaryScratch = scratch.path
        try KMeansJob(environment: secondary, output: JobOutput(line: { _ in })).run(workers: 2, group: InProcessWorkerGroup(workers: 2), cancellation: nil)
        let fm = FileManager.default
        #expect(!fm.fileExists(atPath: root.path + "/model/model.safetensors"))
        #expect(((try? fm.contentsOfDirectory(atPath: root.path + "/checkpoints")) ?? []).isEmpty)
        let primary = TrainingEnvironment(root: root.path, environment: [:])
        try KMeansJob(environment: primary, output: JobOutput(line: { _ in })).run(workers: 2, group: InProcessWorkerGroup(workers: 2), cancellation: nil)
        let written = contents(root.path + "/model/model.safetensors")
        #expect(!written.isEmpty && written == contents(scratch.path + "/model/model.safetensors"))
        #expect(!(try fm.contentsOfDirectory(atPath: root.path + "/checkpoints")).isEmpty)
    }

    @Test("PCA trains from the SDK's map (regular) and in randomized mode; mlc predict gives (x − mean)·V")
    func pcaTrainsAndPredicts() throws {
        for mode in ["regular", "randomized"] {
            var map = try JSONSerialization.jsonObject(with: Data(try sdkMap("pca").utf8)) as? [String: String] ?? [:]
            map["algorithm_mode"] = mode
            let root = try unsupervisedTree(hyperparameters: String(decoding: try JSONSerialization.data(withJSONObject: map), as: UTF8.self))
            defer { root.remove() }
            let run = mlc(["train", "--algorithm", "pca", "--root", root.path, "--workers", "2"])
            #expect(run.status == 0, "\(run.stderr) \(failure(root) ?? "")")
            #expect(run.lines.contains { $0.hasPrefix("#quality_metric: host=algo-1, test reconstruction_mse <loss>=") })
            #expect(run.lines.contains { $0.hasPrefix("#throughput_metric: host=algo-1, train throughput=") })
            let model = try PCAModel.load(from: root.path + "/model")
            #expect(model.componentCount == 2 && model.mode.rawValue == mode)
            let out = try TemporaryDirectory()
            defer { out.remove() }
            let predict = mlc(["predict", "--model", root.path + "/model", "--input", root.path + "/input/data/test/part-0.csv",
                               "--output", out.path, "--accept", "application/jsonlines"])
            #expect(predict.status == 0, "\(predict.stderr)")
            let lines = try String(contentsOfFile: out.path + "/part-0.csv.out", encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 500)
            let rows = try CSVReader.readAll(files: [root.path + "/input/data/test/part-0.csv"], options: CSVOptions(labelSize: 0))
            guard case .dense(let x) = rows.features else { Issue.record("dense"); return }
            let expected = try model.project(x)
            for (i, line) in lines.enumerated() {
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: [Double]]
                let projection = try #require(object?["projection"])
                #expect(projection.count == 2)
                for c in 0..<2 { #expect(abs(projection[c] - Double(expected[i, c])) <= 1e-5 * max(1, abs(Double(expected[i, c])))) }
            }
        }
    }

    @Test("responses: k-means JSON/JSON Lines/CSV/RecordIO shapes, PCA's `projections` list; the served numbers are the library's")
    func responses() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let kmeans = KMeansModel(centroids: try Matrix(rows: 2, columns: 2, elements: [0, 0, 10, 0]))
        try kmeans.save(to: directory.path)
        let handler = try InferenceHandlers.load(algorithm: "kmeans", modelDirectory: directory.path)
        func ask(_ contentType: String, _ accept: String?, _ body: String) -> String {
            let r = handler.invoke(InvocationRequest(contentType: contentType, accept: accept, body: Array(body.utf8)))
            return String(decoding: r.body, as: UTF8.self)
        }
        #expect(ask("text/csv", nil, "3,4\n9,0\n") == #"{"predictions": [{"closest_cluster": 0.0, "distance_to_cluster": 5.0}, {"closest_cluster": 1.0, "distance_to_cluster": 1.0}]}"#)
        #expect(ask("text/csv", "application/jsonlines", "3,4\n") == "{\"closest_cluster\": 0.0, \"distance_to_cluster\": 5.0}\n")
        #expect(ask("application/json", "text/csv", #"{"instances": [{"features": [3, 4]}, {"features": [9, 0]}]}"#) == "0.0,5.0\n1.0,1.0\n")
        let record = handler.invoke(InvocationRequest(contentType: "text/csv", accept: "application/x-recordio-protobuf", body: Array("9,0\n".utf8)))
        let decoded = try RecordIOProtobufReader.decodeRecords(record.body)
        #expect(decoded.first?.label["closest_cluster"] == .dense([1]) && decoded.first?.label["distance_to_cluster"] == .dense([1]))
        #expect(handler.invoke(InvocationRequest(contentType: "text/csv", accept: nil, body: Array("1,2,3\n".utf8))).status == 400)

        let pcaDirectory = try TemporaryDirectory()
        defer { pcaDirectory.remove() }
        let pca = PCAModel(components: try Matrix(rows: 2, columns: 1, elements: [0.6, 0.8]), singularValues: [1], explainedVariance: [1],
                           explainedVarianceRatio: [1], mean: [1, 1], subtractMean: true, mode: .regular, rows: 10)
        try pca.save(to: pcaDirectory.path)
        let pcaHandler = try InferenceHandlers.load(algorithm: "pca", modelDirectory: pcaDirectory.path)
        let reply = pcaHandler.invoke(InvocationRequest(contentType: "text/csv", accept: "application/json", body: Array("2,3\n".utf8)))
        #expect(String(decoding: reply.body, as: UTF8.self) == #"{"projections": [{"projection": [2.2]}]}"#)
    }

    @Test("bad input becomes a ClientError naming what to fix: a NaN row, label_size on CSV, num_components above feature_dim, k above the rows")
    func badInput() throws {
        let nan = try unsupervisedTree(hyperparameters: #"{"feature_dim": "5", "num_components": "2", "mini_batch_size": "50"}"#, bad: (row: 41, column: 2))
        defer { nan.remove() }
        #expect(mlc(["train", "--algorithm", "pca", "--root", nan.path]).status == 1)
        #expect(failure(nan)?.contains("train channel, row 42, feature column 3: nan is not a finite number") == true, "\(failure(nan) ?? "")")

        let labelled = try unsupervisedTree(hyperparameters: #"{"feature_dim": "4", "k": "3"}"#,
                                            channels: #"{"train": {"ContentType": "text/csv;label_size=1"}}"#)
        defer { labelled.remove() }
        #expect(mlc(["train", "--algorithm", "kmeans", "--root", labelled.path]).status == 1)
        #expect(failure(labelled)?.contains("label_size=1") == true)

        let wide = try unsupervisedTree(hyperparameters: #"{"feature_dim": "5", "num_components": "6", "mini_batch_size": "50"}"#)
        defer { wide.remove() }
        #expect(mlc(["train", "--algorithm", "pca", "--root", wide.path]).status == 1)
        #expect(failure(wide)?.hasPrefix("ClientError: ") == true && failure(wide)?.contains("num_components") == true)

        let many = try unsupervisedTree(hyperparameters: #"{"feature_dim": "5", "k": "4000"}"#)
        defer { many.remove() }
        #expect(mlc(["train", "--algorithm", "kmeans", "--root", many.path]).status == 1)
        #expect(failure(many)?.contains("k=4000") == true, "\(failure(many) ?? "")")

        let mismatch = try unsupervisedTree(hyperparameters: #"{"feature_dim": "7", "k": "3"}"#)
        defer { mismatch.remove() }
        #expect(mlc(["validate", "--algorithm", "kmeans", "--root", mismatch.path]).status == 1)
    }
}
