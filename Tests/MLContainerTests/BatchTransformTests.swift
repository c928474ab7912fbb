import Foundation
import MLAlgorithms
import MLCore
import Testing
@testable import MLContainer

/// A 5-feature binary linear learner behind the invocation pipeline.
private func handler() throws -> ModelInvocations<LinearLearnerInference> {
    let layout = LinearParameterLayout(features: 5, outputs: 1)
    let model = try LinearModel(predictorType: .binaryClassifier, layout: layout,
                                parameters: (0..<layout.count).map { Float($0 % 4) * 0.25 - 0.375 }, scaler: LinearScaler(features: 5))
    return try ModelInvocations(model: LinearLearnerInference(model: model))
}

private func rows(_ n: Int) -> [[Float]] {
    (0..<n).map { i in (0..<5).map { j in Float((i * 5 + j) % 11) - 5 } }
}

private func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("bt-\(UUID().uuidString)-\(name)").path
}

@Suite("BatchTransform")
struct BatchTransformTests {
    @Test("CSV split at line ends into many small requests: the same output as one request", arguments: ["application/jsonlines", "text/csv", "application/x-recordio-protobuf"])
    func csvSplit(accept: String) throws {
        let h = try handler()
        let body = rows(200).map { $0.map { "\($0)" }.joined(separator: ",") }.joined(separator: "\n") + "\n"
        let input = temporaryPath("in.csv"), output = temporaryPath("out")
        defer { try? FileManager.default.removeItem(atPath: input); try? FileManager.default.removeItem(atPath: output) }
        try Data(body.utf8).write(to: URL(fileURLWithPath: input))
        let whole = h.invoke(InvocationRequest(contentType: "text/csv", accept: accept, body: Array(body.utf8)))
        for workers in [1, 3] {
            let transform = BatchTransform(handler: h, contentType: "text/csv", accept: accept, maxPayloadBytes: 300, workers: workers)
            #expect(transform.splitType == .line)
            let statistics = try transform.run(input: input, output: output)
            #expect(statistics.requests > 10 && statistics.inputBytes == body.utf8.count, "\(statistics)")
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: output))) == whole.body, "workers \(workers)")
        }
    }

    @Test("RecordIO split at record boundaries; JSON is one request per file, followed by a newline")
    func recordIOAndJSON() throws {
        let h = try handler()
        let m = try Matrix<Float>(rows: 100, columns: 5, elements: Array(rows(100).joined()))
        let records = try RecordIOProtobufWriter.encode(Batch(features: .dense(m)))
        let input = temporaryPath("in.pbr"), output = temporaryPath("out")
        defer { try? FileManager.default.removeItem(atPath: input); try? FileManager.default.removeItem(atPath: output) }
        try Data(records).write(to: URL(fileURLWithPath: input))
        let whole = h.invoke(InvocationRequest(contentType: "application/x-recordio-protobuf", accept: "application/jsonlines", body: records))
        let transform = BatchTransform(handler: h, contentType: "application/x-recordio-protobuf", accept: "application/jsonlines", maxPayloadBytes: 500)
        #expect(transform.splitType == .recordIO)
        let statistics = try transform.run(input: input, output: output)
        #expect(statistics.requests >= 10)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: output))) == whole.body)

        let json = "{\"instances\": [{\"features\": [1, 2, 3, 4, 5]}]}"
        try Data(json.utf8).write(to: URL(fileURLWithPath: input))
        let one = BatchTransform(handler: h, contentType: "application/json", accept: nil)
        #expect(one.splitType == .none)
        _ = try one.run(input: input, output: output)
        let expected = h.invoke(InvocationRequest(contentType: "application/json", accept: nil, body: Array(json.utf8))).body + [0x0A]
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: output))) == expected)
    }

    @Test("a JSON or NPY file (sent whole) over the payload limit is refused after reading at most one byte past it; at the limit it is scored")
    func wholeFileLimit() throws {
        let h = try handler()
        let json = "{\"instances\": [{\"features\": [1, 2, 3, 4, 5]}]}"
        let input = temporaryPath("in.json"), output = temporaryPath("out")
        defer { try? FileManager.default.removeItem(atPath: input); try? FileManager.default.removeItem(atPath: output) }
        try Data(json.utf8).write(to: URL(fileURLWithPath: input))
        let exact = BatchTransform(handler: h, contentType: "application/json", accept: nil, maxPayloadBytes: json.utf8.count)
        #expect(try exact.run(input: input, output: output).requests == 1)
        let under = BatchTransform(handler: h, contentType: "application/json", accept: nil, maxPayloadBytes: json.utf8.count - 1)
        #expect {
            _ = try under.run(input: input, output: output + ".2")
        } throws: { error in
            "\(error)".contains("larger than the \(json.utf8.count - 1)-byte payload limit") && "\(error)".contains("SplitType=None")
        }
        #expect(!FileManager.default.fileExists(atPath: output + ".2"))
    }

    @Test("a bad row fails the file with its request and starting byte; no partial output is left")
    func badRow() throws {
        let input = temporaryPath("in.csv"), output = temporaryPath("out")
        defer { try? FileManager.default.removeItem(atPath: input) }
        try Data("1,2,3,4,5\n1,2,3,4\n".utf8).write(to: URL(fileURLWithPath: input))
        #expect {
            _ = try BatchTransform(handler: handler(), contentType: "text/csv", accept: nil).run(input: input, output: output)
        } throws: { error in
            "\(error)".contains("request 1 (from byte 0): HTTP 400: CSV row 2 has 4 columns but the model takes 5")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path)
            .filter { $0.hasPrefix((output as NSString).lastPathComponent) }
        #expect(leftovers.isEmpty)
    }

    @Test("a line longer than the payload limit is an error, not a split row")
    func longLine() throws {
        let input = temporaryPath("in.csv")
        defer { try? FileManager.default.removeItem(atPath: input) }
        try Data("1,2,3,4,5\n1.000000000,2.000000000,3.000000000,4.000000000,5.000000000\n".utf8).write(to: URL(fileURLWithPath: input))
        #expect(throws: ContainerError.self) {
            _ = try BatchTransform(handler: handler(), contentType: "text/csv", accept: nil, maxPayloadBytes: 32).run(input: input, output: temporaryPath("out"))
        }
    }
}
