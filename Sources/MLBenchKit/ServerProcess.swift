import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A server started for a benchmark: spawned in its own process group (so gunicorn's workers,
/// or anything else it forks, can be signalled together), stdout and stderr to a log file, and
/// stopped with SIGTERM to the group, then SIGKILL after a grace period. ``stop()`` is idempotent;
/// call it in a `defer` so a failing run never leaves a server behind.
final class ServerProcess {
    let pid: pid_t
    let name: String
    let logPath: String
    private var exitStatus: Int32?
    private var stopped = false

    /// Starts `executable` (an absolute path) with `arguments`, the current environment plus `environment`.
    init(name: String, executable: String, arguments: [String], environment: [String: String] = [:], logPath: String) throws(BenchmarkError) {
        self.name = name
        self.logPath = logPath
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw .setupFailed(workload: name, detail: "\(executable) is not an executable file")
        }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let argv = ([executable] + arguments).map { strdup($0) }
        let envp = env.map { strdup("\($0.key)=\($0.value)") }
        defer { (argv + envp).forEach { free($0) } }

        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        var child: pid_t = 0
        let status = (argv + [nil]).withUnsafeBufferPointer { a in
            (envp + [nil]).withUnsafeBufferPointer { e in
                posix_spawn(&child, executable, &actions, &attributes, a.baseAddress!, e.baseAddress!)  // never empty: they end in nil
            }
        }
        guard status == 0 else {
            throw .setupFailed(workload: name, detail: "could not start \(executable): \(String(cString: strerror(status)))")
        }
        pid = child
    }

    deinit { stop() }

    /// Whether the process is still running (reaps it when it has exited).
    var isRunning: Bool {
        guard exitStatus == nil else { return false }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid || r < 0 { exitStatus = status; return false }
        return true
    }

    /// The last lines of the log, for error messages.
    func logTail(lines: Int = 12) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// SIGTERM to the group, up to `grace` seconds for its leader to exit, then SIGKILL to the
    /// group (workers may outlive their master). Only the first call signals anything: after
    /// that the group is gone and its id could in principle belong to someone else.
    func stop(grace: Double = 5) {
        guard !stopped else { return }
        stopped = true
        if exitStatus == nil { killpg(pid, SIGTERM) }
        let deadline = MonotonicClock.now() + grace
        while isRunning && MonotonicClock.now() < deadline { usleep(20_000) }
        killpg(pid, SIGKILL)
        if isRunning {
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            exitStatus = status
        }
    }
}

/// A TCP port on 127.0.0.1 nobody listens on right now (the kernel's choice for port 0).
func freeLoopbackPort() throws(BenchmarkError) -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw .setupFailed(workload: "serve", detail: "socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
            bind(fd, p, length) == 0 && getsockname(fd, p, &length) == 0
        }
    }
    guard ok else { throw .setupFailed(workload: "serve", detail: "no free port: \(String(cString: strerror(errno)))") }
    return UInt16(bigEndian: address.sin_port)
}
