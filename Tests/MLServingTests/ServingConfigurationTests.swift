import MLContainer
import MLServing
import Testing

@Suite("ServingConfiguration")
struct ServingConfigurationTests {
    @Test("defaults: port 8080, 6 MB, MULTI_RECORD, as many concurrent transforms as workers")
    func defaults() throws {
        let c = try ServingConfiguration(environment: [:], workers: 2)
        #expect(c.port == 8080 && !c.isBatch && c.maxPayloadMB == 6 && c.maxPayloadBytes == 6_291_456)
        #expect(c.batchStrategy == "MULTI_RECORD" && c.maxConcurrentTransforms == 2 && c.defaultAccept == nil)
        #expect(c.executionParametersJSON == #"{"MaxConcurrentTransforms": 2, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}"#)
    }

    @Test("SageMaker's variables are honoured")
    func environment() throws {
        let c = try ServingConfiguration(environment: [
            "SAGEMAKER_BIND_TO_PORT": "9090", "SAGEMAKER_BATCH": "True", "SAGEMAKER_MAX_PAYLOAD_IN_MB": "20",
            "SAGEMAKER_BATCH_STRATEGY": "SINGLE_RECORD", "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": "4",
            "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
        ], workers: 2)
        #expect(c == ServingConfiguration(port: 9090, isBatch: true, maxPayloadMB: 20, batchStrategy: "SINGLE_RECORD",
                                          maxConcurrentTransforms: 4, defaultAccept: "text/csv"))
    }

    @Test("a malformed variable is a ClientError naming it, the value and the rule", arguments: [
        ("SAGEMAKER_BIND_TO_PORT", "http"), ("SAGEMAKER_BIND_TO_PORT", "70000"), ("SAGEMAKER_MAX_PAYLOAD_IN_MB", "0"),
        ("SAGEMAKER_MAX_PAYLOAD_IN_MB", "101"), ("SAGEMAKER_BATCH_STRATEGY", "ALL"), ("SAGEMAKER_BATCH", "yes"),
    ])
    func malformed(name: String, value: String) {
        #expect {
            _ = try ServingConfiguration(environment: [name: value], workers: 2)
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("ClientError") && text.contains(name) && text.contains("'\(value)'")
        }
    }
}
