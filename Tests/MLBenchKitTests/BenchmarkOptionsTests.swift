import Foundation
import MLBenchKit
import MLCore
import Testing

@Suite("Options and registry")
struct BenchmarkOptionsTests {
    @Test func defaults() throws {
        let options = BenchmarkOptions()
        #expect(options.threads == ComputeContext.defaultThreadCount())
        #expect(options.repeat == 5)
        #expect(options.warmup == 1)
        #expect(!options.peers && !options.json)
        #expect(options.dataDirectory.lastPathComponent == ".mlbench-data")
        try options.validate()
    }

    @Test(arguments: [
        (BenchmarkOptions(threads: 0), "threads"),
        (BenchmarkOptions(threads: -3), "threads"),
        (BenchmarkOptions(threads: 1025), "threads"),
        (BenchmarkOptions(threads: 1, repeat: 0), "repeat"),
        (BenchmarkOptions(threads: 1, repeat: 1001), "repeat"),
        (BenchmarkOptions(threads: 1, warmup: -1), "warmup"),
        (BenchmarkOptions(threads: 1, warmup: 101), "warmup"),
    ])
    func outOfRangeOptionsAreNamed(options: BenchmarkOptions, name: String) {
        do {
            try options.validate()
            Issue.record("accepted bad --\(name)")
        } catch {
            guard case let .invalidOption(got, _, _) = error else { Issue.record("\(error)"); return }
            #expect(got == name)
            #expect(error.description.contains("--\(name)"))
        }
    }

    @Test func edgesOfTheRangesAreAccepted() throws {
        try BenchmarkOptions(threads: 1, repeat: 1, warmup: 0).validate()
        try BenchmarkOptions(threads: BenchmarkOptions.maximumThreads, repeat: 1000, warmup: 100).validate()
    }

    @Test func registryFindsSuitesByName() throws {
        #expect(BenchmarkRegistry.names.contains("gemm"))
        #expect(Set(BenchmarkRegistry.names).count == BenchmarkRegistry.names.count)
        #expect(try BenchmarkRegistry.suite(named: "gemm").name == "gemm")
        do {
            _ = try BenchmarkRegistry.suite(named: "nope")
            Issue.record("found a suite called nope")
        } catch {
            guard case let .unknownSuite(name, available) = error else { Issue.record("\(error)"); return }
            #expect(name == "nope" && available == BenchmarkRegistry.names)
        }
    }
}

@Suite("Report")
struct BenchmarkReportTests {
    func result(_ workload: String, _ impl: String, median: Double, metrics: [String: Double]) -> BenchmarkResult {
        BenchmarkResult(
            suite: "gemm", workload: workload, impl: impl, version: "v", threads: 2, medianSeconds: median,
            minSeconds: median, maxSeconds: median, runs: 3, peakRSSMegabytes: 1, metrics: metrics)
    }

    @Test func ratioIsMlcoreOverPeerOfTheKeyMetricElseOfTime() throws {
        let report = BenchmarkReport(
            suite: "gemm", summary: "s",
            results: [
                result("small", "mlcore", median: 1, metrics: ["calls_per_s": 90]),
                result("small", "openblas-c", median: 1, metrics: ["calls_per_s": 100]),
                result("fit", "mlcore", median: 2, metrics: [:]),
                result("fit", "scikit-learn", median: 8, metrics: [:]),
            ],
            peerFailures: [], keyMetrics: ["calls_per_s", "calls_per_s", nil, nil])
        #expect(report.ratio(at: 0) == nil)
        let small = try #require(report.ratio(at: 1))
        #expect(small.value == 0.9 && small.of == "calls_per_s")
        let fit = try #require(report.ratio(at: 3))
        #expect(fit.value == 0.25 && fit.of == "time")
        let table = report.table
        #expect(table.contains("0.900× calls_per_s"))
        #expect(table.contains("0.250× time"))
        #expect(report.jsonLines.split(separator: "\n").count == 4)
    }
}
