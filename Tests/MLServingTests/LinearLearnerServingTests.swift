import Foundation
import MLAlgorithms
import MLContainer
import MLCore
import MLServing
import MLTestSupport
import Testing

/// A 4-feature binary linear learner saved as training saves it.
private func savedModel() throws -> (model: LinearModel, directory: String) {
    let layout = LinearParameterLayout(features: 4, outputs: 1)
    let model = try LinearModel(predictorType: .binaryClassifier, layout: layout,
                                parameters: [0.75, -1.25, 0.5, 2, -0.25], scaler: LinearScaler(features: 4))
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("serve-model-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try model.save(to: directory)
    return (model, directory)
}

private let rows: [[Float]] = [[1, 2, 3, 4], [0.5, -1, 0, 2.25], [-3, 0, 1, -0.5]]

private let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
private let python = repositoryRoot.appendingPathComponent(".venv/bin/python").path

@Suite("Serving the linear learner")
struct LinearLearnerServingTests {
    @Test("the server answers exactly as the handler and the library do, for every content type")
    func sameNumbers() async throws {
        let (model, directory) = try savedModel()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let handler = try InferenceHandlers.load(algorithm: "linear-learner", modelDirectory: directory)
        let running = try await RunningServer.start { handler }
        let csv = Array((rows.map { $0.map { "\($0)" }.joined(separator: ",") }.joined(separator: "\n") + "\n").utf8)
        let reply = try await RawHTTP.request(port: running.port, "POST", "/invocations",
                                              headers: [("Content-Type", "text/csv"), ("Accept", "application/jsonlines")], body: csv)
        await running.stop()
        #expect(reply.status == 200 && reply.header("Content-Type") == "application/jsonlines", "\(reply.text)")
        let direct = handler.invoke(InvocationRequest(contentType: "text/csv", accept: "application/jsonlines", body: csv))
        #expect(reply.body == direct.body)
        let library = try model.predict(Matrix(rows: rows.count, columns: 4, elements: Array(rows.joined())))
        #expect(reply.text == library.map { "{\"score\": \($0.score[0]), \"predicted_label\": \(Int($0.predictedLabel ?? -1))}\n" }.joined())
    }

    @Test("the SageMaker SDK v2's serializers and deserializers against the running server",
          .enabled(if: FileManager.default.isExecutableFile(atPath: python), "needs the .venv from scripts/setup.sh"))
    func sdkClients() async throws {
        let (model, directory) = try savedModel()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let running = try await RunningServer.start { try InferenceHandlers.load(algorithm: "linear-learner", modelDirectory: directory) }
        let rowsFile = directory + "/rows.json"
        try JSONSerialization.data(withJSONObject: rows.map { $0.map(Double.init) }).write(to: URL(fileURLWithPath: rowsFile))
        let script = repositoryRoot.appendingPathComponent("Tests/MLServingTests/Fixtures/sdk_client.py").path
        let output = try await runPython([script, "http://127.0.0.1:\(running.port)", rowsFile])
        await running.stop()
        #expect(output.status == 0, "\(output.stderr)")
        // The SDK may print notices on stdout too: the result is the last line.
        let last = output.stdout.split(separator: "\n").last.map(String.init) ?? ""
        guard let decoded = (try? JSONSerialization.jsonObject(with: Data(last.utf8))) as? [String: [[Double]]] else {
            Issue.record("not the expected JSON: \(output.stdout) \(output.stderr)")
            return
        }
        let library = try model.predict(Matrix(rows: rows.count, columns: 4, elements: Array(rows.joined())))
        // 5 serializers × 3 deserializers, every one decoding the library's numbers.
        #expect(decoded.count == 15, "\(decoded.keys.sorted())")
        for (name, predictions) in decoded {
            #expect(predictions.map { Float($0[0]) } == library.map { $0.score[0] }, "\(name)")
            #expect(predictions.map { Float($0[1]) } == library.map { $0.predictedLabel ?? -1 }, "\(name)")
        }
    }
}

/// Runs `.venv/bin/python arguments` off the Swift concurrency pool (the server under test runs
/// on it) and captures its output.
private func runPython(_ arguments: [String]) async throws -> ProcessOutput {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            var environment = ProcessInfo.processInfo.environment
            environment["SAGEMAKER_SUPPRESS_V2_WARNING"] = "1"
            continuation.resume(with: Result { try runProcess(python, arguments, environment: environment) })
        }
    }
}
