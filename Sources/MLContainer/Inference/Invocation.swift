/// One `POST /invocations` (reference §2.2), or one record set of a batch transform or
/// `mlc predict`: the body and the two headers the contract passes through.
public struct InvocationRequest: Sendable {
    /// The raw `Content-Type` header value (`text/csv; label_size=0`), if any.
    public var contentType: String?
    /// The raw `Accept` header value, if any; empty or `*/*` means the default.
    public var accept: String?
    /// The payload, exactly as received.
    public var body: [UInt8]

    public init(contentType: String?, accept: String?, body: [UInt8]) {
        self.contentType = contentType
        self.accept = accept
        self.body = body
    }
}

/// What an invocation answers: an HTTP status, a content type and a body. Errors are
/// responses too (400 unparseable, 406 unsupported Accept, 413 too large, 415 unsupported
/// content type, 204 empty body), never a crash.
public struct InvocationResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String?
    public var body: [UInt8]

    public init(status: Int, contentType: String?, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    /// A plain-text error response: `message` is what went wrong and where.
    public static func error(_ status: Int, _ message: String) -> InvocationResponse {
        InvocationResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array((message + "\n").utf8))
    }

    /// 204: an empty request body has nothing to predict.
    public static let noContent = InvocationResponse(status: 204, contentType: nil, body: [])
}

/// A loaded model behind the request decoders and response encoders: what the HTTP server
/// (MLServing), batch transform and `mlc predict` call. Implementations are immutable after
/// loading and safe to call from many threads at once.
public protocol InvocationHandler: Sendable {
    /// The algorithm's name, as `mlc train --algorithm` takes it.
    var algorithm: String { get }
    /// Answers one request. Never throws: every failure is an error response.
    func invoke(_ request: InvocationRequest) -> InvocationResponse
    /// Whether even a small request may take long (one image through a deep network): the
    /// server then answers it off its event loops, whatever the body's size.
    var isComputeHeavy: Bool { get }
}

extension InvocationHandler {
    public var isComputeHeavy: Bool { false }
}
