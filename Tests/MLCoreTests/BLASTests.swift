import MLCore
import Testing

// Every wrapper is checked against a plain loop on small integer-valued data, so the expected
// values are exact (products and sums of small integers and halves are representable in Float)
// and the comparisons use zero tolerance. Padding between rows (leading dimensions larger than
// the minimum) holds NaN in inputs — reading it would poison the result — and a sentinel in
// outputs, which must survive.

private let sentinel = 12_345.0
private let transposes: [Transpose] = [.noTranspose, .transpose]

/// `(alpha, beta)` pairs: identity, accumulation, negative halves, alpha = 0, beta = 0.
private func scalarPairs<T: BLASScalar>(_: T.Type) -> [(T, T)] {
    [(1, 0), (2, 1), (-0.5, -3), (0, 2), (1, 0.5), (0, 0)]
}

/// Where element `i` of an `n`-vector with increment `inc` lives (BLAS: a negative increment
/// walks the buffer backwards from its end).
private func position(_ i: Int, _ n: Int, _ inc: Int) -> Int { inc > 0 ? i * inc : (n - 1 - i) * -inc }

/// A `rows × columns` block of small integers with row stride `ld`, padding set to `padding`.
private func stridedBuffer<T: BLASScalar>(
    _ rows: Int, _ columns: Int, ld: Int, padding: T, _ rng: inout SeededRandom
) -> [T] {
    var buffer = [T](repeating: padding, count: max(1, rows * ld))
    for i in 0..<rows { for j in 0..<columns { buffer[i * ld + j] = T(rng.int(in: -4...4)) } }
    return buffer
}

/// A vector of `n` small integers with increment `inc`; the gaps hold `padding`.
private func stridedVector<T: BLASScalar>(_ n: Int, inc: Int, padding: T, _ rng: inout SeededRandom) -> [T] {
    var buffer = [T](repeating: padding, count: max(1, 1 + (n - 1) * abs(inc)))
    for i in 0..<n { buffer[position(i, n, inc)] = T(rng.int(in: -4...4)) }
    return buffer
}

private enum ArgumentFailure { case tooLarge, invalid }

/// Expects `body` to throw a `BLASError` of `kind` naming `routine` and `argument`.
private func expectArgumentError(
    _ kind: ArgumentFailure, _ routine: String, _ argument: String,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("\(routine) accepted a bad \(argument)", sourceLocation: sourceLocation)
    } catch let error as BLASError {
        switch (kind, error) {
        case (.tooLarge, let .dimensionTooLarge(r, a, _)), (.invalid, let .invalidArgument(r, a, _, _)):
            #expect(r == routine && a == argument, "\(error)", sourceLocation: sourceLocation)
        default:
            Issue.record("expected \(kind) for \(routine) \(argument), got \(error)", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("BLAS")
struct BLASTests {
    // MARK: gemm

    static let gemmSizes = [(1, 1, 1), (1, 4, 3), (5, 1, 2), (3, 7, 5), (6, 4, 1), (17, 9, 33), (2, 3, 0), (0, 3, 2), (3, 0, 2)]

    private func checkPointerGemm<T: BLASScalar>(_: T.Type, _ ta: Transpose, _ tb: Transpose) throws {
        var rng = SeededRandom(seed: 11)
        for (m, n, k) in Self.gemmSizes {
            for (alpha, beta) in scalarPairs(T.self) {
                for pad in [0, 3] {
                    let (ar, ac) = ta == .transpose ? (k, m) : (m, k)
                    let (br, bc) = tb == .transpose ? (n, k) : (k, n)
                    let lda = max(1, ac) + pad, ldb = max(1, bc) + pad, ldc = max(1, n) + pad
                    let a: [T] = stridedBuffer(ar, ac, ld: lda, padding: .nan, &rng)
                    let b: [T] = stridedBuffer(br, bc, ld: ldb, padding: .nan, &rng)
                    // beta = 0 must not read C: start it at NaN.
                    var c: [T] = stridedBuffer(m, n, ld: ldc, padding: T(sentinel), &rng)
                    if beta == 0 { for i in 0..<m { for j in 0..<n { c[i * ldc + j] = .nan } } }
                    var expected = c
                    for i in 0..<m {
                        for j in 0..<n {
                            var s = 0.0
                            for p in 0..<k {
                                let x = ta == .transpose ? a[p * lda + i] : a[i * lda + p]
                                let y = tb == .transpose ? b[j * ldb + p] : b[p * ldb + j]
                                s += Double(x) * Double(y)
                            }
                            let prior = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
                            expected[i * ldc + j] = T(Double(alpha) * s + prior)
                        }
                    }
                    try a.withUnsafeBufferPointer { pa in
                        try b.withUnsafeBufferPointer { pb in
                            try c.withUnsafeMutableBufferPointer { pc in
                                try BLAS.gemm(
                                    transposeA: ta, transposeB: tb, m: m, n: n, k: k,
                                    alpha: alpha, a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
                                    beta: beta, c: pc.baseAddress!, ldc: ldc)
                            }
                        }
                    }
                    expectAllClose(c, expected, "\(T.self) \(ta)/\(tb) m\(m) n\(n) k\(k) α\(alpha) β\(beta) pad\(pad)")
                }
            }
        }
    }

    @Test("gemm (pointers, leading dimensions) matches the loop", arguments: transposes, transposes)
    func gemmPointers(transposeA: Transpose, transposeB: Transpose) throws {
        try checkPointerGemm(Float.self, transposeA, transposeB)
        try checkPointerGemm(Double.self, transposeA, transposeB)
    }

    private func checkMatrixGemm<T: BLASScalar>(_: T.Type, _ ta: Transpose, _ tb: Transpose) throws {
        var rng = SeededRandom(seed: 12)
        for (m, n, k) in Self.gemmSizes {
            for (alpha, beta) in scalarPairs(T.self) {
                let (ar, ac) = ta == .transpose ? (k, m) : (m, k)
                let (br, bc) = tb == .transpose ? (n, k) : (k, n)
                // Operands are row views into larger matrices, so offsets are exercised too.
                let a = (rng.integerMatrix(ar + 3, ac) as Matrix<T>).rows(2..<(2 + ar))
                let b = (rng.integerMatrix(br + 1, bc) as Matrix<T>).rows(1..<(1 + br))
                var c: Matrix<T> = rng.integerMatrix(m, n)
                if beta == 0 { c.apply { _ in .nan } }
                let product = Naive.matmul(a, b, transposeA: ta == .transpose, transposeB: tb == .transpose)
                var expected = product
                for i in 0..<m {
                    for j in 0..<n { expected[i, j] = alpha * product[i, j] + (beta == 0 ? 0 : beta * c[i, j]) }
                }
                try BLAS.gemm(a, b, transposeA: ta, transposeB: tb, alpha: alpha, beta: beta, into: &c)
                expectAllClose(c, expected, "\(T.self) \(ta)/\(tb) m\(m) n\(n) k\(k) α\(alpha) β\(beta)")
                if alpha == 1 && beta == 0 {
                    expectAllClose(try BLAS.matmul(a, b, transposeA: ta, transposeB: tb), product, "matmul \(m)×\(n)×\(k)")
                }
            }
        }
    }

    @Test("gemm (matrices, views) matches the loop", arguments: transposes, transposes)
    func gemmMatrices(transposeA: Transpose, transposeB: Transpose) throws {
        try checkMatrixGemm(Float.self, transposeA, transposeB)
        try checkMatrixGemm(Double.self, transposeA, transposeB)
    }

    @Test func gemmKnownProduct() throws {
        let a = try Matrix<Float>([[1, 2, 3], [4, 5, 6]])
        let b = try Matrix<Float>([[7, 8], [9, 10], [11, 12]])
        #expect(try BLAS.matmul(a, b) == Matrix([[58, 64], [139, 154]])) // NumPy: a @ b
        #expect(try BLAS.matmul(a, a, transposeB: .transpose) == Matrix([[14, 32], [32, 77]]))
    }

    @Test func gemmShapeErrors() {
        let a = Matrix<Double>(rows: 2, columns: 3), b = Matrix<Double>(rows: 2, columns: 4)
        var c = Matrix<Double>(rows: 2, columns: 4)
        #expect(throws: BLASError.self) { try BLAS.gemm(a, b, into: &c) } // inner 3 vs 2
        #expect(throws: BLASError.self) { try BLAS.matmul(a, b) }
        // Aᵀ·B is 3×4: a 2×4 C is the wrong shape, a 3×4 one is right.
        var wrongC = Matrix<Double>(rows: 2, columns: 4)
        #expect(throws: BLASError.self) { try BLAS.gemm(a, b, transposeA: .transpose, into: &wrongC) }
        var ok = Matrix<Double>(rows: 3, columns: 4)
        #expect(throws: Never.self) { try BLAS.gemm(a, b, transposeA: .transpose, into: &ok) }
        #expect(throws: BLASError.self) { try BLAS.matmul(a, b, transposeB: .transpose) } // 2×3 · 4×2
    }

    @Test func gemmArgumentErrors() {
        let big = Int(Int32.max) + 1
        var buffer = [Float](repeating: 0, count: 16)
        buffer.withUnsafeMutableBufferPointer { p in
            let x = UnsafePointer(p.baseAddress!), y = p.baseAddress!
            func gemm(_ ta: Transpose = .noTranspose, _ tb: Transpose = .noTranspose,
                      m: Int = 2, n: Int = 2, k: Int = 2, lda: Int = 2, ldb: Int = 2, ldc: Int = 2) throws {
                try BLAS.gemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 1, a: x, lda: lda,
                              b: x, ldb: ldb, beta: 0, c: y, ldc: ldc)
            }
            expectArgumentError(.tooLarge, "gemm", "m") { try gemm(m: big) }
            expectArgumentError(.tooLarge, "gemm", "n") { try gemm(n: big, ldb: big, ldc: big) }
            expectArgumentError(.tooLarge, "gemm", "k") { try gemm(k: big, lda: big) }
            expectArgumentError(.tooLarge, "gemm", "lda") { try gemm(lda: big) }
            expectArgumentError(.tooLarge, "gemm", "m") { try gemm(m: Int.max) }
            expectArgumentError(.invalid, "gemm", "m") { try gemm(m: -1) }
            expectArgumentError(.invalid, "gemm", "k") { try gemm(k: Int.min) }
            // Leading dimensions below the row length (which depends on the transposes).
            expectArgumentError(.invalid, "gemm", "lda") { try gemm(k: 3, lda: 2, ldb: 2) }
            expectArgumentError(.invalid, "gemm", "lda") { try gemm(.transpose, m: 3, lda: 2, ldc: 2) }
            expectArgumentError(.invalid, "gemm", "ldb") { try gemm(n: 3, ldb: 2, ldc: 3) }
            expectArgumentError(.invalid, "gemm", "ldb") { try gemm(.noTranspose, .transpose, k: 3, lda: 3, ldb: 2) }
            expectArgumentError(.invalid, "gemm", "ldc") { try gemm(n: 3, ldb: 3, ldc: 2) }
            expectArgumentError(.invalid, "gemm", "lda") { try gemm(k: 0, lda: 0) }
        }
    }

    // MARK: gemv

    private func checkPointerGemv<T: BLASScalar>(_: T.Type, _ t: Transpose) throws {
        var rng = SeededRandom(seed: 13)
        for (m, n) in [(1, 1), (1, 5), (4, 1), (6, 9), (9, 6)] {
            for (alpha, beta) in scalarPairs(T.self) {
                for (incx, incy) in [(1, 1), (2, 3), (-1, 1), (-3, -2), (1, -1)] {
                    let lda = n + 2
                    let a: [T] = stridedBuffer(m, n, ld: lda, padding: .nan, &rng)
                    let (xn, yn) = t == .transpose ? (m, n) : (n, m)
                    let x: [T] = stridedVector(xn, inc: incx, padding: .nan, &rng)
                    var y: [T] = stridedVector(yn, inc: incy, padding: T(sentinel), &rng)
                    if beta == 0 { for i in 0..<yn { y[position(i, yn, incy)] = .nan } }
                    var expected = y
                    for i in 0..<yn {
                        var s = 0.0
                        for p in 0..<xn {
                            let aij = t == .transpose ? a[p * lda + i] : a[i * lda + p]
                            s += Double(aij) * Double(x[position(p, xn, incx)])
                        }
                        let yi = position(i, yn, incy)
                        expected[yi] = T(Double(alpha) * s + (beta == 0 ? 0 : Double(beta) * Double(y[yi])))
                    }
                    try a.withUnsafeBufferPointer { pa in
                        try x.withUnsafeBufferPointer { px in
                            try y.withUnsafeMutableBufferPointer { py in
                                try BLAS.gemv(transpose: t, m: m, n: n, alpha: alpha, a: pa.baseAddress!, lda: lda,
                                              x: px.baseAddress!, incx: incx, beta: beta, y: py.baseAddress!, incy: incy)
                            }
                        }
                    }
                    expectAllClose(y, expected, "\(T.self) \(t) \(m)×\(n) α\(alpha) β\(beta) incx \(incx) incy \(incy)")
                }
            }
        }
    }

    @Test("gemv (pointers, strides, increments) matches the loop", arguments: transposes)
    func gemvPointers(transpose: Transpose) throws {
        try checkPointerGemv(Float.self, transpose)
        try checkPointerGemv(Double.self, transpose)
    }

    private func checkMatrixGemv<T: BLASScalar>(_: T.Type, _ t: Transpose) throws {
        var rng = SeededRandom(seed: 14)
        for (m, n) in [(1, 1), (1, 5), (4, 1), (6, 9), (3, 0), (0, 3)] {
            for (alpha, beta) in scalarPairs(T.self) {
                let a = (rng.integerMatrix(m + 2, n) as Matrix<T>).rows(1..<(1 + m))
                let (xn, yn) = t == .transpose ? (m, n) : (n, m)
                let x: [T] = rng.integers(xn)
                var y: [T] = beta == 0 ? [T](repeating: .nan, count: yn) : rng.integers(yn)
                let column = try Matrix(rows: xn, columns: 1, elements: x)
                let product = Naive.matmul(a, column, transposeA: t == .transpose).elements
                let expected = (0..<yn).map { alpha * product[$0] + (beta == 0 ? 0 : beta * y[$0]) }
                try BLAS.gemv(a, x, transpose: t, alpha: alpha, beta: beta, into: &y)
                expectAllClose(y, expected, "\(T.self) \(t) \(m)×\(n) α\(alpha) β\(beta)")
            }
        }
    }

    @Test("gemv (matrices, views) matches the loop", arguments: transposes)
    func gemvMatrices(transpose: Transpose) throws {
        try checkMatrixGemv(Float.self, transpose)
        try checkMatrixGemv(Double.self, transpose)
    }

    @Test func gemvErrors() {
        let a = Matrix<Float>(rows: 3, columns: 2)
        var y = [Float](repeating: 0, count: 3)
        #expect(throws: BLASError.self) { try BLAS.gemv(a, [1, 2, 3], into: &y) }
        #expect(throws: BLASError.self) { try BLAS.gemv(a, [1, 2], transpose: .transpose, into: &y) }
        var short = [Float](repeating: 0, count: 2)
        #expect(throws: BLASError.self) { try BLAS.gemv(a, [1, 2], into: &short) }
        let big = Int(Int32.max) + 1
        var buffer = [Float](repeating: 0, count: 8)
        buffer.withUnsafeMutableBufferPointer { p in
            let x = UnsafePointer(p.baseAddress!), out = p.baseAddress!
            func gemv(m: Int = 2, n: Int = 2, lda: Int = 2, incx: Int = 1, incy: Int = 1) throws {
                try BLAS.gemv(m: m, n: n, alpha: 1, a: x, lda: lda, x: x, incx: incx, beta: 0, y: out, incy: incy)
            }
            expectArgumentError(.tooLarge, "gemv", "m") { try gemv(m: big) }
            expectArgumentError(.tooLarge, "gemv", "n") { try gemv(n: big, lda: big) }
            expectArgumentError(.invalid, "gemv", "lda") { try gemv(n: 3, lda: 2) }
            expectArgumentError(.invalid, "gemv", "incx") { try gemv(incx: 0) }
            expectArgumentError(.invalid, "gemv", "incy") { try gemv(incy: 0) }
            expectArgumentError(.tooLarge, "gemv", "incx") { try gemv(incx: big) }
            expectArgumentError(.tooLarge, "gemv", "incy") { try gemv(incy: Int.min) }
        }
    }

    // MARK: syrk

    private func checkPointerSyrk<T: BLASScalar>(_: T.Type, _ t: Transpose, upper: Bool) throws {
        var rng = SeededRandom(seed: 15)
        for (n, k) in [(1, 1), (1, 4), (5, 1), (6, 3), (9, 13), (3, 0)] {
            for (alpha, beta) in scalarPairs(T.self) {
                let (ar, ac) = t == .transpose ? (k, n) : (n, k)
                let lda = max(1, ac) + 2, ldc = n + 1
                let a: [T] = stridedBuffer(ar, ac, ld: lda, padding: .nan, &rng)
                var c: [T] = stridedBuffer(n, n, ld: ldc, padding: T(sentinel), &rng)
                var expected = c
                for i in 0..<n {
                    for j in 0..<n where upper ? j >= i : j <= i {
                        var s = 0.0
                        for p in 0..<k {
                            let x = t == .transpose ? a[p * lda + i] : a[i * lda + p]
                            let y = t == .transpose ? a[p * lda + j] : a[j * lda + p]
                            s += Double(x) * Double(y)
                        }
                        expected[i * ldc + j] = T(Double(alpha) * s + Double(beta) * Double(c[i * ldc + j]))
                    }
                }
                try a.withUnsafeBufferPointer { pa in
                    try c.withUnsafeMutableBufferPointer { pc in
                        try BLAS.syrk(upper: upper, transpose: t, n: n, k: k, alpha: alpha, a: pa.baseAddress!, lda: lda,
                                      beta: beta, c: pc.baseAddress!, ldc: ldc)
                    }
                }
                // The other triangle and the padding must be untouched.
                expectAllClose(c, expected, "\(T.self) \(t) upper \(upper) n\(n) k\(k) α\(alpha) β\(beta)")
            }
        }
    }

    @Test("syrk (pointers, one triangle) matches the loop", arguments: transposes, [true, false])
    func syrkPointers(transpose: Transpose, upper: Bool) throws {
        try checkPointerSyrk(Float.self, transpose, upper: upper)
        try checkPointerSyrk(Double.self, transpose, upper: upper)
    }

    private func checkMatrixSyrk<T: BLASScalar>(_: T.Type, _ t: Transpose) throws {
        var rng = SeededRandom(seed: 16)
        for (n, k) in [(1, 1), (1, 4), (5, 1), (6, 3), (9, 13), (3, 0)] {
            for (alpha, beta) in scalarPairs(T.self) {
                let (ar, ac) = t == .transpose ? (k, n) : (n, k)
                let a = (rng.integerMatrix(ar + 2, ac) as Matrix<T>).rows(2..<(2 + ar))
                let s: Matrix<T> = rng.integerMatrix(n, n)
                var c = try s.adding(s.transposed()) // symmetric, as syrk's accumulation assumes
                let product = t == .transpose
                    ? Naive.matmul(a, a, transposeA: true) : Naive.matmul(a, a, transposeB: true)
                let expected = try (product * alpha).adding(c * beta)
                try BLAS.syrk(a, transpose: t, alpha: alpha, beta: beta, into: &c)
                expectAllClose(c, expected, "\(T.self) \(t) n\(n) k\(k) α\(alpha) β\(beta)")
            }
        }
    }

    @Test("syrk (matrices, both triangles) matches the loop", arguments: transposes)
    func syrkMatrices(transpose: Transpose) throws {
        try checkMatrixSyrk(Float.self, transpose)
        try checkMatrixSyrk(Double.self, transpose)
    }

    @Test func syrkErrors() {
        var c = Matrix<Double>(rows: 3, columns: 3)
        #expect(throws: BLASError.self) { try BLAS.syrk(Matrix(rows: 2, columns: 3), into: &c) }
        #expect(throws: Never.self) { try BLAS.syrk(Matrix(rows: 2, columns: 3), transpose: .transpose, into: &c) }
        var rectangular = Matrix<Double>(rows: 3, columns: 2)
        #expect(throws: BLASError.self) { try BLAS.syrk(Matrix(rows: 3, columns: 3), into: &rectangular) }
        let big = Int(Int32.max) + 1
        var buffer = [Double](repeating: 0, count: 9)
        buffer.withUnsafeMutableBufferPointer { p in
            let a = UnsafePointer(p.baseAddress!), out = p.baseAddress!
            func syrk(_ t: Transpose = .noTranspose, n: Int = 3, k: Int = 3, lda: Int = 3, ldc: Int = 3) throws {
                try BLAS.syrk(transpose: t, n: n, k: k, alpha: 1, a: a, lda: lda, beta: 0, c: out, ldc: ldc)
            }
            expectArgumentError(.tooLarge, "syrk", "n") { try syrk(n: big) }
            expectArgumentError(.tooLarge, "syrk", "k") { try syrk(k: big) }
            expectArgumentError(.invalid, "syrk", "lda") { try syrk(k: 4, lda: 3) }
            expectArgumentError(.invalid, "syrk", "lda") { try syrk(.transpose, n: 4, k: 2, lda: 3, ldc: 4) }
            expectArgumentError(.invalid, "syrk", "ldc") { try syrk(ldc: 2) }
            expectArgumentError(.invalid, "syrk", "n") { try syrk(n: -3) }
        }
    }

    // MARK: Level 1

    private func checkLevel1<T: BLASScalar>(_: T.Type) throws {
        var rng = SeededRandom(seed: 17)
        for n in [1, 2, 7, 40] {
            for (incx, incy) in [(1, 1), (2, 3), (-1, 1), (3, -2), (-2, -2)] {
                let alpha: T = -1.5
                let x: [T] = stridedVector(n, inc: incx, padding: .nan, &rng)
                var y: [T] = stridedVector(n, inc: incy, padding: T(sentinel), &rng)
                let y0 = y
                var expectedY = y
                var dot = 0.0
                for i in 0..<n {
                    let xi = Double(x[position(i, n, incx)]), yi = position(i, n, incy)
                    expectedY[yi] = T(Double(alpha) * xi + Double(y0[yi]))
                    dot += xi * Double(y0[yi])
                }
                let label: Comment = "\(T.self) n\(n) incx \(incx) incy \(incy)"
                let d = try x.withUnsafeBufferPointer { px in
                    try y.withUnsafeBufferPointer { py in
                        try BLAS.dot(n: n, x: px.baseAddress!, incx: incx, y: py.baseAddress!, incy: incy)
                    }
                }
                #expect(d == T(dot), label)
                try x.withUnsafeBufferPointer { px in
                    try y.withUnsafeMutableBufferPointer { py in
                        try BLAS.axpy(n: n, alpha: alpha, x: px.baseAddress!, incx: incx, y: py.baseAddress!, incy: incy)
                    }
                }
                expectAllClose(y, expectedY, label)
            }
            for incx in [1, 3, -2] {
                let label: Comment = "\(T.self) n\(n) incx \(incx)"
                var x: [T] = stridedVector(n, inc: incx, padding: T(sentinel), &rng)
                var squares = 0.0
                var expected = x
                for i in 0..<n {
                    let xi = position(i, n, incx)
                    squares += Double(x[xi]) * Double(x[xi])
                    expected[xi] = x[xi] * 3
                }
                let norm = try x.withUnsafeBufferPointer { try BLAS.nrm2(n: n, x: $0.baseAddress!, incx: incx) }
                expectAllClose(norm, T(squares.squareRoot()), rtol: relativeTolerance(T.self), label)
                try x.withUnsafeMutableBufferPointer { try BLAS.scal(n: n, alpha: 3, x: $0.baseAddress!, incx: incx) }
                expectAllClose(x, expected, label)
            }
        }
        // Array forms.
        let x: [T] = [1, -2, 3, 4], y0: [T] = [2, 2, -1, 0.5]
        var y = y0
        try BLAS.axpy(alpha: 2, x: x, y: &y)
        #expect(y == [4, -2, 5, 8.5])
        #expect(try BLAS.dot(x, y0) == 2 - 4 - 3 + 2)
        #expect(try BLAS.nrm2([3, 4] as [T]) == 5)
        var s = x
        try BLAS.scal(alpha: -0.5, x: &s)
        #expect(s == [-0.5, 1, -1.5, -2])
        var empty: [T] = []
        try BLAS.axpy(alpha: 2, x: [], y: &empty)
        try BLAS.scal(alpha: 2, x: &empty)
        #expect(try BLAS.dot([] as [T], []) == 0 && BLAS.nrm2([] as [T]) == 0 && empty.isEmpty)
    }

    @Test func level1MatchesLoops() throws {
        try checkLevel1(Float.self)
        try checkLevel1(Double.self)
    }

    @Test func nrm2DoesNotOverflow() throws {
        // A naive Float sum of squares overflows (9e60 > 3.4e38); nrm2 scales.
        expectAllClose(try BLAS.nrm2([3e30, 4e30] as [Float]), 5e30, rtol: 1e-6)
        expectAllClose(try BLAS.nrm2([3e-30, 4e-30] as [Float]), 5e-30, rtol: 1e-6)
    }

    @Test func level1Errors() {
        var y: [Double] = [1, 2]
        #expect(throws: BLASError.self) { try BLAS.axpy(alpha: 1, x: [1, 2, 3], y: &y) }
        #expect(throws: BLASError.self) { try BLAS.dot([1, 2, 3], y) }
        let big = Int(Int32.max) + 1
        var buffer = [Double](repeating: 0, count: 4)
        buffer.withUnsafeMutableBufferPointer { p in
            let x = UnsafePointer(p.baseAddress!), out = p.baseAddress!
            expectArgumentError(.tooLarge, "axpy", "n") { try BLAS.axpy(n: big, alpha: 1, x: x, y: out) }
            expectArgumentError(.invalid, "axpy", "incx") { try BLAS.axpy(n: 2, alpha: 1, x: x, incx: 0, y: out) }
            expectArgumentError(.tooLarge, "axpy", "incy") { try BLAS.axpy(n: 2, alpha: 1, x: x, y: out, incy: Int.min) }
            expectArgumentError(.tooLarge, "dot", "n") { _ = try BLAS.dot(n: big, x: x, y: x) }
            expectArgumentError(.invalid, "dot", "n") { _ = try BLAS.dot(n: -1, x: x, y: x) }
            expectArgumentError(.invalid, "dot", "incy") { _ = try BLAS.dot(n: 2, x: x, y: x, incy: 0) }
            expectArgumentError(.tooLarge, "nrm2", "n") { _ = try BLAS.nrm2(n: big, x: x) }
            expectArgumentError(.tooLarge, "nrm2", "incx") { _ = try BLAS.nrm2(n: 2, x: x, incx: Int.min) }
            expectArgumentError(.tooLarge, "scal", "n") { try BLAS.scal(n: big, alpha: 2, x: out) }
            expectArgumentError(.invalid, "scal", "incx") { try BLAS.scal(n: 2, alpha: 2, x: out, incx: 0) }
        }
    }
}
