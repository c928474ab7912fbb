import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a finished child process printed, and its exit status.
public typealias ProcessOutput = (status: Int32, stdout: String, stderr: String)

/// Runs `executable arguments` to completion and captures its output (blocking: call it off the
/// Swift concurrency pool when a server in the same process must keep answering).
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> ProcessOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read before waiting: a full pipe would block the child.
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

/// Runs a tool found on PATH (or /usr/bin, /bin) and captures its output.
public func runTool(_ name: String, _ arguments: [String]) throws -> ProcessOutput {
    let path = ((ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/bin", "/bin"])
        .map { $0 + "/" + name }
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let path else { throw ToolNotFound(name: name) }
    return try runProcess(path, arguments)
}

public struct ToolNotFound: Error, CustomStringConvertible {
    public var name: String
    public init(name: String) { self.name = name }
    public var description: String { "'\(name)' is not on PATH" }
}

/// Runs `/bin/sh -c script` in the background (a FIFO writer, a data generator).
public func shell(_ script: String) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", script]
    try p.run()
    return p
}

/// An executable product built beside the running tests: `swift test` builds every product into
/// the directory that holds the test runner (`.build/release`, any `--scratch-path`), so look
/// there and a few levels up. (MLCommandLineTests has the same search as `builtProduct`.)
public func builtExecutable(_ name: String) throws -> String {
    var directories: [URL] = []
    if let first = CommandLine.arguments.first { directories.append(URL(fileURLWithPath: first).deletingLastPathComponent()) }
    if let executable = Bundle.main.executableURL { directories.append(executable.deletingLastPathComponent()) }
    directories.append(URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent())
    var looked: [String] = []
    for start in directories {
        var directory = start.resolvingSymlinksInPath()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(name).path
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
               FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
            looked.append(candidate)
            directory = directory.deletingLastPathComponent()
        }
    }
    throw ToolNotFound(name: name + " (built product; looked in " + looked.joined(separator: ", ") + ")")
}

/// The path of `name` on PATH (or in /usr/bin, /bin), or nil.
public func toolPath(_ name: String) -> String? {
    ((ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/bin", "/bin"])
        .map { $0 + "/" + name }
        .first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// What a bounded child process did: its status (nil when it was still running at the deadline
/// and was killed), its output and how long it ran.
public struct BoundedRun: Sendable {
    public var status: Int32?
    public var stdout: String
    public var stderr: String
    public var seconds: Double
}

/// Runs `executable arguments` with its output in files, killing it (SIGKILL to its process
/// group's leader) if it is still running after `seconds`: a test of something that might hang
/// fails instead of hanging.
public func runBounded(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                       seconds: Double) throws -> BoundedRun {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bounded-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let outPath = directory.appendingPathComponent("stdout").path, errPath = directory.appendingPathComponent("stderr").path
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    process.standardOutput = FileHandle(forWritingAtPath: outPath)
    process.standardError = FileHandle(forWritingAtPath: errPath)
    let start = Date()
    try process.run()
    let deadline = start.addingTimeInterval(seconds)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    var status: Int32?
    if process.isRunning {
        process.terminate()
        let grace = Date().addingTimeInterval(5)
        while process.isRunning && Date() < grace { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    } else {
        process.waitUntilExit()
        status = process.terminationStatus
    }
    let elapsed = Date().timeIntervalSince(start)
    func read(_ path: String) -> String { String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data(), as: UTF8.self) }
    return BoundedRun(status: status, stdout: read(outPath), stderr: read(errPath), seconds: elapsed)
}
