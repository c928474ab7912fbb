import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a peer produced no result. Reported as an error line; the suite's own results still print.
public enum PeerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No `Benchmarks/peers` folder in the current directory or above it.
    case peersDirectoryNotFound(searchedFrom: String)
    /// The committed script or source is not there.
    case peerNotFound(path: String)
    /// The Python interpreter does not exist.
    case interpreterMissing(path: String)
    /// The C program did not compile (or `pkg-config openblas` failed).
    case buildFailed(source: String, command: String, output: String)
    /// The peer ran and failed.
    case failed(peer: String, status: String, output: String)
    /// The peer succeeded but printed no usable JSON line.
    case badOutput(peer: String, detail: String)

    public var description: String {
        switch self {
        case let .peersDirectoryNotFound(start):
            return "no Benchmarks/peers folder in \(start) or above it; run mlbench from the repository (or set MLBENCH_PEERS_DIR)"
        case let .peerNotFound(path):
            return "\(path) does not exist"
        case let .interpreterMissing(path):
            return "Python interpreter \(path) not found; run scripts/setup.sh to create .venv, or set MLBENCH_PYTHON"
        case let .buildFailed(source, command, output):
            return "could not build \(source): \(command)\n\(output)"
        case let .failed(peer, status, output):
            return "\(peer) failed (\(status))" + (output.isEmpty ? "" : ":\n\(output)")
        case let .badOutput(peer, detail):
            return "\(peer) printed no usable result: \(detail)"
        }
    }
}

/// Runs the committed peer programs under `Benchmarks/peers/` and reads their JSON lines.
///
/// A peer prints one ``BenchmarkResult`` JSON line per workload on stdout (other lines are
/// ignored) and exits 0. Every peer runs with `OMP_NUM_THREADS`, `OPENBLAS_NUM_THREADS` and
/// `MKL_NUM_THREADS` set to ``threads``, and is also given the thread count in its arguments by
/// the suite. Python peers run under ``python``; C peers are compiled once with
/// `cc -O2 … $(pkg-config --cflags --libs openblas)` into ``binaryDirectory`` and rebuilt when
/// the source is newer than the binary.
public struct PeerRunner: Sendable {
    /// `Benchmarks/peers`, or `nil` when it could not be found (every run then fails clearly).
    public var peersDirectory: URL?
    /// Where the search for `Benchmarks/peers` started, for the error message.
    public var searchedFrom: String
    /// The interpreter for `.py` peers: `MLBENCH_PYTHON`, else `.venv/bin/python` at the repository root.
    public var python: String
    /// Where compiled C peers go: `<data directory>/bin`.
    public var binaryDirectory: URL
    /// Threads the peer may use.
    public var threads: Int
    /// The C compiler: `CC`, else `cc`.
    public var compiler: String

    public init(peersDirectory: URL?, searchedFrom: String = "", python: String, binaryDirectory: URL, threads: Int, compiler: String = "cc") {
        self.peersDirectory = peersDirectory
        self.searchedFrom = searchedFrom
        self.python = python
        self.binaryDirectory = binaryDirectory
        self.threads = threads
        self.compiler = compiler
    }

    /// The runner `mlbench` uses: peers found from the current directory upward (or
    /// `MLBENCH_PEERS_DIR`), Python from `MLBENCH_PYTHON` or the repository's `.venv`.
    public static func standard(
        options: BenchmarkOptions, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> PeerRunner {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let peers: URL? =
            if let dir = environment["MLBENCH_PEERS_DIR"], !dir.isEmpty { URL(fileURLWithPath: dir) }
            else { findPeersDirectory(from: cwd) }
        let root = peers?.deletingLastPathComponent().deletingLastPathComponent() ?? cwd
        let python = environment["MLBENCH_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
            ?? root.appendingPathComponent(".venv/bin/python").path
        let cc = environment["CC"].flatMap { $0.isEmpty ? nil : $0 } ?? "cc"
        return PeerRunner(
            peersDirectory: peers, searchedFrom: cwd.path, python: python,
            binaryDirectory: options.dataDirectory.appendingPathComponent("bin"), threads: options.threads,
            compiler: cc)
    }

    /// `<dir>/Benchmarks/peers` for the nearest `dir` at or above `start` that has one.
    static func findPeersDirectory(from start: URL) -> URL? {
        var dir = start.standardizedFileURL
        while true {
            let candidate = dir.appendingPathComponent("Benchmarks/peers")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), isDirectory.boolValue {
                return candidate
            }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { return nil }
            dir = parent
        }
    }

    /// The environment peers run with: ours, with the thread variables set to ``threads``.
    var peerEnvironment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        for name in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"] { env[name] = String(threads) }
        return env
    }

    func locate(_ relativePath: String) throws(PeerError) -> URL {
        guard let peersDirectory else { throw .peersDirectoryNotFound(searchedFrom: searchedFrom) }
        let url = peersDirectory.appendingPathComponent(relativePath)
        guard FileManager.default.fileExists(atPath: url.path) else { throw .peerNotFound(path: url.path) }
        return url
    }

    /// Runs `Benchmarks/peers/<relativePath>` under ``python`` with `arguments` and returns the
    /// results it printed.
    public func runScript(_ relativePath: String, arguments: [String]) throws(PeerError) -> [BenchmarkResult] {
        let script = try locate(relativePath)
        guard FileManager.default.isExecutableFile(atPath: python) else { throw .interpreterMissing(path: python) }
        return try run(peer: relativePath, executable: python, arguments: [script.path] + arguments)
    }

    /// Builds (if needed) and runs the C program `Benchmarks/peers/<relativePath>` with `arguments`.
    public func runC(_ relativePath: String, arguments: [String]) throws(PeerError) -> [BenchmarkResult] {
        let binary = try buildC(relativePath)
        return try run(peer: relativePath, executable: binary.path, arguments: arguments)
    }

    /// Compiles `Benchmarks/peers/<relativePath>` (e.g. `gemm/small_calls.c`) to
    /// ``binaryDirectory``/`gemm_small_calls`, unless that binary is newer than the source.
    public func buildC(_ relativePath: String) throws(PeerError) -> URL {
        let source = try locate(relativePath)
        let fm = FileManager.default
        let stem = relativePath.hasSuffix(".c") ? String(relativePath.dropLast(2)) : relativePath
        let name = stem.replacingOccurrences(of: "/", with: "_")
        let binary = binaryDirectory.appendingPathComponent(name)
        if let built = modificationDate(binary), let edited = modificationDate(source), built >= edited,
           fm.isExecutableFile(atPath: binary.path) {
            return binary
        }
        do {
            try fm.createDirectory(at: binaryDirectory, withIntermediateDirectories: true)
        } catch {
            throw .buildFailed(source: relativePath, command: "mkdir -p \(binaryDirectory.path)", output: "\(error)")
        }
        let pkgCommand = "pkg-config --cflags --libs openblas"
        let flags: [String]
        do {
            let pkg = try Subprocess.run("pkg-config", ["--cflags", "--libs", "openblas"])
            guard pkg.succeeded else {
                throw PeerError.buildFailed(
                    source: relativePath, command: pkgCommand,
                    output: pkg.tail + "\n(install libopenblas-dev and pkg-config: scripts/setup.sh)")
            }
            flags = pkg.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        } catch let error as PeerError {
            throw error
        } catch {
            throw .buildFailed(source: relativePath, command: pkgCommand, output: "\(error)")
        }
        // Build beside the target and rename, so a concurrent mlbench never runs half a binary.
        let temporary = binaryDirectory.appendingPathComponent("\(name).tmp-\(getpid())")
        let arguments = ["-O2", "-std=c11", "-o", temporary.path, source.path] + flags + ["-lm"]
        let command = ([compiler] + arguments).joined(separator: " ")
        do {
            let cc = try Subprocess.run(compiler, arguments)
            guard cc.succeeded else {
                try? fm.removeItem(at: temporary)
                let hint = cc.status == 127 ? "\n(\(compiler) not found: install a C compiler or set CC)" : ""
                throw PeerError.buildFailed(source: relativePath, command: command, output: cc.tail + hint)
            }
        } catch let error as PeerError {
            throw error
        } catch {
            throw .buildFailed(source: relativePath, command: command, output: "\(error)")
        }
        guard rename(temporary.path, binary.path) == 0 else {
            try? fm.removeItem(at: temporary)
            throw .buildFailed(source: relativePath, command: "rename to \(binary.path)", output: String(cString: strerror(errno)))
        }
        return binary
    }

    private func modificationDate(_ url: URL) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date
    }

    private func run(peer: String, executable: String, arguments: [String]) throws(PeerError) -> [BenchmarkResult] {
        let output: Subprocess.Output
        do {
            output = try Subprocess.run(executable, arguments, environment: peerEnvironment)
        } catch {
            throw .failed(peer: peer, status: "could not start \(executable)", output: "\(error)")
        }
        guard output.succeeded else {
            throw .failed(peer: peer, status: output.statusDescription, output: output.tail)
        }
        return try Self.parse(output.stdout, peer: peer)
    }

    /// The results in a peer's stdout: every line that starts with `{` must decode as a
    /// ``BenchmarkResult``; other lines are ignored; there must be at least one.
    public static func parse(_ stdout: String, peer: String) throws(PeerError) -> [BenchmarkResult] {
        var results: [BenchmarkResult] = []
        let decoder = JSONDecoder()
        for (number, line) in stdout.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("{") else { continue }
            do {
                results.append(try decoder.decode(BenchmarkResult.self, from: Data(trimmed.utf8)))
            } catch {
                throw .badOutput(peer: peer, detail: "line \(number + 1) is not a result line (\(Self.describe(error))): \(trimmed.prefix(200))")
            }
        }
        guard !results.isEmpty else {
            throw .badOutput(peer: peer, detail: "no JSON line on stdout (got \(stdout.count) characters)")
        }
        return results
    }

    /// A decoding error in a sentence ("missing key 'runs'") rather than Foundation's dump.
    private static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case let .keyNotFound(key, _): return "missing key '\(key.stringValue)'"
        case let .typeMismatch(_, context), let .valueNotFound(_, context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "wrong type at '\(path)'"
        case let .dataCorrupted(context): return context.debugDescription
        @unknown default: return "\(error)"
        }
    }
}
