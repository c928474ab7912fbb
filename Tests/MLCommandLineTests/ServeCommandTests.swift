import Dispatch
import Foundation
import Testing
@testable import MLCommandLine

/// Runs `mlc arguments` on a Dispatch thread: `mlc serve` blocks its thread until the server
/// stops, and must not hold one of Swift concurrency's few threads while it does.
private func mlcOffThePool(_ arguments: [String]) async -> Run {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: mlc(arguments)) }
    }
}

@Suite("mlc serve")
struct ServeCommandTests {
    @Test("--help describes the command and exits 0")
    func help() {
        let run = mlc(["serve", "--help"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("--port") && run.stdout.contains("SAGEMAKER_BIND_TO_PORT") && run.stdout.contains("/ping"))
    }

    @Test("mlc help lists serve")
    func listed() {
        #expect(mlc(["--help"]).stdout.contains("serve"))
    }

    @Test("a missing model directory is a ClientError and status 1, before any port is bound")
    func missingModelDirectory() async throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        let run = await mlcOffThePool(["serve", "--algorithm", "linear-learner", "--root", root.path, "--port", "0", "--host", "127.0.0.1"])
        #expect(run.status == 1)
        #expect(run.stderr.hasPrefix("ClientError: the model directory \(root.path)/model does not exist"))
    }

    @Test("a model that does not load is a ClientError and status 1, not a crash")
    func modelDoesNotLoad() async throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        try FileManager.default.createDirectory(atPath: root.file("model"), withIntermediateDirectories: true)
        let run = await mlcOffThePool(["serve", "--algorithm", "linear-learner", "--root", root.path, "--port", "0", "--host", "127.0.0.1"])
        #expect(run.status == 1)
        #expect(run.stderr.hasPrefix("ClientError: "))
    }

    @Test("bad options are refused with the rule")
    func badOptions() {
        let port = mlc(["serve", "--port", "70000"])
        #expect(port.status == 1 && port.stderr.contains("--port must be in 0...65535"))
        let workers = mlc(["serve", "--workers", "0"])
        #expect(workers.status == 1 && workers.stderr.contains("--workers must be at least 1"))
        let algorithm = mlc(["serve", "--algorithm", "nope"])
        #expect(algorithm.status == 1)
    }

    @Test("no algorithm chosen is a ClientError listing the known ones")
    func noAlgorithm() throws {
        let command = try #require(try MLCCommand.parseAsRoot(["serve"]) as? ServeCommand)
        let err = TextBuffer()
        let console = Console(standardOutput: { _ in }, standardError: { err.append($0) })
        let status = ServeRun(command: command, console: console, handlesSignals: false, environment: [:]).run()
        #expect(status == 1)
        #expect(err.text.hasPrefix("ClientError: no known algorithm chosen") && err.text.contains("linear-learner"))
    }

    @Test("a malformed SAGEMAKER_BIND_TO_PORT is a ClientError naming it")
    func badEnvironment() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        let command = try #require(try MLCCommand.parseAsRoot(["serve", "--root", root.path]) as? ServeCommand)
        let err = TextBuffer()
        let console = Console(standardOutput: { _ in }, standardError: { err.append($0) })
        let status = ServeRun(command: command, console: console, handlesSignals: false,
                              environment: ["MLC_ALGORITHM": "linear-learner", "SAGEMAKER_BIND_TO_PORT": "http"]).run()
        #expect(status == 1)
        #expect(err.text.contains("SAGEMAKER_BIND_TO_PORT = 'http'"))
    }
}
