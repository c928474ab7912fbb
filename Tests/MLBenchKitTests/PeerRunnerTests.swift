import Foundation
import MLBenchKit
import MLCore
import Testing

/// A scratch `Benchmarks/peers` tree; shell scripts stand in for Python peers (the runner does
/// not care what the interpreter is).
struct PeerTree {
    let root: URL
    var peers: URL { root.appendingPathComponent("Benchmarks/peers") }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("mlbench-peer-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("Benchmarks/peers/fake"), withIntermediateDirectories: true)
    }

    func write(_ relativePath: String, _ text: String) throws {
        try text.write(to: peers.appendingPathComponent(relativePath), atomically: true, encoding: .utf8)
    }

    func runner(interpreter: String = "/bin/sh", threads: Int = 3) -> PeerRunner {
        PeerRunner(
            peersDirectory: peers, python: interpreter, binaryDirectory: root.appendingPathComponent("data/bin"),
            threads: threads, compiler: ProcessInfo.processInfo.environment["CC"] ?? "cc")
    }

    func remove() { try? FileManager.default.removeItem(at: root) }
}

/// A result line whose workload and threads come from the shell.
let fakeLine = #"{"suite":"fake","workload":"w-$1","impl":"fake-peer","version":"1.0","threads":$OPENBLAS_NUM_THREADS,"median_s":0.5,"min_s":0.4,"max_s":0.6,"runs":3,"peak_rss_mb":10,"metrics":{"x":1}}"#

let hasCCompiler = ["/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang"].contains { FileManager.default.isExecutableFile(atPath: $0) }
    || ProcessInfo.processInfo.environment["CC"] != nil

func expectPeerError(
    _ body: () throws(PeerError) -> [BenchmarkResult], sourceLocation: SourceLocation = #_sourceLocation,
    _ check: (PeerError) -> Bool
) {
    do {
        let results = try body()
        Issue.record("expected a PeerError, got \(results)", sourceLocation: sourceLocation)
    } catch {
        #expect(check(error), "\(error)", sourceLocation: sourceLocation)
    }
}

@Suite("Peer runner")
struct PeerRunnerTests {
    @Test func runsAScriptWithArgumentsAndThreadsAndParsesItsLines() throws {
        let tree = try PeerTree()
        defer { tree.remove() }
        try tree.write("fake/ok.sh", "echo 'loading data...'\ncat <<JSON\n\(fakeLine)\nJSON\necho \"args: $@\" >&2\n")
        let results = try tree.runner(threads: 3).runScript("fake/ok.sh", arguments: ["first", "second"])
        #expect(results.count == 1)
        #expect(results[0].workload == "w-first")
        #expect(results[0].threads == 3)
        #expect(results[0].impl == "fake-peer")
        #expect(results[0].metrics == ["x": 1])
    }

    @Test func aFailingScriptIsReportedWithItsStderr() throws {
        let tree = try PeerTree()
        defer { tree.remove() }
        try tree.write("fake/fail.sh", "echo 'Traceback: ModuleNotFoundError: pandas' >&2\nexit 3\n")
        expectPeerError({ () throws(PeerError) in try tree.runner().runScript("fake/fail.sh", arguments: []) }) { error in
            guard case let .failed(_, status, output) = error else { return false }
            return status == "exit status 3" && output.contains("ModuleNotFoundError") && error.description.contains("fake/fail.sh")
        }
    }

    @Test func outputWithoutAResultLineIsRejected() throws {
        let tree = try PeerTree()
        defer { tree.remove() }
        try tree.write("fake/silent.sh", "echo hello\n")
        try tree.write("fake/partial.sh", #"echo '{"suite":"fake","workload":"w"}'"# + "\n")
        expectPeerError({ () throws(PeerError) in try tree.runner().runScript("fake/silent.sh", arguments: []) }) { error in
            if case .badOutput = error { return true } else { return false }
        }
        expectPeerError({ () throws(PeerError) in try tree.runner().runScript("fake/partial.sh", arguments: []) }) { error in
            if case let .badOutput(_, detail) = error { return detail.contains("missing key") } else { return false }
        }
    }

    @Test func missingInterpreterScriptOrFolderAreClearErrors() throws {
        let tree = try PeerTree()
        defer { tree.remove() }
        try tree.write("fake/ok.sh", "cat <<JSON\n\(fakeLine)\nJSON\n")
        expectPeerError({ () throws(PeerError) in
            try tree.runner(interpreter: tree.root.appendingPathComponent(".venv/bin/python").path).runScript("fake/ok.sh", arguments: [])
        }) { error in
            if case .interpreterMissing = error { return error.description.contains("MLBENCH_PYTHON") } else { return false }
        }
        expectPeerError({ () throws(PeerError) in try tree.runner().runScript("fake/absent.py", arguments: []) }) { error in
            if case .peerNotFound = error { return true } else { return false }
        }
        let lost = PeerRunner(peersDirectory: nil, searchedFrom: "/nowhere", python: "/bin/sh", binaryDirectory: tree.root, threads: 1)
        expectPeerError({ () throws(PeerError) in try lost.runScript("fake/ok.sh", arguments: []) }) { error in
            if case .peersDirectoryNotFound("/nowhere") = error { return true } else { return false }
        }
    }

    @Test func parseIgnoresOtherLinesAndNamesTheBadOne() throws {
        let line = BenchmarkResult(
            suite: "s", workload: "w", impl: "p", version: "1", threads: 1, medianSeconds: 1, minSeconds: 1,
            maxSeconds: 1, runs: 1, peakRSSMegabytes: 1
        ).jsonLine
        #expect(try PeerRunner.parse("warning: x\n\(line)\n\n\(line)\n", peer: "p").count == 2)
        expectPeerError({ () throws(PeerError) in try PeerRunner.parse("ok\n{not json\n", peer: "p") }) { error in
            if case let .badOutput(_, detail) = error { return detail.contains("line 2") } else { return false }
        }
    }

    @Test(.enabled(if: hasCCompiler, "needs a C compiler"))
    func buildsACProgramOnceAndRebuildsWhenTheSourceIsNewer() throws {
        let tree = try PeerTree()
        defer { tree.remove() }
        let source = """
            #include <stdio.h>
            #include <cblas.h>
            int main(int argc, char **argv) {
                printf("{\\"suite\\":\\"fake\\",\\"workload\\":\\"%s\\",\\"impl\\":\\"c\\",\\"version\\":\\"%d\\",\\"threads\\":1,"
                       "\\"median_s\\":1,\\"min_s\\":1,\\"max_s\\":1,\\"runs\\":1,\\"peak_rss_mb\\":1,\\"metrics\\":{}}\\n",
                       argc > 1 ? argv[1] : "none", VERSION);
                return 0;
            }
            """
        try tree.write("fake/hello.c", "#define VERSION 1\n" + source)
        let runner = tree.runner()
        #expect(try runner.runC("fake/hello.c", arguments: ["w1"]).map(\.workload) == ["w1"])
        let binary = try runner.buildC("fake/hello.c")
        #expect(binary.lastPathComponent == "fake_hello")
        let builtAt = try FileManager.default.attributesOfItem(atPath: binary.path)[.modificationDate] as? Date

        // Not rebuilt while the binary is newer than the source.
        _ = try runner.buildC("fake/hello.c")
        #expect(try FileManager.default.attributesOfItem(atPath: binary.path)[.modificationDate] as? Date == builtAt)

        // A newer source is rebuilt.
        try tree.write("fake/hello.c", "#define VERSION 2\n" + source)
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(60)], ofItemAtPath: tree.peers.appendingPathComponent("fake/hello.c").path)
        #expect(try runner.runC("fake/hello.c", arguments: []).map(\.version) == ["2"])
    }

    @Test(.enabled(if: hasCCompiler, "needs a C compiler"))
    func aCompileErrorIsReported() throws {
        let tree = try PeerTree()
        defer { tree.remove() }
        try tree.write("fake/broken.c", "int main(void) { return nope; }\n")
        expectPeerError({ () throws(PeerError) in try tree.runner().runC("fake/broken.c", arguments: []) }) { error in
            if case let .buildFailed(source, _, output) = error { return source == "fake/broken.c" && output.contains("nope") } else { return false }
        }
    }
}
