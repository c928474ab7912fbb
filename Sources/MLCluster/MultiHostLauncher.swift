import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Carries out a ``LaunchRole`` of several hosts: starts the ssh daemon `mpirun` reaches each
/// host through, and either runs `mpirun` (the primary) or waits for the job's `orted` daemon
/// to come and go (the others).
public struct MultiHostLauncher: Sendable {
    /// How long a host waits for its peers: the primary for every other host's ssh port, the
    /// others for the primary's `orted` to appear. Hosts of a SageMaker job start within minutes
    /// of each other; their names may not resolve at first (reference §1.5: retry DNS).
    public var peerWait: Double = 600
    /// Where the line-oriented log goes (`mlc train`'s stdout).
    public var log: @Sendable (String) -> Void

    public init(log: @escaping @Sendable (String) -> Void) {
        self.log = log
    }

    /// Starts `sshd` unless one is listening on port 22 already.
    public func startSSHDaemon() throws(ClusterError) {
        if Self.canConnect(host: "127.0.0.1", port: 22) { return }
        let sshd = "/usr/sbin/sshd"
        guard FileManager.default.isExecutableFile(atPath: sshd) else {
            throw .runtime("\(sshd) is missing: training on several hosts needs openssh-server (container/Dockerfile installs it)")
        }
        // sshd refuses to start without its privilege-separation directory.
        try? FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: sshd)
        process.arguments = []
        do {
            try process.run()
        } catch {
            throw .runtime("cannot start \(sshd): \(error.localizedDescription)")
        }
        process.waitUntilExit()  // sshd forks into the background; the parent returns at once
        guard process.terminationStatus == 0 else {
            throw .runtime("\(sshd) exited with status \(process.terminationStatus)")
        }
    }

    /// The primary: waits until every other host accepts ssh connections, then runs `mpirun`
    /// and returns its exit status. `shouldStop` is polled: when it turns true (SIGTERM), mpirun
    /// gets SIGTERM, which it forwards to every rank.
    public func runPrimary(hosts: [String], mpirun: String, arguments: [String],
                           shouldStop: @Sendable () -> Bool) throws(ClusterError) -> Int32 {
        for host in hosts.dropFirst() {
            log("Waiting for host \(host) to accept ssh connections")
            let deadline = Date().addingTimeInterval(peerWait)
            while !Self.canConnect(host: host, port: 22) {
                guard Date() < deadline else {
                    throw .runtime("host \(host) did not accept ssh connections on port 22 within \(Int(peerWait)) s")
                }
                if shouldStop() { return 0 }
                sleep(1)
            }
        }
        log("Launching: mpirun " + arguments.joined(separator: " "))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun)
        process.arguments = arguments
        do {
            try process.run()
        } catch {
            throw .runtime("cannot run \(mpirun): \(error.localizedDescription)")
        }
        var forwarded = false
        while process.isRunning {
            if !forwarded && shouldStop() {
                process.terminate()
                forwarded = true
            }
            usleep(100_000)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Every other host: waits for `mpirun`'s `orted` daemon to appear on this host, then for it
    /// to end. Returns when the job is over (SageMaker's MPI workers exit 0 then; the primary's
    /// status is the job's).
    public func runWorker(primary: String) throws(ClusterError) {
        log("Waiting for the primary host \(primary) to start this host's rank")
        let deadline = Date().addingTimeInterval(peerWait)
        while !MultiHostLaunch.containsMPIDaemon(Self.processNames()) {
            guard Date() < deadline else {
                throw .runtime("the primary host \(primary) did not start this host's rank (no orted process) within \(Int(peerWait)) s")
            }
            sleep(1)
        }
        log("The MPI job runs on this host; waiting for it to end")
        while MultiHostLaunch.containsMPIDaemon(Self.processNames()) { sleep(1) }
        log("The MPI job ended")
    }

    /// `/proc/<pid>/comm` of every process.
    static func processNames() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { $0.allSatisfy(\.isNumber) }.compactMap { pid in
            try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)
        }
    }

    /// Whether `host:port` accepts a TCP connection now (names resolved afresh each time).
    static func canConnect(host: String, port: UInt16) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { return false }
        defer { freeaddrinfo(first) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if fd >= 0 {
                // Bounds connect(2) on Linux: an address that drops SYNs would otherwise hold it for minutes.
                var limit = timeval(tv_sec: 5, tv_usec: 0)
                _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
                let connected = connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0
                close(fd)
                if connected { return true }
            }
            entry = info.pointee.ai_next
        }
        return false
    }
}
