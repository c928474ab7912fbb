import Foundation

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
