import Foundation
import MLTestSupport
import MLAlgorithms
import MLCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real `mlc serve` executable on a trained model: it answers with the library's numbers and
/// a real SIGTERM ends it with status 0 within seconds.
@Suite("mlc serve under a real signal", .serialized)
struct ServeProcessTests {
    @Test("serves the trained model on the port it logs; SIGTERM exits 0 within seconds")
    func serveAndStop() throws {
        let root = try trainingTree()
        defer { root.remove() }
        let trained = mlc(["train", "--algorithm", "linear-learner", "--root", root.path, "--workers", "2"])
        #expect(trained.status == 0, "\(trained.stderr)")

        let p = Process()
        p.executableURL = URL(fileURLWithPath: try builtProduct("mlc"))
        p.arguments = ["serve", "--root", root.path, "--port", "0", "--host", "127.0.0.1"]
        var environment = ProcessInfo.processInfo.environment
        environment["MLC_ALGORITHM"] = "linear-learner"  // as the image sets it
        p.environment = environment
        let log = root.path + "/serve.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: log)
        p.standardError = FileHandle(forWritingAtPath: log)
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }

        // The start-up lines name the port, then say the model is loaded.
        var port: Int?
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && p.isRunning {
            let text = String(decoding: contents(log), as: UTF8.self)
            if text.contains("model loaded"), let match = text.firstMatch(of: /on 127\.0\.0\.1:(\d+)/) {
                port = Int(match.1)
                break
            }
            usleep(20_000)
        }
        let started = try #require(port, "no port in the log: \(String(decoding: contents(log), as: UTF8.self))")

        let row = "1,2,3"
        let csv = try CSVReader.readAll(files: [bundled("breast-cancer", "validation")], options: CSVOptions())
        guard case .dense(let x) = csv.features else { Issue.record("dense"); return }
        let first = x.row(0).map { "\($0)" }.joined(separator: ",")
        let answer = try runTool("curl", ["-s", "-H", "Content-Type: text/csv", "--data-binary", first, "http://127.0.0.1:\(started)/invocations"])
        let model = try LinearModel.load(from: root.path + "/model")
        let p0 = try model.predict(x.rows(0..<1))[0]
        #expect(answer.stdout == "{\"predictions\": [{\"score\": \(p0.score[0]), \"predicted_label\": \(Int(p0.predictedLabel ?? -1))}]}",
                "\(answer.stdout) \(answer.stderr)")
        let short = try runTool("curl", ["-s", "-w", " %{http_code}", "-H", "Content-Type: text/csv", "--data-binary", row,
                                         "http://127.0.0.1:\(started)/invocations"])
        #expect(short.stdout.hasSuffix(" 400") && short.stdout.contains("has 3 columns but the model takes 30"), "\(short.stdout)")

        let signalled = Date()
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        let seconds = Date().timeIntervalSince(signalled)
        #expect(p.terminationReason == .exit && p.terminationStatus == 0, "\(String(decoding: contents(log), as: UTF8.self))")
        #expect(seconds < 10, "took \(seconds) s to stop")
    }
}
