import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A parsed HTTP/1.1 response.
struct HTTPReply: Sendable {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    /// The first value of the field `name`, matched case-insensitively.
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var text: String { String(decoding: body, as: UTF8.self) }
}

struct HTTPTestError: Error, CustomStringConvertible {
    var description: String
}

/// A tiny blocking HTTP/1.1 client on a raw socket. Raw, so that tests can send what a polite
/// client would not (only headers with a huge Content-Length, chunked bodies), and blocking on a
/// Dispatch thread so that it never occupies the Swift concurrency threads the server runs on.
enum RawHTTP {
    /// Sends `method path` with `headers` and `body` (Content-Length added when `body` is given
    /// and no length header is), returns the reply. The connection closes afterwards.
    static func request(port: Int, _ method: String, _ path: String, headers: [(String, String)] = [],
                        body: [UInt8]? = nil) async throws -> HTTPReply {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let declaresLength = headers.contains { ["content-length", "transfer-encoding"].contains($0.0.lowercased()) }
        if let body, !declaresLength { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        return try await exchange(port: port, Array(head.utf8) + (body ?? []))
    }

    /// Writes `bytes` as they are and reads one response.
    /// The timeout only keeps a broken server from hanging the run: on 2 cores, a full parallel
    /// test run can leave the server's threads busy for many seconds (tests that train or wait
    /// for child processes hold the Swift concurrency threads), so it is generous.
    static func exchange(port: Int, _ bytes: [UInt8], timeoutSeconds: Int = 90) async throws -> HTTPReply {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try blockingExchange(port: port, bytes, timeoutSeconds: timeoutSeconds) })
            }
        }
    }

    /// Whether a TCP connection to the port is accepted.
    static func canConnect(port: Int) -> Bool {
        guard let socket = try? openConnection(port: port, timeoutSeconds: 2) else { return false }
        close(socket)
        return true
    }

    /// A port nothing listens on now (bound to 0, read, released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(socketStreamType), 0)
        guard fd >= 0 else { throw HTTPTestError(description: "socket: \(errno)") }
        defer { close(fd) }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw HTTPTestError(description: "bind: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    #if canImport(Glibc)
    private static let socketStreamType = SOCK_STREAM.rawValue
    #else
    private static let socketStreamType = SOCK_STREAM
    #endif

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    private static func openConnection(port: Int, timeoutSeconds: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(socketStreamType), 0)
        guard fd >= 0 else { throw HTTPTestError(description: "socket: \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            close(fd)
            throw HTTPTestError(description: "connect to port \(port): errno \(code)")
        }
        return fd
    }

    private static func blockingExchange(port: Int, _ bytes: [UInt8], timeoutSeconds: Int) throws -> HTTPReply {
        let fd = try openConnection(port: port, timeoutSeconds: timeoutSeconds)
        defer { close(fd) }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw HTTPTestError(description: "send: errno \(errno)") }
            sent += n
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        func readMore() throws -> Bool {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 { throw HTTPTestError(description: "recv: errno \(errno) (timeout?)") }
            if n == 0 { return false }
            received += chunk[0..<n]
            return true
        }
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headerEnd: Int?
        while headerEnd == nil {
            guard try readMore() else { throw HTTPTestError(description: "connection closed before a response head") }
            headerEnd = received.firstRange(of: separator)?.upperBound
        }
        guard let headerEnd else { throw HTTPTestError(description: "no response head") }
        let lines = String(decoding: received[..<(headerEnd - 4)], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw HTTPTestError(description: "bad status line '\(lines[0])'")
        }
        let headers = lines.dropFirst().compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let reply = HTTPReply(status: status, headers: headers, body: [])
        let length = reply.header("content-length").flatMap { Int($0) } ?? 0
        while received.count - headerEnd < length {
            guard try readMore() else { throw HTTPTestError(description: "connection closed inside the body") }
        }
        return HTTPReply(status: status, headers: headers, body: Array(received[headerEnd..<(headerEnd + length)]))
    }
}
