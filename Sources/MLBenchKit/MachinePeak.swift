import Foundation
import MLCore

/// Yardsticks for "share of the machine": one thread's SGEMM rate and the memory read rate.
public enum MachinePeak {
    /// One thread's SGEMM rate on a 1024³ product, GFLOP/s (best of 3), checked.
    public static func singleThreadSGEMM(workload: String) throws -> Double {
        _ = BLASThreads.apply(.singleThreaded)
        let n = 1024
        let a = Matrix<Float>(rows: n, columns: n, repeating: 0.5)
        var c = Matrix<Float>(rows: n, columns: n)
        var best = Double.infinity
        for _ in 0..<3 {
            let t0 = MonotonicClock.now()
            try BLAS.gemm(a, a, into: &c)
            best = min(best, MonotonicClock.now() - t0)
        }
        guard c[0, 0] == Float(n) * 0.25 else {
            throw BenchmarkError.wrongResult(workload: workload, detail: "peak sgemm computed \(c[0, 0])")
        }
        return 2 * Double(n * n * n) / best / 1e9
    }

    /// GB/s of reading `x` once with `threads` threads (best of 3): 1 MiB blocks summed with
    /// independent SIMD accumulators, so the loop is bound by memory, not by an add chain.
    public static func readBandwidth(_ x: UnsafeBufferPointer<Float>, threads: Int) -> Double {
        guard let base = x.baseAddress, x.count >= 16 else { return .nan }
        let p = SharedPointer(base)
        var best = Double.infinity
        for _ in 0..<3 {
            let t0 = MonotonicClock.now()
            let total = DeterministicReduction.reduce(count: x.count, blockSize: 1 << 18, threads: threads, identity: Float(0), map: { range in
                var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
                var i = range.lowerBound
                while i + 32 <= range.upperBound {
                    a0 += UnsafeRawPointer(p.base + i).loadUnaligned(as: SIMD16<Float>.self)
                    a1 += UnsafeRawPointer(p.base + i + 16).loadUnaligned(as: SIMD16<Float>.self)
                    i += 32
                }
                var t = (a0 + a1).sum()
                while i < range.upperBound { t += p[i]; i += 1 }
                return t
            }, combine: +)
            best = min(best, MonotonicClock.now() - t0)
            if total.isNaN { return .nan }
        }
        return Double(x.count * 4) / best / 1e9
    }
}
