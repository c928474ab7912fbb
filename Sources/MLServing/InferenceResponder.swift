import Hummingbird
import MLContainer

/// Answers the three endpoints of the inference contract (reference §2.2). A switch on the path
/// rather than Hummingbird's router: three fixed paths need no trie, and a known path with the
/// wrong method must answer 405 (with `Allow`), which the router would report as 404.
struct InferenceResponder: HTTPResponder {
    typealias Context = BasicRequestContext

    let configuration: ServingConfiguration
    let model: ModelSlot
    /// Bodies at least this large are predicted on a Dispatch thread (see ``invocation(_:)``).
    let offloadThreshold: Int
    /// `GET /execution-parameters`, encoded once.
    let executionParameters: ByteBuffer
    /// In a batch transform container, `MaxConcurrentTransforms` predictions at a time.
    let limiter: InvocationLimiter?

    init(configuration: ServingConfiguration, model: ModelSlot, offloadThreshold: Int) {
        self.configuration = configuration
        self.model = model
        self.offloadThreshold = offloadThreshold
        self.executionParameters = ByteBuffer(string: configuration.executionParametersJSON)
        self.limiter = configuration.isBatch ? InvocationLimiter(limit: configuration.maxConcurrentTransforms) : nil
    }

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        switch request.uri.path {
        case "/ping":
            guard request.method == .get else { return Self.methodNotAllowed(allow: "GET") }
            // SageMaker's health check: an empty 200 once the model can answer.
            return model.handler == nil ? Self.text(.serviceUnavailable, "the model is still loading") : Response(status: .ok)
        case "/invocations":
            guard request.method == .post else { return Self.methodNotAllowed(allow: "POST") }
            return await invocation(request)
        case "/execution-parameters":
            guard request.method == .get else { return Self.methodNotAllowed(allow: "GET") }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: executionParameters))
        default:
            return Self.text(.notFound, "no such endpoint: \(request.uri.path) (the endpoints are GET /ping, POST /invocations, GET /execution-parameters)")
        }
    }

    /// A plain-text response whose body is `message` and a newline.
    static func text(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: message + "\n")))
    }

    static func methodNotAllowed(allow: String) -> Response {
        var response = text(.methodNotAllowed, "method not allowed: use \(allow)")
        response.headers[.allow] = allow
        return response
    }
}
