import Foundation
import MLContainer

/// How the inference server runs, from the environment SageMaker sets (reference §2.2–§2.4).
public struct ServingConfiguration: Sendable, Equatable {
    /// `SAGEMAKER_BIND_TO_PORT`, else 8080.
    public var port: Int
    /// `SAGEMAKER_BATCH=true`: a batch transform container.
    public var isBatch: Bool
    /// `SAGEMAKER_MAX_PAYLOAD_IN_MB` (default 6): larger bodies are refused with 413 before
    /// they are read whole.
    public var maxPayloadMB: Int
    /// `SAGEMAKER_BATCH_STRATEGY` (`SINGLE_RECORD` | `MULTI_RECORD`), as `/execution-parameters` reports it.
    public var batchStrategy: String
    /// `SAGEMAKER_MAX_CONCURRENT_TRANSFORMS`, else the worker count.
    public var maxConcurrentTransforms: Int
    /// `SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`: what an empty or `*/*` Accept means, when set.
    public var defaultAccept: String?

    /// The largest body accepted, in bytes (`maxPayloadMB` MiB: 6 MB is 6291456 bytes, as the
    /// SageMaker XGBoost container's `MAX_CONTENT_LENGTH`).
    public var maxPayloadBytes: Int { maxPayloadMB << 20 }

    public init(port: Int = 8080, isBatch: Bool = false, maxPayloadMB: Int = 6, batchStrategy: String = "MULTI_RECORD",
                maxConcurrentTransforms: Int = 1, defaultAccept: String? = nil) {
        self.port = port
        self.isBatch = isBatch
        self.maxPayloadMB = maxPayloadMB
        self.batchStrategy = batchStrategy
        self.maxConcurrentTransforms = maxConcurrentTransforms
        self.defaultAccept = defaultAccept
    }

    /// Reads the environment; a malformed value is a ClientError naming the variable, the value
    /// and the rule (the server refuses to start rather than guess).
    public init(environment: [String: String], workers: Int) throws(ContainerError) {
        func integer(_ name: String, default value: Int, range: ClosedRange<Int>) throws(ContainerError) -> Int {
            guard let text = environment[name], !text.isEmpty else { return value }
            guard let number = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
                throw .client("environment variable \(name) = '\(text)' is invalid: expected an integer in [\(range.lowerBound), \(range.upperBound)]")
            }
            return number
        }
        port = try integer("SAGEMAKER_BIND_TO_PORT", default: 8080, range: 1...65535)
        let batch = environment["SAGEMAKER_BATCH"]?.lowercased() ?? ""
        guard ["", "true", "false"].contains(batch) else {
            throw .client("environment variable SAGEMAKER_BATCH = '\(environment["SAGEMAKER_BATCH"] ?? "")' is invalid: expected true or false")
        }
        isBatch = batch == "true"
        // Batch transform allows up to 100 MB (MaxPayloadInMB); 0 means chunked streaming, which
        // the built-in algorithms do not support (reference §2.3).
        maxPayloadMB = try integer("SAGEMAKER_MAX_PAYLOAD_IN_MB", default: 6, range: 1...100)
        let strategy = (environment["SAGEMAKER_BATCH_STRATEGY"] ?? "").uppercased().replacingOccurrences(of: "-", with: "_")
        switch strategy {
        case "": batchStrategy = "MULTI_RECORD"
        case "MULTI_RECORD", "MULTIRECORD": batchStrategy = "MULTI_RECORD"
        case "SINGLE_RECORD", "SINGLERECORD": batchStrategy = "SINGLE_RECORD"
        default:
            throw .client("environment variable SAGEMAKER_BATCH_STRATEGY = '\(environment["SAGEMAKER_BATCH_STRATEGY"] ?? "")' is invalid: expected SINGLE_RECORD or MULTI_RECORD")
        }
        maxConcurrentTransforms = try integer("SAGEMAKER_MAX_CONCURRENT_TRANSFORMS", default: max(1, workers), range: 1...1024)
        defaultAccept = environment["SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The `GET /execution-parameters` body.
    public var executionParametersJSON: String {
        #"{"MaxConcurrentTransforms": \#(maxConcurrentTransforms), "BatchStrategy": "\#(batchStrategy)", "MaxPayloadInMB": \#(maxPayloadMB)}"#
    }
}
