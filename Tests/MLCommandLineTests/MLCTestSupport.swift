import Foundation
import MLCore
import Synchronization
@testable import MLCommandLine

/// The repository root (the tests train on the bundled `data/` sets).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// `data/<set>/<channel>.csv`.
func bundled(_ set: String, _ channel: String) -> String {
    repositoryRoot.appendingPathComponent("data/\(set)/\(channel).csv").path
}

/// What one `mlc` run printed, and its exit status.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String

    var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
}

/// Runs `mlc arguments` in process, capturing stdout and stderr.
func mlc(_ arguments: [String], cancellation: CancellationFlag = CancellationFlag(), errorIsTerminal: Bool = false) -> Run {
    let out = TextBuffer(), err = TextBuffer()
    let console = Console(standardOutput: { out.append($0) }, standardError: { err.append($0) }, errorIsTerminal: errorIsTerminal)
    let status = MLC.run(arguments: arguments, console: console, cancellation: cancellation)
    return Run(status: status, stdout: out.text, stderr: err.text)
}

/// Text written from any thread.
final class TextBuffer: Sendable {
    private let storage = Mutex("")

    func append(_ text: String) { storage.withLock { $0 += text } }

    var text: String { storage.withLock { $0 } }
}

/// A fresh directory under the system's temporary directory, removed by ``remove()``.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("mlc-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The first capture of `regex` in each line that matches it.
func captures(_ lines: [String], _ regex: Regex<(Substring, Substring)>) -> [String] {
    lines.compactMap { line in line.wholeMatch(of: regex).map { String($0.1) } }
}
