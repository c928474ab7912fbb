import Foundation

/// An HTTP/1.1 load generator for loopback servers: plain POSIX sockets, keep-alive connections
/// (reconnecting when the server answers `Connection: close`, as gunicorn's sync workers do),
/// driven by `ppoll` loops on a few threads.
///
/// Two modes (`LoadGenerator+OpenLoop.swift`, `LoadGenerator+ClosedLoop.swift`):
/// - **open loop**: request i is due at t0 + i/R whatever the responses do; its latency runs from
///   that intended time, so a server that stalls is charged for every request it delayed (no
///   coordinated omission). Requests due while every connection is busy wait in a queue.
/// - **closed loop**: each connection sends its next request as soon as the previous response
///   arrives, for a fixed time: peak throughput.
///
/// Every response's status is checked; the first response on each connection and every
/// ``checkEvery``-th after it has its body checked against ``ResponseCheck``. Runs are bounded:
/// nothing is sent after the duration, and the open loop's drain stops at a hard deadline.
public struct LoadGenerator: Sendable {
    public var host: String = "127.0.0.1"
    public var port: UInt16
    /// Request bodies to cycle through; request i sends `requests[i % count]`.
    public var requests: [HTTPRequestBytes]
    public var check: ResponseCheck
    /// A request with no complete response this long after it was sent is a timeout. Default 5 s.
    public var requestTimeout: Double = 5
    /// Bodies checked: the first on each connection and then every n-th. Default 64.
    public var checkEvery: Int = 64

    public init(port: UInt16, requests: [HTTPRequestBytes], check: ResponseCheck) {
        self.port = port
        self.requests = requests
        self.check = check
    }
}

/// A complete request (head and body) serialized once, so the loops only copy bytes.
public struct HTTPRequestBytes: Sendable, Equatable {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// `POST <path>` with `body`, keep-alive.
    public static func post(path: String, host: String, port: UInt16, contentType: String, body: [UInt8]) -> HTTPRequestBytes {
        let head = "POST \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Type: \(contentType)\r\n"
            + "Accept: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
        return HTTPRequestBytes(bytes: Array(head.utf8) + body)
    }

    public static func get(path: String, host: String, port: UInt16) -> HTTPRequestBytes {
        HTTPRequestBytes(bytes: Array("GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\n\r\n".utf8))
    }
}

/// What a good response body looks like: SageMaker's JSON
/// `{"predictions": [{"score": s, "predicted_label": l}, …]}` with one prediction per row sent.
public struct ResponseCheck: Sendable, Equatable {
    /// Predictions expected per response; `nil` accepts any body (only the status is checked).
    public var predictions: Int?

    public init(predictions: Int?) { self.predictions = predictions }

    /// `nil` when `body` is acceptable, else why not.
    public func problem(in body: [UInt8]) -> String? {
        guard let expected = predictions else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let list = object["predictions"] as? [Any]
        else { return "body is not JSON with a \"predictions\" array: \(String(decoding: body.prefix(120), as: UTF8.self))" }
        guard list.count == expected else { return "\(list.count) predictions for \(expected) rows" }
        for item in list {
            guard let p = item as? [String: Any], let score = (p["score"] as? NSNumber)?.doubleValue, score.isFinite,
                  p["predicted_label"] is NSNumber
            else { return "a prediction lacks a numeric score or predicted_label: \(item)" }
        }
        return nil
    }
}

/// Requests that failed, by cause.
public struct LoadErrors: Sendable, Equatable {
    /// A response with a status other than 200.
    public var status = 0
    /// A socket that could not connect.
    public var connect = 0
    /// The server closed the connection (or it broke) before a whole response arrived.
    public var closed = 0
    /// No whole response within ``LoadGenerator/requestTimeout``.
    public var timeout = 0
    /// A 200 whose body failed ``ResponseCheck`` (only sampled bodies are checked).
    public var body = 0
    /// Open loop: requests due before the end with no response by the hard stop.
    public var unfinished = 0

    public var total: Int { status + connect + closed + timeout + body + unfinished }

    mutating func add(_ o: LoadErrors) {
        status += o.status; connect += o.connect; closed += o.closed
        timeout += o.timeout; body += o.body; unfinished += o.unfinished
    }
}

/// What one load run measured.
public struct LoadReport: Sendable {
    /// Open loop: the rate asked for (requests/s); `nil` for a closed loop.
    public var offeredRate: Double?
    /// Whole responses (any status) per second: ÷ the duration (closed loop), or ÷ the time from
    /// the first due request to the last response, at least the duration (open loop).
    public var achievedRate: Double
    /// Requests that got a good response.
    public var succeeded: Int
    /// Whole responses received, any status.
    public var responses: Int
    public var errors: LoadErrors
    /// Latency of good responses: from the intended send time (open loop) or the send (closed loop).
    public var latency: LatencyHistogram
    /// The sending window in seconds.
    public var duration: Double
    /// Wall time from start to the last response or the hard stop.
    public var elapsed: Double
    public var connections: Int
    /// Bodies checked against ``ResponseCheck``.
    public var checkedBodies: Int
    /// The first body problem seen, for the error message.
    public var firstProblem: String?
    /// Open loop: the largest delay between a request's intended time and its send, in seconds
    /// (a queue behind busy connections, or the generator falling behind).
    public var maximumSendLag: Double

    /// `[p50, p90, p99, p99.9, max]` in seconds (`nil` entries when nothing succeeded).
    public var percentiles: [Double?] {
        [0.5, 0.9, 0.99, 0.999].map { latency.percentileSeconds($0) } + [latency.count > 0 ? Double(latency.maximum) / 1e9 : nil]
    }
}

/// Why a load run could not start.
public enum LoadGeneratorError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidSettings(String)
    case system(String)
    public var description: String {
        switch self {
        case let .invalidSettings(s): "invalid load settings: \(s)"
        case let .system(s): s
        }
    }
}

/// Per-thread tallies, merged into a ``LoadReport``.
struct LoadTally {
    var succeeded = 0
    /// Whole responses received, any status.
    var responses = 0
    var errors = LoadErrors()
    var latency = LatencyHistogram()
    var checkedBodies = 0
    var firstProblem: String?
    var maximumSendLag = 0.0
    var lastCompletion = 0.0

    mutating func merge(_ o: LoadTally) {
        succeeded += o.succeeded
        responses += o.responses
        errors.add(o.errors)
        latency.merge(o.latency)
        checkedBodies += o.checkedBodies
        firstProblem = firstProblem ?? o.firstProblem
        maximumSendLag = max(maximumSendLag, o.maximumSendLag)
        lastCompletion = max(lastCompletion, o.lastCompletion)
    }
}

/// Runs `body(k)` for k in 0..<count on `count` dedicated threads and returns their results in
/// order. Dedicated threads rather than Dispatch: the loops block in `ppoll` for the whole run,
/// and a Dispatch pool as wide as the cores could run them one after the other.
func runOnThreads<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
    let slots = (0..<count).map { _ in ThreadResultSlot<T>() }
    let done = DispatchSemaphore(value: 0)
    for k in 0..<count {
        let slot = slots[k]
        let thread = Thread {
            slot.value = body(k)
            done.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    for _ in 0..<count { done.wait() }
    return slots.map { $0.value! }  // every slot was written before its signal
}

/// Where a thread of ``runOnThreads(_:_:)`` leaves its result: written once by that thread
/// before it signals, read by the caller after waiting, so never accessed concurrently.
final class ThreadResultSlot<T>: @unchecked Sendable {
    var value: T?
}
