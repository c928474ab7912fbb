import Foundation
import MLBenchKit
import Testing

@Suite("BenchmarkResult JSON lines")
struct BenchmarkResultTests {
    let sample = BenchmarkResult(
        suite: "gemm", workload: "sgemm_64x64x64", impl: "openblas-c", version: "OpenBLAS 0.3.21 \"quoted\"\\",
        threads: 2, medianSeconds: 0.125, minSeconds: 1e-05, maxSeconds: 3, runs: 5, peakRSSMegabytes: 12.5,
        metrics: ["gflops": 98.5, "calls_per_s": 40_000, "auc": 0.75])

    @Test func everyKeyPresentInOrder() throws {
        let line = sample.jsonLine
        #expect(!line.contains("\n"))
        let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(Set(object.keys) == Set(BenchmarkResult.jsonKeys))
        #expect(BenchmarkResult.jsonKeys == [
            "suite", "workload", "impl", "version", "threads", "median_s", "min_s", "max_s", "runs",
            "peak_rss_mb", "metrics",
        ])
        // Keys appear in the documented order.
        let offsets = BenchmarkResult.jsonKeys.map { key in line.range(of: "\"\(key)\":")?.lowerBound }
        let found = offsets.compactMap { $0 }
        #expect(found.count == offsets.count)
        #expect(found == found.sorted())
        // Numbers are JSON numbers, metrics an object of numbers.
        #expect(object["threads"] as? Int == 2)
        #expect(object["runs"] as? Int == 5)
        #expect((object["median_s"] as? NSNumber)?.doubleValue == 0.125)
        #expect((object["min_s"] as? NSNumber)?.doubleValue == 1e-05)
        let metrics = try #require(object["metrics"] as? [String: Any])
        #expect((metrics["gflops"] as? NSNumber)?.doubleValue == 98.5)
        #expect(metrics.count == 3)
    }

    @Test func decodesBackToTheSameValue() throws {
        let decoded = try JSONDecoder().decode(BenchmarkResult.self, from: Data(sample.jsonLine.utf8))
        #expect(decoded == sample)
    }

    @Test func metricKeysAreSortedAndNonFiniteValuesLeftOut() throws {
        var result = sample
        result.metrics = ["zeta": 1, "alpha": 2, "nan": .nan, "inf": .infinity]
        let line = result.jsonLine
        #expect(line.hasSuffix(#""metrics":{"alpha":2.0,"zeta":1.0}}"#))
        let decoded = try JSONDecoder().decode(BenchmarkResult.self, from: Data(line.utf8))
        #expect(decoded.metrics == ["alpha": 2, "zeta": 1])
    }

    @Test func stringsAreEscaped() throws {
        var result = sample
        result.workload = "tab\there\nnew \u{1} line"
        let decoded = try JSONDecoder().decode(BenchmarkResult.self, from: Data(result.jsonLine.utf8))
        #expect(decoded.workload == result.workload)
        #expect(decoded.version == sample.version)
    }

    @Test func aLineWithAMissingKeyIsRejected() throws {
        for key in BenchmarkResult.jsonKeys {
            var object = try #require(JSONSerialization.jsonObject(with: Data(sample.jsonLine.utf8)) as? [String: Any])
            object[key] = nil
            let data = try JSONSerialization.data(withJSONObject: object)
            #expect(throws: DecodingError.self, "without \(key)") {
                try JSONDecoder().decode(BenchmarkResult.self, from: data)
            }
        }
    }
}
