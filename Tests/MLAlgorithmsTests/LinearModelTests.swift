import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

private func temporaryDirectory() throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("mlcore-model-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}

@Suite struct LinearModelTests {
    private let x = try! Matrix<Float>([[1, 0], [0, 2], [-3, 1], [0.5, -0.5]])  // invariant: literal rows of equal length

    @Test func binaryScoresAndLabels() throws {
        let layout = LinearParameterLayout(features: 2, outputs: 1)
        let model = try LinearModel(predictorType: .binaryClassifier, layout: layout, parameters: [2, -1, 0.5],
                                    scaler: LinearScaler(features: 2))
        let p = try model.predict(x)
        for (i, prediction) in p.enumerated() {
            let s = Double(2 * x[i, 0] - x[i, 1] + 0.5)
            let expected = Float(1 / (1 + exp(-s)))
            #expect(abs(prediction.score[0] - expected) <= 1e-6)
            #expect(prediction.predictedLabel == (expected > 0.5 ? 1 : 0))
        }
    }

    @Test func multiclassSoftmaxAndArgmax() throws {
        let layout = LinearParameterLayout(features: 2, outputs: 3)
        // W = [[1, 0, -1], [0, 1, 1]], b = [0, 0.5, 0]
        let model = try LinearModel(predictorType: .multiclassClassifier, layout: layout, parameters: [1, 0, -1, 0, 1, 1, 0, 0.5, 0],
                                    scaler: LinearScaler(features: 2))
        let p = try model.predict(x)
        // Scores: [1, 0.5, -1], [0, 2.5, 2], [-3, 1.5, 4], [0.5, 0, -1].
        #expect(p.map(\.predictedLabel) == [0, 1, 2, 0])
        for prediction in p { #expect(abs(prediction.score.reduce(0, +) - 1) < 1e-6 && prediction.score.count == 3) }
    }

    @Test func regressionHasNoLabel() throws {
        let model = try LinearModel(predictorType: .regressor, layout: LinearParameterLayout(features: 2, outputs: 1),
                                    parameters: [1, 1, 10], scaler: LinearScaler(features: 2))
        #expect(try model.predict(x).map(\.score) == [[11], [12], [8], [10]])
        #expect(try model.predict(x).allSatisfy { $0.predictedLabel == nil })
    }

    /// Saving and loading gives a model that predicts the same bits; the files are deterministic.
    @Test(arguments: [PredictorType.binaryClassifier, .multiclassClassifier, .regressor])
    func saveLoadRoundTrip(type: PredictorType) throws {
        let outputs = type == .multiclassClassifier ? 4 : 1
        let layout = LinearParameterLayout(features: 2, outputs: outputs)
        var scaler = LinearScaler(features: 2)
        scaler.featureMean = [0.25, -1]
        scaler.featureScale = [2, 0.5]
        let model = try LinearModel(predictorType: type, layout: layout,
                                    parameters: (0..<layout.count).map { Float($0) * 0.37 - 1 }, scaler: scaler, threshold: 0.42)
        let a = try temporaryDirectory(), b = try temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: a)
            try? FileManager.default.removeItem(atPath: b)
        }
        try model.save(to: a)
        try model.save(to: b)
        let loaded = try LinearModel.load(from: a)
        #expect(loaded == model)
        let before = try model.predict(x).flatMap(\.score).map(\.bitPattern)
        #expect(try loaded.predict(x).flatMap(\.score).map(\.bitPattern) == before)
        for name in ["model.safetensors", "model.json"] {
            #expect(FileManager.default.contentsEqual(atPath: a + "/" + name, andPath: b + "/" + name), "\(name) is deterministic")
        }
    }

    @Test func badArtifactsAndShapesThrow() throws {
        let layout = LinearParameterLayout(features: 2, outputs: 1)
        #expect(throws: ShapeError.self) {
            _ = try LinearModel(predictorType: .binaryClassifier, layout: layout, parameters: [1, 2], scaler: LinearScaler(features: 2))
        }
        let model = try LinearModel(predictorType: .regressor, layout: layout, parameters: [1, 2, 3], scaler: LinearScaler(features: 2))
        #expect(throws: ShapeError.self) { _ = try model.predict(Matrix(rows: 1, columns: 3)) }

        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: ArtifactError.self) { _ = try LinearModel.load(from: dir) }
        try model.save(to: dir)
        // A weight tensor of the wrong shape is refused, naming the tensor.
        var file = try Safetensors.read(path: dir + "/model.safetensors")
        file.tensors["weight"] = .init([1, 2, 3] as [Float], shape: [3, 1])
        try file.write(to: dir + "/model.safetensors")
        #expect(throws: ArtifactError.tensor(path: dir + "/model.safetensors", name: "weight",
                                             reason: "expected Float of shape [2, 1], found F32 [3, 1]")) {
            _ = try LinearModel.load(from: dir)
        }
    }
}

@Suite("LinearModel: prediction into buffers")
struct LinearModelBufferPredictionTests {
    @Test("predict(dense:) and predict(sparse:) give predict(_:)'s scores and labels", arguments: PredictorType.allCases)
    func matchesReference(type: PredictorType) throws {
        var random = RandomStream(seed: 20261121)
        let d = 7, n = 13, k = type == .multiclassClassifier ? 4 : 1
        let layout = LinearParameterLayout(features: d, outputs: k)
        let m = try LinearModel(predictorType: type, layout: layout,
                                parameters: (0..<layout.count).map { _ in Float.random(in: -1...1, using: &random) },
                                scaler: LinearScaler(features: d))
        // Half the entries zero, so the sparse path skips them.
        let elements = (0..<n * d).map { i in i % 2 == 0 ? 0 : Float.random(in: -3...3, using: &random) }
        let x = try Matrix(rows: n, columns: d, elements: elements)
        let reference = try m.predict(x)
        var scores = [Float](repeating: .nan, count: n * k), labels = [Float](repeating: -1, count: n)
        try elements.withUnsafeBufferPointer { px in
            try m.predict(dense: px.baseAddress!, rows: n, scores: &scores, labels: &labels)
        }
        for i in 0..<n {
            #expect(Array(scores[i * m.scoreWidth..<(i + 1) * m.scoreWidth]) == reference[i].score)
            #expect((type == .regressor ? nil : labels[i]) == reference[i].predictedLabel)
        }
        var offsets = [0], columns: [Int32] = [], values: [Float] = []
        for i in 0..<n {
            for j in 0..<d where elements[i * d + j] != 0 { columns.append(Int32(j)); values.append(elements[i * d + j]) }
            offsets.append(columns.count)
        }
        let sparse = try SparseMatrix(rows: n, columns: d, rowOffsets: offsets, columnIndices: columns, values: values)
        var sparseScores = [Float](repeating: .nan, count: n * k), sparseLabels = [Float](repeating: -1, count: n)
        try m.predict(sparse: sparse, scores: &sparseScores, labels: &sparseLabels)
        // A different summation order than BLAS: equal to rounding.
        for (a, b) in zip(sparseScores, scores) { #expect(abs(a - b) <= 1e-5 * max(1, abs(b))) }
        if type != .regressor { #expect(sparseLabels == labels) }
    }
}
