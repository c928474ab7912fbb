import Foundation
import MLAlgorithms
import MLCore
import Testing
@testable import MLContainer

/// Request limits checked before parsing work (docs/reliability.md "Server under load").
@Suite("Inference request limits: JSON nesting, CSV rows against the body's bytes")
struct InferenceLimitsTests {
    func handler(features: Int = 100) throws -> ModelInvocations<LinearLearnerInference> {
        let layout = LinearParameterLayout(features: features, outputs: 1)
        let model = try LinearModel(predictorType: .binaryClassifier, layout: layout,
                                    parameters: [Float](repeating: 0.25, count: layout.count), scaler: LinearScaler(features: features))
        return try ModelInvocations(model: LinearLearnerInference(model: model))
    }

    func invoke(_ h: ModelInvocations<LinearLearnerInference>, _ type: String, _ body: [UInt8]) -> InvocationResponse {
        h.invoke(InvocationRequest(contentType: type, accept: "application/json", body: body))
    }

    @Test("JSON nested past 64 levels is a 400 that says so, at once (200,000 levels: no recursion)", arguments: ["application/json", "application/jsonlines"])
    func deepJSON(type: String) throws {
        let h = try handler()
        let clock = ContinuousClock(), start = clock.now
        let r = invoke(h, type, [UInt8](repeating: 0x5B, count: 200_000))
        #expect(r.status == 400)
        #expect(String(decoding: r.body, as: UTF8.self).contains("more than 64 levels deep (at byte 65)"))
        #expect(clock.now - start < .seconds(1))
        // Brackets inside strings do not count; 64 levels are fine as far as nesting goes.
        try InferenceRequestDecoder.checkJSONNesting(Array(#"{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"["}"#.utf8), what: "x")
        try InferenceRequestDecoder.checkJSONNesting([UInt8](repeating: 0x5B, count: 64), what: "x")
    }

    @Test("a CSV body of 1.5 million one-column rows to a 100-feature model: a 400 naming row 1, without sizing a 600 MB buffer")
    func rowAmplification() throws {
        let h = try handler()
        var body: [UInt8] = []
        for _ in 0..<1_500_000 { body += [0x31, 0x0A] }
        let r = invoke(h, "text/csv", body)
        #expect(r.status == 400)
        #expect(String(decoding: r.body, as: UTF8.self).contains("CSV row 1 has 1 columns but the model takes 100"))
    }

    @Test("short rows further down are found by the same check; valid bodies still answer")
    func laterShortRow() throws {
        let h = try handler(features: 3)
        var body = Array("1,2,3\n".utf8)
        for _ in 0..<100 { body += Array("\n1\n".utf8) }
        let r = invoke(h, "text/csv", body)
        #expect(r.status == 400)
        #expect(String(decoding: r.body, as: UTF8.self).contains("CSV row 2 has 1 columns but the model takes 3"))
        #expect(invoke(h, "text/csv", Array("1,2,3\n4,5,6\n".utf8)).status == 200)
        #expect(invoke(h, "text/csv;label_size=1", Array("0,1,2,3\n".utf8)).status == 200)
    }
}
