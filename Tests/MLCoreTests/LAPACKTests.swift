import MLCore
import Testing

// LAPACK results are checked through invariants (signs and orders of vectors are arbitrary):
// reconstructions, orthonormality, orderings, residuals; plus a few exact small cases.
// Tolerances scale with the problem and are looser for Float than for Double.

/// Absolute tolerance for results of size `scale` from a small, well-conditioned problem.
private func tolerance<T: BLASScalar>(_: T.Type, scale: T = 1) -> T {
    (T.self == Float.self ? 2e-4 : 1e-11) * max(1, scale)
}

/// Expects `a` to have orthonormal columns: `AᵀA ≈ I`.
private func expectOrthonormalColumns<T: BLASScalar>(
    _ a: Matrix<T>, _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation
) {
    expectAllClose(Naive.matmul(a, a, transposeA: true), Naive.identity(a.columns),
                atol: tolerance(T.self), comment, sourceLocation: sourceLocation)
}

private func expectDescending<T: BLASScalar>(_ values: [T], _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(zip(values, values.dropFirst()).allSatisfy { $0 >= $1 }, comment, sourceLocation: sourceLocation)
}

private func expectLAPACKError(
    _ expected: LAPACKError, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) {
    #expect(throws: expected, sourceLocation: sourceLocation) { try body() }
}

@Suite("LAPACK")
struct LAPACKTests {
    // MARK: syevd

    private func checkSyevd<T: BLASScalar>(_: T.Type, n: Int) throws {
        var rng = SeededRandom(seed: UInt64(100 + n))
        let b: Matrix<T> = rng.uniformMatrix(n, n)
        let a = try b.adding(b.transposed())
        let snapshot = a.elements
        let label: Comment = "\(T.self) n \(n)"

        let (values, vectors) = try LAPACK.syevd(a)
        let v = try #require(vectors)
        #expect(a.elements == snapshot, "the input is not overwritten")
        #expect(values.count == n && v.shape == (n, n))
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 <= $1 }, "ascending: \(values)")
        let scale = Naive.maxAbs(a) * T(n)
        expectAllClose(Naive.matmul(a, v), Naive.scaleColumns(v, values), atol: tolerance(T.self, scale: scale), label)
        expectOrthonormalColumns(v, label)
        // The trace is the sum of the eigenvalues.
        let trace = (0..<n).reduce(T(0)) { $0 + a[$1, $1] }
        expectAllClose(values.reduce(0, +), trace, atol: tolerance(T.self, scale: scale), label)

        let (onlyValues, none) = try LAPACK.syevd(a, computeVectors: false)
        #expect(none == nil)
        expectAllClose(onlyValues, values, atol: tolerance(T.self, scale: scale), label)

        // Only the chosen triangle is read: poison the other one.
        var upperOnly = a, lowerOnly = a
        for i in 0..<n {
            for j in 0..<n where j < i { upperOnly[i, j] = 1000 }
            for j in 0..<n where j > i { lowerOnly[i, j] = -1000 }
        }
        expectAllClose(try LAPACK.syevd(upperOnly, computeVectors: false).values, values,
                    atol: tolerance(T.self, scale: scale), label)
        expectAllClose(try LAPACK.syevd(lowerOnly, upper: false).values, values,
                    atol: tolerance(T.self, scale: scale), label)
    }

    @Test(arguments: [1, 2, 5, 20])
    func syevdInvariants(n: Int) throws {
        try checkSyevd(Float.self, n: n)
        try checkSyevd(Double.self, n: n)
    }

    @Test func syevdKnownValues() throws {
        let (values, vectors) = try LAPACK.syevd(Matrix<Double>([[2, 1], [1, 2]]))
        expectAllClose(values, [1, 3], atol: 1e-14)
        let v = try #require(vectors)
        // Eigenvector of 3 is ±(1, 1)/√2: column 1.
        expectAllClose(abs(v[0, 1]), 0.5.squareRoot(), atol: 1e-14)
        expectAllClose(v[0, 1], v[1, 1], atol: 1e-14)
        let diagonal = try Matrix<Float>([[3, 0, 0], [0, 1, 0], [0, 0, 2]])
        #expect(try LAPACK.syevd(diagonal, computeVectors: false).values == [1, 2, 3])
        let empty = try LAPACK.syevd(Matrix<Double>(rows: 0, columns: 0))
        #expect(empty.values.isEmpty && empty.vectors?.count == 0)
    }

    @Test func syevdErrors() throws {
        expectLAPACKError(.shapeMismatch(routine: "syevd", detail: "the matrix is 2×3, it must be square")) {
            _ = try LAPACK.syevd(Matrix<Double>(rows: 2, columns: 3))
        }
        var poisoned = Naive.identity(3) as Matrix<Double>
        poisoned[1, 1] = .nan
        #expect(throws: LAPACKError.self, "NaN input is an error, not a trap or a NaN result") {
            _ = try LAPACK.syevd(poisoned)
        }
    }

    // MARK: gesdd

    private func checkGesdd<T: BLASScalar>(_: T.Type, m: Int, n: Int) throws {
        var rng = SeededRandom(seed: UInt64(200 + 10 * m + n))
        let a: Matrix<T> = rng.uniformMatrix(m, n)
        let snapshot = a.elements
        let r = min(m, n)
        let label: Comment = "\(T.self) \(m)×\(n)"
        let scale = T(max(m, n))

        let thin = try LAPACK.gesdd(a, vectors: .thin)
        #expect(a.elements == snapshot, "the input is not overwritten")
        let u = try #require(thin.u), vt = try #require(thin.vt)
        #expect(u.shape == (m, r) && vt.shape == (r, n) && thin.s.count == r, label)
        expectDescending(thin.s, label)
        #expect(thin.s.allSatisfy { $0 >= 0 }, label)
        expectAllClose(Naive.matmul(Naive.scaleColumns(u, thin.s), vt), a, atol: tolerance(T.self, scale: scale), label)
        expectOrthonormalColumns(u, label)
        expectOrthonormalColumns(vt.transposed(), label)

        let full = try LAPACK.gesdd(a, vectors: .all)
        let uf = try #require(full.u), vtf = try #require(full.vt)
        #expect(uf.shape == (m, m) && vtf.shape == (n, n), label)
        expectAllClose(full.s, thin.s, atol: tolerance(T.self, scale: scale), label)
        expectOrthonormalColumns(uf, label)
        expectOrthonormalColumns(vtf.transposed(), label)
        let reconstructed = Naive.matmul(Naive.scaleColumns(Naive.leadingColumns(uf, r), full.s), vtf.rows(0..<r))
        expectAllClose(reconstructed, a, atol: tolerance(T.self, scale: scale), label)

        let valuesOnly = try LAPACK.gesdd(a, vectors: .none)
        #expect(valuesOnly.u == nil && valuesOnly.vt == nil)
        expectAllClose(valuesOnly.s, thin.s, atol: tolerance(T.self, scale: scale), label)

        // Cross-check with syevd: s² are the largest eigenvalues of A·Aᵀ.
        let eigen = try LAPACK.syevd(Naive.matmul(a, a, transposeB: true), computeVectors: false).values
        expectAllClose(Array(eigen.reversed().prefix(r)), thin.s.map { $0 * $0 }, atol: tolerance(T.self, scale: scale * scale), label)
    }

    @Test(arguments: [(1, 1), (1, 5), (5, 1), (7, 4), (4, 7), (6, 6), (20, 9)])
    func gesddInvariants(shape: (Int, Int)) throws {
        try checkGesdd(Float.self, m: shape.0, n: shape.1)
        try checkGesdd(Double.self, m: shape.0, n: shape.1)
    }

    @Test func gesddKnownValues() throws {
        let result = try LAPACK.gesdd(Matrix<Double>([[3, 0], [0, -4]]), vectors: .none)
        expectAllClose(result.s, [4, 3], atol: 1e-14)
        let rankOne = try LAPACK.gesdd(Matrix<Float>([[1, 2], [2, 4], [3, 6]]))
        expectAllClose(rankOne.s, [Float(Double(70).squareRoot()), 0], atol: 1e-5)
        let empty = try LAPACK.gesdd(Matrix<Double>(rows: 0, columns: 3))
        #expect(empty.s.isEmpty)
    }

    // MARK: potrf / potrs

    private func spd<T: BLASScalar>(_ n: Int, _ rng: inout SeededRandom) throws -> Matrix<T> {
        let b: Matrix<T> = rng.uniformMatrix(n, n)
        return try Naive.matmul(b, b, transposeA: true).adding(Naive.identity(n) * T(n))
    }

    private func checkCholesky<T: BLASScalar>(_: T.Type, n: Int) throws {
        var rng = SeededRandom(seed: UInt64(300 + n))
        let a: Matrix<T> = try spd(n, &rng)
        let snapshot = a.elements
        let label: Comment = "\(T.self) n \(n)"
        let scale = Naive.maxAbs(a)

        let l = try LAPACK.potrf(a)
        #expect(a.elements == snapshot)
        for i in 0..<n {
            #expect(l[i, i] > 0, label)
            for j in (i + 1)..<n { #expect(l[i, j] == 0, "upper triangle of L is zeroed") }
        }
        expectAllClose(Naive.matmul(l, l, transposeB: true), a, atol: tolerance(T.self, scale: scale), label)

        let u = try LAPACK.potrf(a, upper: true)
        for i in 0..<n { for j in 0..<i { #expect(u[i, j] == 0, "lower triangle of U is zeroed") } }
        expectAllClose(Naive.matmul(u, u, transposeA: true), a, atol: tolerance(T.self, scale: scale), label)
        expectAllClose(u, l.transposed(), atol: tolerance(T.self, scale: scale), "the factors are each other's transpose")

        // potrf reads only its triangle.
        var lowerOnly = a
        for i in 0..<n { for j in (i + 1)..<n { lowerOnly[i, j] = .nan } }
        expectAllClose(try LAPACK.potrf(lowerOnly), l, atol: tolerance(T.self, scale: scale), label)

        let rhs: Matrix<T> = rng.uniformMatrix(n, 3)
        let expected = Naive.solve(a.doubleRows, rhs.doubleRows)
        for (factor, upper) in [(l, false), (u, true)] {
            let x = try LAPACK.potrs(factor: factor, upper: upper, rhs)
            #expect(x.shape == (n, 3))
            expectAllClose(Naive.matmul(a, x), rhs, atol: tolerance(T.self, scale: scale), "residual \(label) upper \(upper)")
            expectAllClose(x.elements, expected.flatMap { $0 }.map { T($0) }, atol: tolerance(T.self), label)
        }
    }

    @Test(arguments: [1, 2, 5, 12])
    func choleskyInvariants(n: Int) throws {
        try checkCholesky(Float.self, n: n)
        try checkCholesky(Double.self, n: n)
    }

    @Test func choleskyKnownFactor() throws {
        let a = try Matrix<Double>([[4, 2], [2, 5]])
        #expect(try LAPACK.potrf(a) == Matrix([[2, 0], [1, 2]]))
        #expect(try LAPACK.potrf(a, upper: true) == Matrix([[2, 1], [0, 2]]))
        let x = try LAPACK.potrs(factor: LAPACK.potrf(a), try Matrix([[8], [12]])) // A·(1, 2)ᵀ
        expectAllClose(x.elements, [1, 2], atol: 1e-14)
    }

    @Test func choleskyErrors() throws {
        expectLAPACKError(.notPositiveDefinite(routine: "potrf", minor: 2)) {
            _ = try LAPACK.potrf(Matrix<Double>([[1, 2], [2, 1]]))
        }
        expectLAPACKError(.notPositiveDefinite(routine: "potrf", minor: 3)) {
            _ = try LAPACK.potrf(Matrix<Float>([[1, 0, 0, 0], [0, 2, 0, 0], [0, 0, -1, 0], [0, 0, 0, 4]]))
        }
        expectLAPACKError(.notPositiveDefinite(routine: "potrf", minor: 1)) {
            _ = try LAPACK.potrf(Matrix<Double>([[0]]), upper: true)
        }
        // Positive semi-definite (duplicate columns) is not enough.
        // Columns 0 and 1 are equal with norm² 9, so the second pivot is exactly 9 − 3² = 0.
        let x = try Matrix<Double>([[1, 1, 0], [2, 2, 1], [2, 2, 3]])
        expectLAPACKError(.notPositiveDefinite(routine: "potrf", minor: 2)) {
            _ = try LAPACK.potrf(Naive.matmul(x, x, transposeA: true))
        }
        #expect(throws: LAPACKError.self) { _ = try LAPACK.potrf(Matrix<Double>(rows: 2, columns: 3)) }
        let factor = Naive.identity(3) as Matrix<Double>
        #expect(throws: LAPACKError.self) { _ = try LAPACK.potrs(factor: factor, Matrix(rows: 2, columns: 1)) }
        #expect(throws: LAPACKError.self) { _ = try LAPACK.potrs(factor: Matrix<Double>(rows: 3, columns: 2), Matrix(rows: 3, columns: 1)) }
    }

    // MARK: geqrf / orgqr

    private func checkQR<T: BLASScalar>(_: T.Type, m: Int, n: Int) throws {
        var rng = SeededRandom(seed: UInt64(400 + 10 * m + n))
        let a: Matrix<T> = rng.uniformMatrix(m, n)
        let snapshot = a.elements
        let k = min(m, n)
        let label: Comment = "\(T.self) \(m)×\(n)"

        let (qr, tau) = try LAPACK.geqrf(a)
        #expect(a.elements == snapshot)
        #expect(qr.shape == (m, n) && tau.count == k)
        let q = try LAPACK.orgqr(qr, tau: tau)
        let r = LAPACK.upperTriangle(ofQR: qr)
        #expect(q.shape == (m, k) && r.shape == (k, n), label)
        for i in 0..<k { for j in 0..<min(i, n) { #expect(r[i, j] == 0, "R is upper triangular") } }
        expectAllClose(Naive.matmul(q, r), a, atol: tolerance(T.self, scale: T(max(m, n))), label)
        expectOrthonormalColumns(q, label)
    }

    @Test(arguments: [(1, 1), (5, 3), (3, 5), (4, 4), (6, 1), (1, 6), (25, 8)])
    func qrInvariants(shape: (Int, Int)) throws {
        try checkQR(Float.self, m: shape.0, n: shape.1)
        try checkQR(Double.self, m: shape.0, n: shape.1)
    }

    @Test func qrErrors() throws {
        let (qr, tau) = try LAPACK.geqrf(Matrix<Double>([[1, 2], [3, 4], [5, 6]]))
        #expect(throws: LAPACKError.self) { _ = try LAPACK.orgqr(qr, tau: Array(tau.prefix(1))) }
        let empty = try LAPACK.geqrf(Matrix<Double>(rows: 0, columns: 2))
        #expect(empty.tau.isEmpty)
        #expect(try LAPACK.orgqr(empty.qr, tau: empty.tau).shape == (0, 0))
    }

    // MARK: gels

    private func checkGels<T: BLASScalar>(_: T.Type, m: Int, n: Int, nrhs: Int) throws {
        var rng = SeededRandom(seed: UInt64(500 + 10 * m + n))
        var a: Matrix<T> = rng.uniformMatrix(m, n)
        for i in 0..<min(m, n) { a[i, i] += 3 } // well conditioned
        let b: Matrix<T> = rng.uniformMatrix(m, nrhs)
        let (aSnapshot, bSnapshot) = (a.elements, b.elements)
        let label: Comment = "\(T.self) \(m)×\(n), \(nrhs) rhs"

        let x = try LAPACK.gels(a, b)
        #expect(a.elements == aSnapshot && b.elements == bSnapshot, "inputs are not overwritten")
        #expect(x.shape == (n, nrhs), label)
        let ad = a.doubleRows, bd = b.doubleRows
        let expected: [[Double]]
        if m >= n {
            // Normal equations: (AᵀA)·x = Aᵀb.
            let at = Naive.transpose(a).doubleRows
            let ata = at.map { r in (0..<n).map { j in zip(r, ad.map { $0[j] }).reduce(0) { $0 + $1.0 * $1.1 } } }
            let atb = at.map { r in (0..<nrhs).map { j in zip(r, bd.map { $0[j] }).reduce(0) { $0 + $1.0 * $1.1 } } }
            expected = Naive.solve(ata, atb)
        } else {
            // Minimum norm: x = Aᵀ·(A·Aᵀ)⁻¹·b.
            let aat = ad.map { r in ad.map { s in zip(r, s).reduce(0) { $0 + $1.0 * $1.1 } } }
            let y = Naive.solve(aat, bd)
            expected = (0..<n).map { i in (0..<nrhs).map { j in (0..<m).reduce(0) { $0 + ad[$1][i] * y[$1][j] } } }
            expectAllClose(Naive.matmul(a, x), b, atol: tolerance(T.self, scale: 10), "A·x = b \(label)")
        }
        expectAllClose(x.elements, expected.flatMap { $0 }.map { T($0) }, atol: tolerance(T.self, scale: 10), label)
    }

    @Test(arguments: [(12, 4, 1), (12, 4, 3), (5, 5, 2), (3, 6, 2), (1, 3, 1), (7, 1, 1)])
    func gelsMatchesNormalEquations(shape: (Int, Int, Int)) throws {
        try checkGels(Float.self, m: shape.0, n: shape.1, nrhs: shape.2)
        try checkGels(Double.self, m: shape.0, n: shape.1, nrhs: shape.2)
    }

    @Test func gelsRecoversExactSolution() throws {
        let a = try Matrix<Double>([[1, 0], [1, 1], [1, 2], [1, 3]])
        let b = try Matrix<Double>([[1], [3], [5], [7]]) // y = 1 + 2x
        expectAllClose(try LAPACK.gels(a, b).elements, [1, 2], atol: 1e-13)
    }

    @Test func gelsErrors() throws {
        expectLAPACKError(.rankDeficient(routine: "gels", info: 2)) {
            _ = try LAPACK.gels(Matrix<Double>([[1, 0], [2, 0], [3, 0]]), Matrix([[1], [2], [3]]))
        }
        expectLAPACKError(.rankDeficient(routine: "gels", info: 2)) {
            _ = try LAPACK.gels(Matrix<Float>([[1, 2, 3], [0, 0, 0]]), Matrix([[1], [2]]))
        }
        #expect(throws: LAPACKError.self) {
            _ = try LAPACK.gels(Matrix<Double>(rows: 3, columns: 2), Matrix(rows: 2, columns: 1))
        }
        #expect(try LAPACK.gels(Matrix<Double>(rows: 3, columns: 2), Matrix(rows: 3, columns: 0)).shape == (2, 0))
    }
}
