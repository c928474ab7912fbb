import Dispatch
import HTTPTypes
import Hummingbird
import MLContainer

extension HTTPField.Name {
    /// Opaque client data SageMaker forwards verbatim; the container may return it (reference §2.2).
    static let customAttributes = HTTPField.Name("X-Amzn-SageMaker-Custom-Attributes")!  // a valid token: cannot fail
}

extension InferenceResponder {
    /// `POST /invocations`: the body (within the payload limit), `Content-Type` and `Accept` go to
    /// the handler; its status, content type and body come back, with the custom attributes
    /// echoed. HTTP field names are case-insensitive, so `content-type` and `CONTENT-TYPE` reach
    /// the handler alike.
    func invocation(_ request: Request) async -> Response {
        guard let handler = model.handler else {
            return Self.text(.serviceUnavailable, "the model is still loading: retry when GET /ping answers 200")
        }
        let body: [UInt8]
        switch await Self.collectBody(request, limit: configuration.maxPayloadBytes) {
        case .success(let bytes): body = bytes
        case .failure(let refusal): return refusal.response(limit: configuration.maxPayloadBytes)
        }
        let invocation = InvocationRequest(contentType: request.headers[.contentType], accept: request.headers[.accept], body: body)
        // Batch transform: no more than MaxConcurrentTransforms predictions at once (the bodies
        // waiting here are within the payload limit each).
        if let limiter { await limiter.acquire() }
        defer { limiter?.release() }
        let answer: InvocationResponse
        if body.count < offloadThreshold && !handler.isComputeHeavy {
            // A few rows take microseconds: answering on this thread saves the two thread hops a
            // pool costs, which would dominate one-row latency.
            answer = handler.invoke(invocation)
        } else {
            // A large batch (or one image through a deep network) can take long enough to starve
            // the small Swift concurrency pool (one thread per core), and with it /ping's 2 s
            // deadline; Dispatch adds threads instead.
            answer = await withCheckedContinuation { continuation in
                DispatchQueue.global(qos: .userInitiated).async {
                    continuation.resume(returning: handler.invoke(invocation))
                }
            }
        }
        var response = Self.response(answer)
        if let attributes = request.headers[.customAttributes] {
            response.headers[.customAttributes] = attributes
        }
        return response
    }

    /// Why a body was not read.
    enum BodyRefusal: Error {
        case tooLarge
        case badContentLength(String)
        case unreadable(String)

        func response(limit: Int) -> Response {
            switch self {
            case .tooLarge:
                InferenceResponder.text(.contentTooLarge, "the request body is larger than the \(limit)-byte limit (SAGEMAKER_MAX_PAYLOAD_IN_MB): send fewer records per request")
            case .badContentLength(let value):
                InferenceResponder.text(.badRequest, "invalid Content-Length '\(value)'")
            case .unreadable(let reason):
                InferenceResponder.text(.badRequest, "could not read the request body: \(reason)")
            }
        }
    }

    /// The whole body, or a refusal: a declared `Content-Length` over `limit` is refused before
    /// a byte of the body is read; a chunked body is refused as soon as it passes `limit`, so at
    /// most `limit` bytes are ever held. An absent body is empty (the handler answers 204).
    static func collectBody(_ request: Request, limit: Int) async -> Result<[UInt8], BodyRefusal> {
        var expected = 0
        if let declared = request.headers[.contentLength] {
            guard let length = Int(declared), length >= 0 else { return .failure(.badContentLength(declared)) }
            guard length <= limit else { return .failure(.tooLarge) }
            expected = length
        }
        var body: [UInt8] = []
        body.reserveCapacity(expected)
        do {
            for try await buffer in request.body {
                guard buffer.readableBytes <= limit - body.count else { return .failure(.tooLarge) }
                body.append(contentsOf: buffer.readableBytesView)
            }
        } catch {
            return .failure(.unreadable("\(error)"))
        }
        return .success(body)
    }

    /// The handler's answer as an HTTP response. A status outside 200...599 is the handler's bug:
    /// it becomes a 500 rather than a trap in HTTPTypes.
    static func response(_ answer: InvocationResponse) -> Response {
        guard (200...599).contains(answer.status) else {
            return text(.internalServerError, "the inference handler answered with the invalid status \(answer.status)")
        }
        let status = HTTPResponse.Status(code: answer.status)
        var headers = HTTPFields()
        if let contentType = answer.contentType { headers[.contentType] = contentType }
        if status == .noContent || status == .notModified {
            // These statuses carry no body and no Content-Length (RFC 9110 §8.6).
            var response = Response(status: status, headers: headers)
            response.headers[.contentLength] = nil
            return response
        }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}
