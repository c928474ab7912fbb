import Foundation

/// Runs a program to completion and captures what it printed.
///
/// Output goes to temporary files rather than pipes, so a chatty child can never block on a full
/// pipe while we wait for it.
struct Subprocess {
    struct Output {
        /// The exit status, or the signal number when ``signaled``.
        var status: Int32
        var signaled: Bool
        var stdout: String
        var stderr: String
        var succeeded: Bool { !signaled && status == 0 }
        /// "exit status 2" or "killed by signal 9".
        var statusDescription: String { signaled ? "killed by signal \(status)" : "exit status \(status)" }
        /// The last lines of stderr (or stdout when stderr is empty), for error messages.
        var tail: String {
            let text = stderr.isEmpty ? stdout : stderr
            let lines = text.split(separator: "\n", omittingEmptySubsequences: true).suffix(8)
            return lines.joined(separator: "\n")
        }
    }

    /// Runs `executable` (a path, or a name looked up in `PATH` through `/usr/bin/env`).
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        currentDirectory: URL? = nil
    ) throws -> Output {
        let fm = FileManager.default
        let scratch = fm.temporaryDirectory.appendingPathComponent("mlbench-\(UUID().uuidString)")
        try fm.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout"), errURL = scratch.appendingPathComponent("stderr")
        _ = fm.createFile(atPath: outURL.path, contents: nil)
        _ = fm.createFile(atPath: errURL.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: outURL), errHandle = try FileHandle(forWritingTo: errURL)
        defer { try? outHandle.close(); try? errHandle.close() }

        let process = Process()
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        process.waitUntilExit()
        let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        return Output(
            status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
            stdout: stdout, stderr: stderr)
    }
}
