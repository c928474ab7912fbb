import Dispatch
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A request the HTTP decoder rejects must not keep its connection (docs/reliability.md "Server
/// under load"): before ParseErrorCloser, every such connection stayed open for the life of the
/// process with the head read so far, which a soak saw as RSS growing 14 MB a minute.
@Suite("InferenceServer: connections with unparseable requests are closed")
struct ParseErrorCloserTests {
    /// Sends `bytes` on a fresh connection without closing it, reads the reply, then waits up to
    /// `seconds` for the server to close the connection. Returns (status line, closed by server).
    static func sendAndWatch(port: Int, _ bytes: [UInt8], seconds: Int) -> (String, Bool) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return ("no connection", false) }
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) } // invariant: sent < count
            if n <= 0 { break }  // the server may stop reading once it has refused the head
            sent += n
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(Double(seconds))
        while Date() < deadline {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return (statusLine(received), true) }
            if n < 0 { return (statusLine(received), errno == ECONNRESET) }
            received += buffer[0..<n]
        }
        return (statusLine(received), false)
    }

    static func statusLine(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix { $0 != 0x0D }, as: UTF8.self)
    }

    @Test("a head over 80 KiB, and bytes that are not HTTP: 400, then the server closes the connection within seconds", arguments: [
        "huge head", "not HTTP",
    ])
    func closedAfterParseError(kind: String) async throws {
        let running = try await RunningServer.start()
        let port = running.port
        let bytes: [UInt8] = kind == "huge head"
            ? Array(("GET /ping HTTP/1.1\r\nHost: x\r\n" + (0..<2048).map { "X-Filler-\($0): \(String(repeating: "a", count: 48))\r\n" }.joined() + "\r\n").utf8)
            : Array("\u{16}\u{3}\u{1}\u{0}\u{a5}\u{1} hello? \r\n\r\n".utf8)
        for _ in 0..<2 {
            let (status, closed) = await withCheckedContinuation { continuation in
                DispatchQueue.global().async { continuation.resume(returning: Self.sendAndWatch(port: port, bytes, seconds: 30)) }
            }
            // The 400 comes first when it can: a head over the limit may still be in flight when
            // the server closes (it stops reading at the limit), and the close is then a reset,
            // which can discard the 400; and when a full parallel test run starves the server's
            // tasks for ParseErrorCloser.deadline, the connection is closed without one. Either
            // way the connection must not stay open.
            #expect(status == "HTTP/1.1 400 Bad Request" || status.isEmpty, "\(kind): \(status)")
            #expect(closed, "\(kind): the server kept the connection open")
        }
        #expect(await running.stop() == nil)
    }
}
