import MLCore

/// `mlbench gemm`: the machine's GEMM peak, and what our BLAS wrappers cost on small calls.
///
/// Workloads (docs/mlbench.md "gemm"):
/// - `sgemm_<n>`, `dgemm_<n>` for n in ``sizes``: square `C = A·B` through `BLAS.gemm` with
///   OpenBLAS using all `--threads`; metric `gflops` = 2n³ / median time. `peak` carries the best
///   of each (`peak_sgemm`, `peak_dgemm`, and the sizes they were reached at); its timing fields
///   are those of the best sgemm size.
/// - `sgemm_64x64x64` and `sgemv_1000x100`: many back-to-back calls of the pointer-level
///   `BLAS.gemm` / `BLAS.gemv` per timed run; metrics `calls_per_s` (calls ÷ median run, the
///   one compared with the peer) and `calls_per_s_best` (calls ÷ fastest run). The peer `openblas-c`
///   (`Benchmarks/peers/gemm/small_calls.c`) makes the same cblas calls on the same data with
///   the same loop, call count, warm-up and OpenBLAS thread count (`--threads`); with `--peers`
///   our runs and the peer's alternate, one round per `--repeat`.
///
/// Every workload is checked (``GEMMCheck``) before it is timed, and its output checksum is
/// compared after timing, so the timed calls did the work and produced the checked result.
public struct GEMMSuite: BenchmarkSuite {
    public let name = "gemm"
    public let summary = "GEMM peak (sgemm/dgemm GFLOP/s, all threads) and small-call wrapper overhead vs C"

    /// Square sizes of the peak workloads.
    public var sizes = [256, 512, 1024, 2048, 4096]
    /// A workload whose `--repeat` runs would exceed this many seconds makes fewer runs (at
    /// least 3). On 2 cores at the default repeat (5) no workload reaches it: 4096² dgemm is
    /// about 1.4 s a call.
    public var budgetSeconds = 20.0
    /// Small-call sizes: `m = n = k` of the sgemm, rows × columns of the sgemv.
    public var smallGEMMSize = 64
    public var gemvRows = 1000
    public var gemvColumns = 100
    /// Each small-call timed run makes enough calls for about this long.
    public var secondsPerSmallCallRun = 0.2
    /// The first of the data streams (``BenchmarkData``).
    public var seed: UInt64 = 1

    public init() {}

    /// `peak_sgemm` for `peak`, else the default (`calls_per_s` for the small calls, `gflops`).
    public func keyMetric(for result: BenchmarkResult) -> String? {
        result.workload == "peak" ? "peak_sgemm" : defaultKeyMetrics.first { result.metrics[$0] != nil }
    }

    public func run(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        guard BLASThreads.apply(.multiThreaded(threads: context.threads)) else {
            throw BenchmarkError.setupFailed(workload: name, detail: "cannot set OpenBLAS threads inside a parallel region")
        }
        var results: [BenchmarkResult] = []
        var best: [String: BenchmarkResult] = [:]
        for (prefix, run) in [("sgemm", peak(Float.self)), ("dgemm", peak(Double.self))] {
            for n in sizes {
                let result = try run(n, context)
                results.append(result)
                if let gflops = result.metrics["gflops"], gflops > best[prefix]?.metrics["gflops"] ?? -1 {
                    best[prefix] = result
                }
            }
        }
        if let sgemm = best["sgemm"] {
            var metrics: [String: Double] = [:]
            for (prefix, result) in best {
                metrics["peak_\(prefix)"] = result.metrics["gflops"]
                metrics["peak_\(prefix)_n"] = result.metrics["n"]
            }
            results.append(BenchmarkResult(
                suite: name, workload: "peak", impl: "mlcore", version: context.version, threads: context.threads,
                medianSeconds: sgemm.medianSeconds, minSeconds: sgemm.minSeconds, maxSeconds: sgemm.maxSeconds,
                runs: sgemm.runs, peakRSSMegabytes: peakRSSMegabytes(), metrics: metrics))
        }
        results += try smallCalls(context)
        return results
    }

    /// The `sgemm_<n>` / `dgemm_<n>` workload for element type `T`.
    private func peak<T: BLASScalar>(_: T.Type) -> (Int, BenchmarkContext) throws -> BenchmarkResult {
        { n, context in
            let workload = (T.self == Float.self ? "sgemm_" : "dgemm_") + String(n)
            context.logger.info("\(workload): setting up")
            let a = try AlignedBuffer<T>(count: n * n, workload: workload)
            let b = try AlignedBuffer<T>(count: n * n, workload: workload)
            let c = try AlignedBuffer<T>(count: n * n, workload: workload)
            BenchmarkData.fill(a.pointer, seed: seed)
            BenchmarkData.fill(b.pointer, seed: seed + 1)
            func call() throws {
                try BLAS.gemm(m: n, n: n, k: n, alpha: 1, a: a.base, lda: n, b: b.base, ldb: n, beta: 0, c: c.base, ldc: n)
            }
            try call()
            try GEMMCheck.verify(workload: workload, m: n, n: n, k: n, a: a.base, lda: n, b: b.base, ldb: n, c: c.base, ldc: n)
            let checksum = BenchmarkData.checksum(c.readOnly)
            context.logger.info("\(workload): checked, timing")
            let timing = try context.measure(budgetSeconds: budgetSeconds, call)
            try Self.expectUnchanged(c.readOnly, checksum, workload)
            let flops = 2 * Double(n) * Double(n) * Double(n)
            return context.result(
                workload: workload, timing: timing, metrics: ["gflops": timing.rate(flops) / 1e9, "n": Double(n)])
        }
    }

    /// The output after timing must be the checked one: the timed calls did the same work.
    static func expectUnchanged<T: BinaryFloatingPoint>(
        _ output: UnsafeBufferPointer<T>, _ checksum: Double, _ workload: String
    ) throws(BenchmarkError) {
        let after = BenchmarkData.checksum(output)
        guard after == checksum else {
            throw .wrongResult(workload: workload, detail: "output changed while timing (checksum \(after), checked \(checksum))")
        }
    }
}
