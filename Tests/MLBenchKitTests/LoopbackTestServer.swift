import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A tiny blocking HTTP/1.1 server on 127.0.0.1 for the load generator's tests: a thread per
/// connection, keep-alive, and a behaviour chosen per request (by its global sequence number)
/// so tests can inject errors, closes and stalls.
final class LoopbackTestServer: Sendable {
    enum Action: Sendable {
        /// 200 with a one-prediction SageMaker body.
        case ok
        /// 200, then close the connection (as gunicorn's sync workers do).
        case okThenClose
        case status(Int)
        /// 200 with a body that is not the predictions JSON.
        case badBody
        /// Close without answering.
        case close
        /// Wait, then answer 200.
        case stall(Double)
    }

    let port: UInt16
    private let listener: Int32
    private let behaviour: @Sendable (Int) -> Action
    private let counter = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    var requests: Int { counter.load(ordering: .relaxed) }

    init(_ behaviour: @escaping @Sendable (Int) -> Action = { _ in .ok }) throws {
        self.behaviour = behaviour
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard ok, listen(fd, 512) == 0 else { throw POSIXError(.EADDRINUSE) }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    deinit { stop() }

    private func acceptLoop() {
        while !stopped.load(ordering: .relaxed) {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if errno == EINTR { continue }
                return
            }
            let thread = Thread { [self] in serve(client) }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !stopped.load(ordering: .relaxed) {
            // One request: headers, then Content-Length bytes of body.
            var headerEnd: Int?
            var needed = Int.max
            while true {
                if headerEnd == nil, let end = find(buffer) {
                    headerEnd = end + 4
                    let head = String(decoding: buffer[..<end], as: UTF8.self).lowercased()
                    let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                        .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                    needed = end + 4 + length
                }
                if buffer.count >= needed { break }
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return }
                buffer.append(contentsOf: chunk[0..<n])
            }
            buffer.removeFirst(needed)
            let number = counter.add(1, ordering: .relaxed).oldValue
            let good = #"{"predictions":[{"score":0.75,"predicted_label":1}]}"#
            switch behaviour(number) {
            case .ok: respond(fd, 200, good)
            case .okThenClose: respond(fd, 200, good, close: true); return
            case let .status(code): respond(fd, code, #"{"error":"injected"}"#)
            case .badBody: respond(fd, 200, #"{"oops":1}"#)
            case .close: return
            case let .stall(seconds):
                usleep(UInt32(seconds * 1e6))
                respond(fd, 200, good)
            }
        }
    }

    private func respond(_ fd: Int32, _ status: Int, _ body: String, close: Bool = false) {
        let text = "HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
            + (close ? "Connection: close\r\n" : "") + "\r\n" + body
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    private func find(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
        return nil
    }
}
