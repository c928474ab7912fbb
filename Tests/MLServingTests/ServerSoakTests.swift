import Foundation
import MLTestSupport
import Testing

/// The short soak (docs/reliability.md "Server under load"): `mlbench soak` for 30 s against a
/// real `mlc serve` — valid traffic beside malformed, oversized, slow and abruptly closed
/// requests. The full run (several minutes) is `make test-long`.
@Suite("mlbench soak, 30 s: the server keeps answering under abuse", .serialized)
struct ServerSoakTests {
    @Test("every /ping within 2 s, no valid request lost, every abusive request answered as its kind allows, RSS flat")
    func shortSoak() throws {
        let mlbench = try builtExecutable("mlbench")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("soak-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        var environment = ProcessInfo.processInfo.environment
        environment["MLBENCH_SOAK_SECONDS"] = "30"
        // Other suites run beside this one on the same two cores: latency is the full soak's
        // business; here a request only has to be answered.
        environment["MLBENCH_SOAK_P99_MS"] = "1000"
        environment["MLBENCH_MLC"] = try builtExecutable("mlc")
        let run = try runBounded(mlbench, ["soak", "--json", "--data-dir", data, "--verbose"], environment: environment, seconds: 300)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr.suffix(4000))")
        var lines: [String: [String: Any]] = [:]
        for line in run.stdout.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let workload = object["workload"] as? String, let metrics = object["metrics"] as? [String: Any] else { continue }
            lines[workload] = metrics
        }
        func metric(_ workload: String, _ name: String) -> Double? { (lines[workload]?[name] as? NSNumber)?.doubleValue }
        #expect(metric("ping", "failures") == 0 && (metric("ping", "pings") ?? 0) > 50, "\(lines["ping"] ?? [:])")
        #expect((metric("ping", "max_ms") ?? .infinity) < 2000)
        #expect(metric("valid_1row", "errors") == 0 && (metric("valid_1row", "requests") ?? 0) > 10_000, "\(lines["valid_1row"] ?? [:])")
        #expect(metric("abuse", "unexpected") == 0 && (metric("abuse", "exchanges") ?? 0) > 50, "\(lines["abuse"] ?? [:])")
        for kind in ["deep_json_nesting_400", "csv_row_amplification_400", "wrong_content_type_415", "malformed_csv_400"] {
            #expect((metric("abuse", kind) ?? 0) >= 1, "\(kind): \(lines["abuse"] ?? [:])")
        }
        #expect((metric("rss", "rss_end_mb") ?? .infinity) < 1.25 * (metric("rss", "rss_baseline_mb") ?? 0) + 32, "\(lines["rss"] ?? [:])")
    }
}
