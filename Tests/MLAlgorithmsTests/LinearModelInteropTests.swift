import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// The project's Python environment (made by scripts/setup.sh, which `make test` runs first).
private let python = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent(".venv/bin/python").path
private let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/score_linear_model.py").path

/// `model.safetensors` is readable outside MLCore: numpy + safetensors reproduce our scores.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: python), "needs the .venv from scripts/setup.sh"))
struct LinearModelInteropTests {
    @Test(arguments: [PredictorType.binaryClassifier, .multiclassClassifier, .regressor])
    func pythonReproducesOurScores(type: PredictorType) throws {
        let outputs = type == .multiclassClassifier ? 3 : 1
        let layout = LinearParameterLayout(features: 3, outputs: outputs)
        let model = try LinearModel(predictorType: type, layout: layout,
                                    parameters: (0..<layout.count).map { Float($0 % 7) * 0.25 - 0.6 },
                                    scaler: LinearScaler(features: 3))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mlcore-interop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try model.save(to: dir.path)

        let rows: [[Float]] = [[1, 0, -1], [0.5, 2, 0.25], [-3, 1, 4]]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, dir.path, String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let theirs = try JSONDecoder().decode([[Double]].self, from: output)
        let ours = try model.predict(Matrix(rows))
        #expect(theirs.count == ours.count)
        for (a, b) in zip(ours, theirs) {
            #expect(a.score.count == b.count)
            for (x, y) in zip(a.score, b) { #expect(abs(Double(x) - y) <= 1e-6 * max(1, abs(y)), "ours \(x), numpy \(y)") }
        }
    }
}
