import MLCore

/// The check the gemm suite runs before timing: a sample of `C = A·B` entries (row-major,
/// no transposes) against a naive dot product in Double.
///
/// Entry (i, j) passes when `|c − ref| ≤ 8·√k·ε·Σₗ|aᵢₗ·bₗⱼ| + ε` with `ε` the element type's
/// machine epsilon: a few times the typical rounding error of a length-k dot product, far below
/// any real mistake (a skipped call, a transposed operand, a wrong stride). On ``BenchmarkData``
/// inputs the result is exact, so the slack is never needed there.
public enum GEMMCheck {
    /// Throws ``BenchmarkError/wrongResult(workload:detail:)`` naming the first bad entry.
    ///
    /// Checks the four corners and `samples` positions drawn deterministically.
    public static func verify<T: BLASScalar>(
        workload: String, m: Int, n: Int, k: Int,
        a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int, c: UnsafePointer<T>, ldc: Int,
        samples: Int = 256
    ) throws(BenchmarkError) {
        guard m > 0, n > 0 else { return }
        let eps = Double(T.ulpOfOne)
        let slack = 8 * Double(k).squareRoot() * eps
        var positions = [(0, 0), (0, n - 1), (m - 1, 0), (m - 1, n - 1)]
        for s in 0..<samples {
            let h = BenchmarkData.splitmix64(0xC4EC_0000 ^ UInt64(s))
            positions.append((Int((h >> 32) % UInt64(m)), Int((h & 0xFFFF_FFFF) % UInt64(n))))
        }
        for (i, j) in positions {
            var reference = 0.0, magnitude = 0.0
            for l in 0..<k {
                let p = Double(a[i * lda + l]) * Double(b[l * ldb + j])
                reference += p
                magnitude += abs(p)
            }
            let got = Double(c[i * ldc + j])
            guard got.isFinite, abs(got - reference) <= slack * magnitude + eps else {
                throw .wrongResult(
                    workload: workload,
                    detail: "C[\(i), \(j)] = \(got) but the naive dot product gives \(reference) (tolerance \(slack * magnitude + eps))")
            }
        }
    }
}
