import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The abusive clients of `mlbench soak`: raw sockets that send what a well-behaved HTTP client
/// never would (half a request, a body past the limit, a megabyte of headers, bytes that are not
/// HTTP) and report what the server did about it, as an ``Outcome``.
enum SoakClient {
    /// What the server did with one abusive exchange.
    enum Outcome: Hashable, Sendable, CustomStringConvertible {
        /// A whole response with this status.
        case status(Int)
        /// The server closed the connection (or reset it) without a whole response.
        case closed
        /// No whole response within the timeout.
        case timeout
        /// The client hung up on purpose and did not wait for an answer.
        case abandoned
        /// The client could not connect (the server is not accepting).
        case refused

        var description: String {
            switch self {
            case .status(let code): "\(code)"
            case .closed: "closed"
            case .timeout: "timeout"
            case .abandoned: "abandoned"
            case .refused: "refused"
            }
        }
    }

    /// A connected blocking socket with send and receive timeouts, or nil.
    static func connect(port: UInt16, timeout: Double) -> Int32? {
        try? HTTPExchange.connectedSocket(port: port, timeout: timeout).get()
    }

    /// Sends all of `bytes`; false when the peer stopped taking them (it answered and closed).
    @discardableResult
    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) } // invariant: sent < count, so the buffer is non-empty
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }

    /// Reads until one whole response, the peer's close, or `timeout`.
    static func readResponse(_ fd: Int32, timeout: Double) -> Outcome {
        var parser = HTTPResponseParser()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let deadline = MonotonicClock.now() + timeout
        while MonotonicClock.now() < deadline {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return errno == EAGAIN || errno == EWOULDBLOCK ? .timeout : .closed }
            if n > 0 { buffer.withUnsafeBytes { parser.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) } }
            switch parser.parse(atEnd: n == 0) {
            case .incomplete:
                if n == 0 { return .closed }
            case .malformed: return .closed
            case let .complete(r): return .status(r.status)
            }
        }
        return .timeout
    }

    /// One exchange: connect, send `head` and `body` (stopping quietly if the server hangs up
    /// part way, as it may after refusing a body), read the answer.
    static func exchange(port: UInt16, _ bytes: [UInt8], timeout: Double = 10) -> Outcome {
        guard let fd = connect(port: port, timeout: timeout) else { return .refused }
        defer { close(fd) }
        sendAll(fd, bytes)
        return readResponse(fd, timeout: timeout)
    }

    /// Sends `bytes` and hangs up without reading; with `reset`, with a TCP RST (SO_LINGER 0)
    /// instead of a FIN, as a crashed client or a dropped NAT entry looks to the server.
    static func hangUp(port: UInt16, after bytes: [UInt8], reset: Bool) -> Outcome {
        guard let fd = connect(port: port, timeout: 5) else { return .refused }
        sendAll(fd, bytes)
        if reset {
            var lingering = linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &lingering, socklen_t(MemoryLayout<linger>.size))
        }
        close(fd)
        return .abandoned
    }

    /// A request head; `fields` are extra header lines without their CRLF.
    static func head(_ method: String, _ path: String, port: UInt16, fields: [String]) -> [UInt8] {
        Array(([ "\(method) \(path) HTTP/1.1", "Host: 127.0.0.1:\(port)" ] + fields).joined(separator: "\r\n").utf8) + Array("\r\n\r\n".utf8)
    }

    static func post(port: UInt16, contentType: String, body: [UInt8], extra: [String] = []) -> [UInt8] {
        head("POST", "/invocations", port: port, fields: ["Content-Type: \(contentType)", "Content-Length: \(body.count)"] + extra) + body
    }
}

/// `slow` connections that each send a request head one byte every `interval` seconds and never
/// finish it (slowloris). A connection the server closes is counted and opened again, so the
/// pressure stays for the whole run.
final class SlowClients {
    private var sockets: [Int32?]
    private var sentBytes: [Int]
    private let port: UInt16
    private let head: [UInt8]
    /// Connections the server closed on us.
    private(set) var closedByServer = 0
    /// Connections opened in all.
    private(set) var opened = 0
    /// Connection attempts that failed.
    private(set) var refused = 0

    init(count: Int, port: UInt16) {
        self.port = port
        sockets = Array(repeating: nil, count: count)
        sentBytes = Array(repeating: 0, count: count)
        // A head that never ends: after the request line, an endless run of header lines.
        head = Array("POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\n".utf8)
    }

    /// One round: every connection sends its next byte; dead ones are replaced.
    func tick() {
        for i in sockets.indices {
            if sockets[i] == nil {
                guard let fd = SoakClient.connect(port: port, timeout: 1) else { refused += 1; continue }
                var nonBlocking = fcntl(fd, F_GETFL)
                nonBlocking |= O_NONBLOCK
                _ = fcntl(fd, F_SETFL, nonBlocking)
                sockets[i] = fd
                sentBytes[i] = 0
                opened += 1
            }
            guard let fd = sockets[i] else { continue }
            // The server closing the connection shows as a readable EOF (or a reset).
            var probe: UInt8 = 0
            let r = recv(fd, &probe, 1, Int32(MSG_DONTWAIT))
            if r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || r > 0 {
                close(fd)
                sockets[i] = nil
                closedByServer += 1
                continue
            }
            let k = sentBytes[i]
            var byte: UInt8 = k < head.count ? head[k] : Array("X-Slow-\(k): 1\r\n".utf8)[0]
            if k >= head.count {
                // After the head's fixed part, `X-Slow-<k>: 1` header lines, a byte at a time.
                let line = Array("X-Slow: 1\r\n".utf8)
                byte = line[(k - head.count) % line.count]
            }
            let n = send(fd, &byte, 1, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            if n == 1 {
                sentBytes[i] += 1
            } else if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK {
                close(fd)
                sockets[i] = nil
                closedByServer += 1
            }
        }
    }

    func closeAll() {
        for case let fd? in sockets { close(fd) }
        sockets = sockets.map { _ in nil }
    }

    deinit { closeAll() }
}
