import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One request, one response, on a fresh blocking connection: for readiness probes (`/ping`)
/// and for checking a server's answers before it is timed. Not for load (see ``LoadGenerator``).
enum HTTPExchange {
    struct Response { var status: Int; var body: [UInt8] }

    /// A blocking TCP socket connected to `host:port` with send and receive timeouts (the
    /// caller closes it), or why there is none.
    static func connectedSocket(host: String = "127.0.0.1", port: UInt16, timeout: Double) -> Result<Int32, LoadGeneratorError> {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(.system("socket: \(String(cString: strerror(errno)))")) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr(host)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            return .failure(.system("connect to \(host):\(port): \(reason)"))
        }
        return .success(fd)
    }

    /// The response, or why there is none (connection refused, timeout, malformed).
    static func send(_ request: HTTPRequestBytes, host: String = "127.0.0.1", port: UInt16, timeout: Double = 5) -> Result<Response, LoadGeneratorError> {
        let fd: Int32
        switch connectedSocket(host: host, port: port, timeout: timeout) {
        case .success(let socket): fd = socket
        case .failure(let error): return .failure(error)
        }
        defer { close(fd) }
        var sent = 0
        while sent < request.bytes.count {
            let n = request.bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) } // invariant: the buffer or result is non-empty / present by construction
            guard n > 0 else { return .failure(.system("send: \(String(cString: strerror(errno)))")) }
            sent += n
        }
        var parser = HTTPResponseParser()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let deadline = MonotonicClock.now() + timeout
        while MonotonicClock.now() < deadline {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return .failure(.system("no response from \(host):\(port): \(String(cString: strerror(errno)))")) }
            if n > 0 { buffer.withUnsafeBytes { parser.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) } }
            switch parser.parse(atEnd: n == 0) {
            case .incomplete:
                if n == 0 { return .failure(.system("\(host):\(port) closed the connection before a whole response")) }
            case let .malformed(problem): return .failure(.system("malformed response: \(problem)"))
            case let .complete(r): return .success(Response(status: r.status, body: r.body))
            }
        }
        return .failure(.system("no whole response from \(host):\(port) in \(timeout) s"))
    }

    /// Polls `GET /ping` until it answers 200, `server` exits, or `timeout` passes.
    static func waitUntilReady(port: UInt16, server: ServerProcess, timeout: Double) throws(BenchmarkError) {
        let deadline = MonotonicClock.now() + timeout
        var last = "no answer"
        while MonotonicClock.now() < deadline {
            guard server.isRunning else {
                throw .setupFailed(workload: server.name, detail: "the server exited before it was ready:\n\(server.logTail())")
            }
            switch send(.get(path: "/ping", host: "127.0.0.1", port: port), port: port, timeout: 1) {
            case let .success(r) where r.status == 200: return
            case let .success(r): last = "GET /ping answered \(r.status)"
            case let .failure(e): last = e.description
            }
            usleep(50_000)
        }
        throw .setupFailed(workload: server.name, detail: "not ready after \(timeout) s (\(last)):\n\(server.logTail())")
    }
}
