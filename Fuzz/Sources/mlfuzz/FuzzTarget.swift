import Foundation

/// One untrusted input and the code that reads it.
///
/// `run` feeds one fuzzer input to the parser; every outcome but a crash, a hang or a runaway
/// allocation is fine (errors are the expected answer to garbage). `seeds` are small valid (and a
/// few invalid) inputs in the same layout, written to `Fuzz/seeds/<name>/` by `--write-seeds`.
struct FuzzTarget: Sendable {
    var name: String
    /// What the input is, for `--list` and docs/reliability.md.
    var summary: String
    /// The largest input worth trying (libFuzzer's `-max_len`).
    var maxLength: Int
    var run: @Sendable ([UInt8]) -> Void
    var seeds: @Sendable () throws -> [(name: String, bytes: [UInt8])]
}

/// Every target, by name.
let allTargets: [FuzzTarget] = dataTargets + configurationTargets + invocationTargets + modelTargets + imageTargets

/// The repository root: the harness runs from it (scripts/fuzz.sh), and seeds copy its fixtures.
let repositoryRoot = FileManager.default.currentDirectoryPath

/// The bytes of `path`, relative to the repository root unless absolute.
func fixture(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path.hasPrefix("/") ? path : repositoryRoot + "/" + path)))
}

/// Files the readers that only take paths read. One directory per process, the same names every
/// run: libFuzzer runs inputs one after another, so nothing is shared.
enum Scratch {
    static let directory: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let path = "\(base)/mlfuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// Writes `bytes` to `name` in the scratch directory and returns its path.
    @discardableResult
    static func write(_ bytes: some Collection<UInt8>, to name: String) -> String {
        let path = directory + "/" + name
        // A harness failure, not a finding: the fuzzer must not go on with a stale file.
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { fatalError("cannot write \(path)") }
        return path
    }

    /// A fresh, empty subdirectory (a model directory).
    static func emptyDirectory(_ name: String) -> String {
        let path = directory + "/" + name
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

extension Array where Element == UInt8 {
    /// The parts of `self` separated by `separator` (at most `limit` parts; the last keeps the rest).
    func split(separator: [UInt8], limit: Int) -> [ArraySlice<UInt8>] {
        var parts: [ArraySlice<UInt8>] = []
        var start = startIndex, i = startIndex
        while i + separator.count <= endIndex && parts.count < limit - 1 {
            if self[i..<(i + separator.count)].elementsEqual(separator) {
                parts.append(self[start..<i])
                i += separator.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(self[start..<endIndex])
        return parts
    }
}

/// `text` as bytes.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
