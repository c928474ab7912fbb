import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

private let python = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent(".venv/bin/python").path
private let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/score_unsupervised_model.py").path

/// PCA's and k-means' `model.safetensors` are readable outside MLCore: numpy + safetensors
/// reproduce our projections and assignments.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: python), "needs the .venv from scripts/setup.sh"))
struct UnsupervisedModelInteropTests {
    func numpy(_ directory: String, _ rows: Matrix<Float>) throws -> [[Double]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        let list = (0..<rows.rows).map { rows.row($0).map(Double.init) }
        process.arguments = [script, directory, String(decoding: try JSONEncoder().encode(list), as: UTF8.self)]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return try JSONDecoder().decode([[Double]].self, from: output)
    }

    func temporary() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mlcore-interop-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("PCA: (x − mean)·components from the safetensors file equals our projection")
    func pca() throws {
        let x: Matrix<Float> = lowRankRows(rows: 400, features: 6, rank: 2, noise: 0.5, seed: 12)
        let model = try PCATrainer(hyperparameters: try pcaHyperparameters(["feature_dim": "6", "num_components": "3", "mini_batch_size": "10"]))
            .fit(.dense(x)).model
        let dir = try temporary()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try model.save(to: dir)
        let rows = x.rows(0..<5)
        let theirs = try numpy(dir, rows), ours = try model.project(rows)
        for i in 0..<5 { for c in 0..<3 { #expect(abs(Double(ours[i, c]) - theirs[i][c]) <= 1e-4 * max(1, abs(theirs[i][c]))) } }
    }

    @Test("k-means: the closest centroid and Euclidean distance from the safetensors file equal ours")
    func kmeans() throws {
        let x = blobRows(rows: 2000, features: 4, blobs: 3, seed: 13)
        let hp = try kmeansHyperparameters(["feature_dim": "4", "k": "3", "mini_batch_size": "500"])
        let model = try KMeansTrainer(hyperparameters: hp).fit(.dense(x)).model
        let dir = try temporary()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try model.save(to: dir)
        let rows = x.rows(0..<6)
        let theirs = try numpy(dir, rows)
        var clusters = [Float](repeating: 0, count: 6), distances = [Float](repeating: 0, count: 6)
        rows.withUnsafeBufferPointer { r in
            clusters.withUnsafeMutableBufferPointer { c in
                distances.withUnsafeMutableBufferPointer { d in model.predict(dense: r.baseAddress!, rows: 6, clusters: c.baseAddress!, distances: d.baseAddress!) }
            }
        }
        for i in 0..<6 {
            #expect(Double(clusters[i]) == theirs[i][0])
            #expect(abs(Double(distances[i]) - theirs[i][1]) <= 1e-3 * max(1, theirs[i][1]))
        }
    }
}
