import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One keep-alive connection of a ``LoadLoop``; owned by the loop's thread.
final class LoadConnection {
    enum State { case disconnected, connecting, idle, writing, reading }
    var fd: Int32 = -1
    var state = State.disconnected
    var request: [UInt8] = []
    var written = 0
    /// When the request was due (open loop) or sent (closed loop): latency runs from here.
    var intended = 0.0
    var sentAt = 0.0
    var parser = HTTPResponseParser()
    /// Responses received over this slot's life (across reconnects): the first is always checked.
    var responses = 0
    /// After a failed connect, when to try again (so a dead server is not hammered).
    var retryAt = 0.0
}

/// The event loop behind both load modes: a set of connections on one thread, multiplexed with
/// `ppoll` (nanosecond timeouts, unlike `poll`'s and `epoll_wait`'s milliseconds, so the open
/// loop wakes when a request is due rather than up to a millisecond late).
///
/// Open loop (`rate` set): request n of this loop is due at `t0 + (first + n·step)/rate`; due
/// requests queue and go to the first idle connection, latency counted from the due time.
/// Closed loop: every idle connection sends at once, latency counted from the send.
/// Nothing is sent before `t0` or after `end`; the loop returns at `end` (closed) or when every
/// due request has been answered or `hardStop` passes (open; the rest count as unfinished).
final class LoadLoop {
    let generator: LoadGenerator
    let connections: [LoadConnection]
    let rate: Double?
    let t0: Double, end: Double, hardStop: Double
    var nextIndex: Int
    let indexStep: Int
    var payloadIndex: Int
    var backlog: [Double] = []
    var backlogHead = 0
    var tally = LoadTally()
    var bodyCounter = 0
    var address = sockaddr_in()
    var readBuffer = [UInt8](repeating: 0, count: 1 << 16)

    init(generator: LoadGenerator, connections: Int, rate: Double?, first: Int, step: Int, t0: Double, end: Double, hardStop: Double) {
        self.generator = generator
        self.connections = (0..<connections).map { _ in LoadConnection() }
        self.rate = rate
        self.t0 = t0
        self.end = end
        self.hardStop = hardStop
        self.nextIndex = first
        self.indexStep = step
        self.payloadIndex = first
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = generator.port.bigEndian
        address.sin_addr.s_addr = inet_addr(generator.host)
    }

    var backlogCount: Int { backlog.count - backlogHead }

    func run() -> LoadTally {
        var fds: [pollfd] = []
        var owners: [Int] = []
        while true {
            var now = MonotonicClock.now()
            if now >= hardStop { break }
            let sending = now >= t0 && now < end
            if let rate {
                while true {
                    let due = t0 + Double(nextIndex) / rate
                    guard due <= now, due < end else { break }
                    backlog.append(due)
                    nextIndex += indexStep
                }
            }
            let inFlight = connections.contains { $0.state == .writing || $0.state == .reading }
            if now >= end {
                if rate == nil || (backlogCount == 0 && !inFlight) { break }
            }
            for c in connections {
                switch c.state {
                case .disconnected:
                    if now >= c.retryAt && (now < end || backlogCount > 0) { connect(c, now: now) }
                case .idle:
                    if rate != nil {
                        if backlogCount > 0 {
                            let due = backlog[backlogHead]
                            backlogHead += 1
                            if backlogHead > 4096 && backlogHead * 2 > backlog.count {
                                backlog.removeFirst(backlogHead)
                                backlogHead = 0
                            }
                            start(c, intended: due, now: now)
                        }
                    } else if sending {
                        start(c, intended: now, now: now)
                    }
                default: break
                }
            }

            // Sleep until a socket is ready or the next deadline: a due request, the end, a retry, a timeout.
            var wake = hardStop
            if now < t0 { wake = min(wake, t0) }
            if now < end { wake = min(wake, end) }
            if let rate, now < end { wake = min(wake, t0 + Double(nextIndex) / rate) }
            fds.removeAll(keepingCapacity: true)
            owners.removeAll(keepingCapacity: true)
            for (i, c) in connections.enumerated() {
                switch c.state {
                case .disconnected: if c.retryAt > now { wake = min(wake, c.retryAt) }
                case .connecting: fds.append(pollfd(fd: c.fd, events: Int16(POLLOUT), revents: 0)); owners.append(i)
                case .idle: fds.append(pollfd(fd: c.fd, events: Int16(POLLIN), revents: 0)); owners.append(i)
                case .writing:
                    fds.append(pollfd(fd: c.fd, events: Int16(POLLOUT), revents: 0)); owners.append(i)
                    wake = min(wake, c.sentAt + generator.requestTimeout)
                case .reading:
                    fds.append(pollfd(fd: c.fd, events: Int16(POLLIN), revents: 0)); owners.append(i)
                    wake = min(wake, c.sentAt + generator.requestTimeout)
                }
            }
            let wait = max(0, wake - now)
            var timeout = timespec(tv_sec: Int(wait), tv_nsec: Int((wait - wait.rounded(.down)) * 1e9))
            let ready = fds.withUnsafeMutableBufferPointer { PreciseWait.poll($0, timeout: &timeout) }
            now = MonotonicClock.now()
            if ready > 0 {
                for (k, p) in fds.enumerated() where p.revents != 0 {
                    let c = connections[owners[k]]
                    switch c.state {
                    case .connecting: finishConnect(c, now: now)
                    case .idle: idleReadable(c)
                    case .writing: write(c, now: now)
                    case .reading: read(c, now: now)
                    case .disconnected: break
                    }
                }
            }
            for c in connections where (c.state == .writing || c.state == .reading) && now - c.sentAt > generator.requestTimeout {
                tally.errors.timeout += 1
                close(c)
            }
        }
        if rate != nil {
            tally.errors.unfinished += backlogCount
                + connections.filter { $0.state == .writing || $0.state == .reading }.count
        }
        for c in connections { close(c) }
        return tally
    }

    private func connect(_ c: LoadConnection, now: Double) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { connectFailed(c, now: now); return }
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let r = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        c.fd = fd
        c.parser.reset()
        if r == 0 {
            c.state = .idle
        } else if errno == EINPROGRESS {
            c.state = .connecting
        } else {
            close(c)
            connectFailed(c, now: now)
        }
    }

    private func connectFailed(_ c: LoadConnection, now: Double) {
        tally.errors.connect += 1
        c.retryAt = now + 0.01
    }

    private func finishConnect(_ c: LoadConnection, now: Double) {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0 {
            c.state = .idle
        } else {
            close(c)
            connectFailed(c, now: now)
        }
    }

    /// A readable idle connection: the server closed it (keep-alive timeout) — not an error — or
    /// sent bytes nobody asked for; either way start afresh.
    private func idleReadable(_ c: LoadConnection) {
        close(c)
    }

    private func start(_ c: LoadConnection, intended: Double, now: Double) {
        let requests = generator.requests
        c.request = requests[payloadIndex % requests.count].bytes
        payloadIndex += indexStep
        c.written = 0
        c.intended = intended
        c.sentAt = now
        c.parser.reset()
        tally.maximumSendLag = max(tally.maximumSendLag, now - intended)
        c.state = .writing
        write(c, now: now)
    }

    private func write(_ c: LoadConnection, now: Double) {
        while c.written < c.request.count {
            let n = c.request.withUnsafeBytes { p in
                send(c.fd, p.baseAddress! + c.written, p.count - c.written, Int32(MSG_NOSIGNAL)) // invariant: the buffer or result is non-empty / present by construction
            }
            if n > 0 {
                c.written += n
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                return
            } else {
                tally.errors.closed += 1
                close(c)
                return
            }
        }
        c.state = .reading
    }

    private func read(_ c: LoadConnection, now: Double) {
        var atEnd = false
        while true {
            let n = readBuffer.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                readBuffer.withUnsafeBytes { c.parser.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                if n < readBuffer.count { break }
            } else if n == 0 {
                atEnd = true
                break
            } else if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                break
            } else {
                atEnd = true
                break
            }
        }
        switch c.parser.parse(atEnd: atEnd) {
        case .incomplete:
            if atEnd {
                tally.errors.closed += 1
                close(c)
            }
        case let .malformed(problem):
            tally.errors.body += 1
            tally.firstProblem = tally.firstProblem ?? "malformed response: \(problem)"
            close(c)
        case let .complete(response):
            finish(c, response, now: now)
            if response.closes || atEnd { close(c) } else { c.state = .idle; c.parser.reset() }
        }
    }

    private func finish(_ c: LoadConnection, _ response: HTTPResponseParser.Response, now: Double) {
        tally.responses += 1
        tally.lastCompletion = max(tally.lastCompletion, now)
        defer { c.responses += 1 }
        guard response.status == 200 else {
            tally.errors.status += 1
            tally.firstProblem = tally.firstProblem ?? "status \(response.status): \(String(decoding: response.body.prefix(160), as: UTF8.self))"
            return
        }
        bodyCounter += 1
        if c.responses == 0 || bodyCounter % max(1, generator.checkEvery) == 0 {
            tally.checkedBodies += 1
            if let problem = generator.check.problem(in: response.body) {
                tally.errors.body += 1
                tally.firstProblem = tally.firstProblem ?? problem
                return
            }
        }
        tally.succeeded += 1
        tally.latency.record(seconds: now - c.intended)
    }

    private func close(_ c: LoadConnection) {
        if c.fd >= 0 { _ = Glibc.close(c.fd) }
        c.fd = -1
        c.state = .disconnected
        c.parser.reset()
    }
}

/// `ppoll(2)`: `poll` with a nanosecond timeout. Swift's Glibc module leaves it out (it is
/// declared only under `_GNU_SOURCE`), so it is looked up in the C library at run time; where it
/// is missing, `poll` with the timeout rounded up to whole milliseconds stands in (late wake-ups
/// then show up as latency: conservative, never flattering).
enum PreciseWait {
    typealias PPoll = @convention(c) (UnsafeMutablePointer<pollfd>?, nfds_t, UnsafePointer<timespec>?, UnsafeRawPointer?) -> Int32

    static let ppoll: PPoll? = {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "ppoll") else { return nil }
        return unsafeBitCast(symbol, to: PPoll.self)
    }()

    static func poll(_ fds: UnsafeMutableBufferPointer<pollfd>, timeout: inout timespec) -> Int32 {
        if let ppoll { return ppoll(fds.baseAddress, nfds_t(fds.count), &timeout, nil) }
        let ms = Int32(min(Int(timeout.tv_sec) * 1000 + (Int(timeout.tv_nsec) + 999_999) / 1_000_000, Int(Int32.max)))
        return Glibc.poll(fds.baseAddress, nfds_t(fds.count), ms)
    }
}
