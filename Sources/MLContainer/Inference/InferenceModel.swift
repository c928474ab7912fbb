import MLCore

/// An algorithm's trained model as the inference container serves it. Each algorithm
/// declares what it reads and writes; ``ModelInvocations`` does the rest of the contract
/// (content types, Accept, empty bodies, errors), the same for every algorithm.
public protocol InferenceModel: Sendable {
    /// The name `--algorithm` and `MLC_ALGORITHM` take.
    static var algorithm: String { get }
    /// The request content types the algorithm reads.
    static var requestFormats: [RequestFormat] { get }
    /// The response format when Accept is empty or `*/*` and `SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`
    /// is unset (`application/json` for the first-party algorithms, `text/csv` for trees).
    static var defaultResponseFormat: ResponseFormat { get }
    /// The number of features every request row must have.
    var featureCount: Int { get }
    /// Whether request rows may have missing values (empty CSV fields, `nan`), read as NaN; trees
    /// route them, the other algorithms need every value.
    static var acceptsMissingValues: Bool { get }

    /// Predicts `rows` dense rows (row-major at `x`) and appends the response in `format` to `out`.
    func respond(dense x: UnsafePointer<Float>, rows: Int, as format: ResponseFormat, into out: inout [UInt8]) throws(InvocationFailure)
    /// Predicts sparse rows (``featureCount`` columns) and appends the response in `format` to `out`.
    func respond(sparse x: SparseMatrix<Float>, as format: ResponseFormat, into out: inout [UInt8]) throws(InvocationFailure)
}

extension InferenceModel {
    public static var acceptsMissingValues: Bool { false }
}

/// The invocation pipeline around a loaded model: content type → rows → predictions → the
/// Accept format. Immutable, so one instance serves every connection at once.
public struct ModelInvocations<Model: InferenceModel>: InvocationHandler {
    public let model: Model
    /// What an empty or `*/*` Accept means.
    public let fallbackFormat: ResponseFormat

    public var algorithm: String { Model.algorithm }

    /// `defaultAccept` is `SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`; one we cannot produce is a
    /// ClientError at start, not a 406 on every request.
    public init(model: Model, defaultAccept: String? = nil) throws(ContainerError) {
        self.model = model
        if let defaultAccept, !defaultAccept.isEmpty {
            guard let essence = try? MediaType(parsing: defaultAccept).essence, let format = ResponseFormat(essence: essence) else {
                throw .client("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT = '\(defaultAccept)' is not a response type \(Model.algorithm) writes: "
                              + ResponseFormat.allCases.map(\.rawValue).joined(separator: ", "))
            }
            fallbackFormat = format
        } else {
            fallbackFormat = Model.defaultResponseFormat
        }
    }

    public func invoke(_ request: InvocationRequest) -> InvocationResponse {
        do {
            return try respond(request)
        } catch {
            return error.response
        }
    }

    /// The response to `request`, or the failure that explains why there is none.
    public func respond(_ request: InvocationRequest) throws(InvocationFailure) -> InvocationResponse {
        let (format, media) = try RequestFormat.parse(contentType: request.contentType, supported: Model.requestFormats)
        let output = try ResponseFormat.negotiate(accept: request.accept, fallback: fallbackFormat)
        if request.body.isEmpty { return .noContent }
        let d = model.featureCount
        var out: [UInt8] = []
        switch format {
        case .csv:
            let labelSize = try InferenceRequestDecoder.csvLabelSize(media)
            try request.body.withUnsafeBufferPointer { (body: UnsafeBufferPointer<UInt8>) throws(InvocationFailure) in
                let rows = InferenceRequestDecoder.csvRowCount(body)
                guard rows > 0 else { return }
                try InferenceRequestDecoder.checkCSVRowCount(body, rows: rows, columns: d + labelSize, labelSize: labelSize)
                // Stack memory for small requests (the one-row fast path), heap for large ones.
                try withUnsafeTemporaryAllocation(of: Float.self, capacity: rows * d) { (x: UnsafeMutableBufferPointer<Float>) throws(InvocationFailure) in
                    // invariant: rows ≥ 1 and d ≥ 1, so the buffer is non-empty
                    let base = x.baseAddress! // invariant: see above
                    try InferenceRequestDecoder.parseCSV(body, features: d, labelSize: labelSize, missingAllowed: Model.acceptsMissingValues, into: base)
                    out.reserveCapacity(rows * 48 + 32)
                    try model.respond(dense: UnsafePointer(base), rows: rows, as: output, into: &out)
                }
            }
            if out.isEmpty { return .noContent }
        case .json, .jsonLines, .recordIOProtobuf, .npy:
            let rows: Features
            switch format {
            case .json: rows = try InferenceRequestDecoder.decodeJSON(request.body, features: d)
            case .jsonLines: rows = try InferenceRequestDecoder.decodeJSONLines(request.body, features: d)
            case .recordIOProtobuf: rows = try InferenceRequestDecoder.decodeRecordIO(request.body, features: d)
            default: rows = try InferenceRequestDecoder.decodeNPY(request.body, features: d)
            }
            if rows.rows == 0 { return .noContent }
            switch rows {
            case .dense(let m):
                // Matrix's accessor rethrows untyped errors; only InvocationFailure can come out of it.
                do {
                    try m.withUnsafeBufferPointer { x in
                        // invariant: rows ≥ 1 and d ≥ 1, so the buffer is non-empty
                        try model.respond(dense: x.baseAddress!, rows: m.rows, as: output, into: &out) // invariant: see above
                    }
                } catch let failure as InvocationFailure {
                    throw failure
                } catch {
                    throw InvocationFailure(500, "prediction failed: \(error)")
                }
            case .sparse(let s):
                try model.respond(sparse: s, as: output, into: &out)
            }
        case .libsvm:
            let rows = try InferenceRequestDecoder.decodeLibSVM(request.body, features: d)
            if rows.rows == 0 { return .noContent }
            try model.respond(sparse: rows, as: output, into: &out)
        }
        return InvocationResponse(status: 200, contentType: output.rawValue, body: out)
    }
}
