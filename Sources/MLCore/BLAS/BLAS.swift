/// Whether a BLAS operand is used as stored or transposed.
public enum Transpose: Sendable, Equatable {
    case noTranspose
    case transpose

    @inlinable var isTransposed: Bool { self == .transpose }
}

/// A BLAS call whose arguments cannot be passed to OpenBLAS.
public enum BLASError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A size or leading dimension that does not fit OpenBLAS's 32-bit integers.
    case dimensionTooLarge(routine: String, argument: String, value: Int)
    /// A negative size, a too-small leading dimension or increment.
    case invalidArgument(routine: String, argument: String, value: Int, rule: String)
    /// Operand shapes that do not agree.
    case shapeMismatch(routine: String, detail: String)

    public var description: String {
        switch self {
        case let .dimensionTooLarge(routine, argument, value):
            return "\(routine): \(argument) = \(value) exceeds OpenBLAS's 32-bit limit (\(Int32.max)); split the call"
        case let .invalidArgument(routine, argument, value, rule):
            return "\(routine): \(argument) = \(value) is invalid (\(rule))"
        case let .shapeMismatch(routine, detail):
            return "\(routine): \(detail)"
        }
    }
}

/// Typed wrappers over OpenBLAS (row-major). Each checks its sizes at the 32-bit boundary and
/// its leading dimensions before calling, so OpenBLAS never sees an argument it would reject.
public enum BLAS {
    @inlinable @inline(__always)
    static func int32(_ value: Int, _ routine: String, _ argument: String) throws(BLASError) -> Int32 {
        guard value >= 0 else {
            throw .invalidArgument(routine: routine, argument: argument, value: value, rule: "must be ≥ 0")
        }
        guard value <= Int(Int32.max) else {
            throw .dimensionTooLarge(routine: routine, argument: argument, value: value)
        }
        return Int32(truncatingIfNeeded: value)
    }

    @inlinable @inline(__always)
    static func leading(_ value: Int, atLeast minimum: Int, _ routine: String, _ argument: String) throws(BLASError) -> Int32 {
        guard value >= max(1, minimum) else {
            throw .invalidArgument(routine: routine, argument: argument, value: value, rule: "must be ≥ max(1, \(minimum))")
        }
        return try int32(value, routine, argument)
    }

    @inlinable @inline(__always)
    static func increment(_ value: Int, _ routine: String, _ argument: String) throws(BLASError) -> Int32 {
        guard value != 0 else {
            throw .invalidArgument(routine: routine, argument: argument, value: value, rule: "must not be 0")
        }
        guard value.magnitude <= UInt(Int32.max) else { // magnitude: abs(Int.min) would trap
            throw .dimensionTooLarge(routine: routine, argument: argument, value: value)
        }
        return Int32(truncatingIfNeeded: value)
    }

    // MARK: Level 3

    /// `C ← α·op(A)·op(B) + β·C` with `op(A)` m×k, `op(B)` k×n, `C` m×n, all row-major.
    ///
    /// Leading dimensions are row strides: `lda ≥ k` (or `≥ m` when A is transposed), and so on.
    @inlinable
    public static func gemm<T: BLASScalar>(
        transposeA: Transpose = .noTranspose, transposeB: Transpose = .noTranspose,
        m: Int, n: Int, k: Int,
        alpha: T, a: UnsafePointer<T>, lda: Int,
        b: UnsafePointer<T>, ldb: Int,
        beta: T, c: UnsafeMutablePointer<T>, ldc: Int
    ) throws(BLASError) {
        let r = "gemm"
        let m32 = try int32(m, r, "m"), n32 = try int32(n, r, "n"), k32 = try int32(k, r, "k")
        let lda32 = try leading(lda, atLeast: transposeA.isTransposed ? m : k, r, "lda")
        let ldb32 = try leading(ldb, atLeast: transposeB.isTransposed ? k : n, r, "ldb")
        let ldc32 = try leading(ldc, atLeast: n, r, "ldc")
        T._gemm(transposeA.isTransposed, transposeB.isTransposed, m32, n32, k32, alpha, a, lda32, b, ldb32, beta, c, ldc32)
    }

    /// `C ← α·op(A)·op(B) + β·C` on matrices; `C` must already have the result's shape.
    public static func gemm<T: BLASScalar>(
        _ a: Matrix<T>, _ b: Matrix<T>,
        transposeA: Transpose = .noTranspose, transposeB: Transpose = .noTranspose,
        alpha: T = 1, beta: T = 0, into c: inout Matrix<T>
    ) throws(BLASError) {
        let (m, k) = transposeA.isTransposed ? (a.columns, a.rows) : (a.rows, a.columns)
        let (kb, n) = transposeB.isTransposed ? (b.columns, b.rows) : (b.rows, b.columns)
        guard k == kb, c.rows == m, c.columns == n else {
            throw .shapeMismatch(routine: "gemm", detail: "op(A) is \(m)×\(k), op(B) is \(kb)×\(n), C is \(c.rows)×\(c.columns)")
        }
        if m == 0 || n == 0 { return }
        let r = "gemm"
        let m32 = try int32(m, r, "m"), n32 = try int32(n, r, "n"), k32 = try int32(k, r, "k")
        // max(1, …): with k = 0 a stored operand has zero columns, yet BLAS wants a stride ≥ 1.
        let lda = try leading(max(1, a.columns), atLeast: transposeA.isTransposed ? m : k, r, "lda")
        let ldb = try leading(max(1, b.columns), atLeast: transposeB.isTransposed ? k : n, r, "ldb")
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    // invariant: storage is always allocated (at least one element), so baseAddress is non-nil
                    T._gemm(transposeA.isTransposed, transposeB.isTransposed, m32, n32, k32,
                            alpha, pa.baseAddress!, lda, pb.baseAddress!, ldb, beta, pc.baseAddress!, n32) // invariant: the buffer or result is non-empty / present by construction
                }
            }
        }
    }

    /// `op(A)·op(B)` as a new matrix.
    public static func matmul<T: BLASScalar>(
        _ a: Matrix<T>, _ b: Matrix<T>,
        transposeA: Transpose = .noTranspose, transposeB: Transpose = .noTranspose
    ) throws(BLASError) -> Matrix<T> {
        let m = transposeA.isTransposed ? a.columns : a.rows
        let n = transposeB.isTransposed ? b.rows : b.columns
        var c = Matrix<T>(rows: m, columns: n)
        try gemm(a, b, transposeA: transposeA, transposeB: transposeB, into: &c)
        return c
    }

    /// `C ← α·A·Aᵀ + β·C` (or `α·Aᵀ·A + β·C` when `transpose`), writing one triangle of the n×n `C`.
    ///
    /// With `transpose`, `A` is k×n (rows are samples): this is the Gram matrix `XᵀX` of PCA.
    @inlinable
    public static func syrk<T: BLASScalar>(
        upper: Bool = true, transpose: Transpose = .noTranspose, n: Int, k: Int,
        alpha: T, a: UnsafePointer<T>, lda: Int, beta: T, c: UnsafeMutablePointer<T>, ldc: Int
    ) throws(BLASError) {
        let r = "syrk"
        let n32 = try int32(n, r, "n"), k32 = try int32(k, r, "k")
        let lda32 = try leading(lda, atLeast: transpose.isTransposed ? n : k, r, "lda")
        let ldc32 = try leading(ldc, atLeast: n, r, "ldc")
        T._syrk(upper, transpose.isTransposed, n32, k32, alpha, a, lda32, beta, c, ldc32)
    }

    /// `C ← α·op(A)·op(A)ᵀ + β·C` on matrices, both triangles filled (the result is symmetric).
    public static func syrk<T: BLASScalar>(
        _ a: Matrix<T>, transpose: Transpose = .noTranspose, alpha: T = 1, beta: T = 0, into c: inout Matrix<T>
    ) throws(BLASError) {
        let (n, k) = transpose.isTransposed ? (a.columns, a.rows) : (a.rows, a.columns)
        guard c.rows == n, c.columns == n else {
            throw .shapeMismatch(routine: "syrk", detail: "op(A)·op(A)ᵀ is \(n)×\(n) but C is \(c.rows)×\(c.columns)")
        }
        if n == 0 { return }
        let n32 = try int32(n, "syrk", "n"), k32 = try int32(k, "syrk", "k")
        let lda = try leading(max(1, a.columns), atLeast: transpose.isTransposed ? n : k, "syrk", "lda") // k = 0: see gemm
        a.withUnsafeBufferPointer { pa in
            c.withUnsafeMutableBufferPointer { pc in
                // invariant: storage is always allocated, so baseAddress is non-nil
                T._syrk(true, transpose.isTransposed, n32, k32, alpha, pa.baseAddress!, lda, beta, pc.baseAddress!, n32) // invariant: see above
                for i in 0..<n { for j in 0..<i { pc[i * n + j] = pc[j * n + i] } }
            }
        }
    }

    // MARK: Level 2

    /// `y ← α·op(A)·x + β·y` with `A` m×n row-major (`lda ≥ n`).
    @inlinable
    public static func gemv<T: BLASScalar>(
        transpose: Transpose = .noTranspose, m: Int, n: Int,
        alpha: T, a: UnsafePointer<T>, lda: Int, x: UnsafePointer<T>, incx: Int = 1,
        beta: T, y: UnsafeMutablePointer<T>, incy: Int = 1
    ) throws(BLASError) {
        let r = "gemv"
        let m32 = try int32(m, r, "m"), n32 = try int32(n, r, "n")
        let lda32 = try leading(lda, atLeast: n, r, "lda")
        let incx32 = try increment(incx, r, "incx"), incy32 = try increment(incy, r, "incy")
        T._gemv(transpose.isTransposed, m32, n32, alpha, a, lda32, x, incx32, beta, y, incy32)
    }

    /// `y ← α·op(A)·x + β·y` on a matrix and arrays.
    public static func gemv<T: BLASScalar>(
        _ a: Matrix<T>, _ x: [T], transpose: Transpose = .noTranspose, alpha: T = 1, beta: T = 0, into y: inout [T]
    ) throws(BLASError) {
        let (rowsOut, inner) = transpose.isTransposed ? (a.columns, a.rows) : (a.rows, a.columns)
        guard x.count == inner, y.count == rowsOut else {
            throw .shapeMismatch(routine: "gemv", detail: "op(A) is \(rowsOut)×\(inner), x has \(x.count), y has \(y.count)")
        }
        if rowsOut == 0 { return }
        // β = 0 means y is not read (BLAS semantics), so NaN in y must not survive.
        if inner == 0 { for i in y.indices { y[i] = beta == 0 ? 0 : y[i] * beta }; return }
        let m32 = try int32(a.rows, "gemv", "m"), n32 = try int32(a.columns, "gemv", "n")
        a.withUnsafeBufferPointer { pa in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { py in
                    // invariant: non-empty arrays and allocated storage have base addresses
                    T._gemv(transpose.isTransposed, m32, n32, alpha, pa.baseAddress!, n32, px.baseAddress!, 1, beta, py.baseAddress!, 1) // invariant: see above
                }
            }
        }
    }

    // MARK: Level 1

    /// `y ← α·x + y` over `n` elements.
    @inlinable
    public static func axpy<T: BLASScalar>(
        n: Int, alpha: T, x: UnsafePointer<T>, incx: Int = 1, y: UnsafeMutablePointer<T>, incy: Int = 1
    ) throws(BLASError) {
        T._axpy(try int32(n, "axpy", "n"), alpha, x, try increment(incx, "axpy", "incx"),
                y, try increment(incy, "axpy", "incy"))
    }

    /// `y ← α·x + y` on arrays of equal length.
    public static func axpy<T: BLASScalar>(alpha: T, x: [T], y: inout [T]) throws(BLASError) {
        guard x.count == y.count else { throw .shapeMismatch(routine: "axpy", detail: "x has \(x.count), y has \(y.count)") }
        if x.isEmpty { return }
        let n = try int32(x.count, "axpy", "n")
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in
                T._axpy(n, alpha, px.baseAddress!, 1, py.baseAddress!, 1) // invariant: non-empty
            }
        }
    }

    /// `xᵀy` over `n` elements.
    @inlinable
    public static func dot<T: BLASScalar>(
        n: Int, x: UnsafePointer<T>, incx: Int = 1, y: UnsafePointer<T>, incy: Int = 1
    ) throws(BLASError) -> T {
        T._dot(try int32(n, "dot", "n"), x, try increment(incx, "dot", "incx"), y, try increment(incy, "dot", "incy"))
    }

    /// `xᵀy` on arrays of equal length.
    public static func dot<T: BLASScalar>(_ x: [T], _ y: [T]) throws(BLASError) -> T {
        guard x.count == y.count else { throw .shapeMismatch(routine: "dot", detail: "x has \(x.count), y has \(y.count)") }
        if x.isEmpty { return 0 }
        let n = try int32(x.count, "dot", "n")
        return x.withUnsafeBufferPointer { px in
            y.withUnsafeBufferPointer { py in
                T._dot(n, px.baseAddress!, 1, py.baseAddress!, 1) // invariant: non-empty
            }
        }
    }

    /// Euclidean norm `‖x‖₂` over `n` elements (scaled internally, so no overflow).
    ///
    /// A negative `incx` names the same elements as its magnitude (only the order differs), and
    /// OpenBLAS returns 0 for it, so the magnitude is passed.
    @inlinable
    public static func nrm2<T: BLASScalar>(n: Int, x: UnsafePointer<T>, incx: Int = 1) throws(BLASError) -> T {
        let inc = try increment(incx, "nrm2", "incx")
        return T._nrm2(try int32(n, "nrm2", "n"), x, Int32(truncatingIfNeeded: inc.magnitude)) // |inc| ≤ Int32.max
    }

    /// Euclidean norm of an array.
    public static func nrm2<T: BLASScalar>(_ x: [T]) throws(BLASError) -> T {
        if x.isEmpty { return 0 }
        let n = try int32(x.count, "nrm2", "n")
        return x.withUnsafeBufferPointer { px in T._nrm2(n, px.baseAddress!, 1) } // invariant: non-empty
    }

    /// `x ← α·x` over `n` elements.
    ///
    /// A negative `incx` names the same elements as its magnitude, and OpenBLAS silently skips
    /// such calls, so the magnitude is passed.
    @inlinable
    public static func scal<T: BLASScalar>(n: Int, alpha: T, x: UnsafeMutablePointer<T>, incx: Int = 1) throws(BLASError) {
        let inc = try increment(incx, "scal", "incx")
        T._scal(try int32(n, "scal", "n"), alpha, x, Int32(truncatingIfNeeded: inc.magnitude)) // |inc| ≤ Int32.max
    }

    /// `x ← α·x` on an array.
    public static func scal<T: BLASScalar>(alpha: T, x: inout [T]) throws(BLASError) {
        if x.isEmpty { return }
        let n = try int32(x.count, "scal", "n")
        x.withUnsafeMutableBufferPointer { px in T._scal(n, alpha, px.baseAddress!, 1) } // invariant: non-empty
    }
}
