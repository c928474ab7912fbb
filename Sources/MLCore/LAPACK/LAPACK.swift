/// A LAPACK routine that failed, with LAPACK's `info` turned into a reason.
public enum LAPACKError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A size that does not fit LAPACKE's 32-bit integers.
    case dimensionTooLarge(routine: String, argument: String, value: Int)
    /// `info < 0`: argument `index` was rejected (a bug in the caller, reported not trapped).
    case illegalArgument(routine: String, index: Int)
    /// Operand shapes that do not agree.
    case shapeMismatch(routine: String, detail: String)
    /// `potrf`: the leading minor of this order is not positive definite.
    case notPositiveDefinite(routine: String, minor: Int)
    /// `syevd` / `gesdd`: the algorithm did not converge (`info` off-diagonal elements).
    case didNotConverge(routine: String, info: Int)
    /// `gels`: the matrix does not have full rank (`info` is the zero diagonal element of R).
    case rankDeficient(routine: String, info: Int)
    /// Any other nonzero `info`.
    case failed(routine: String, info: Int)

    public var description: String {
        switch self {
        case let .dimensionTooLarge(r, a, v): return "\(r): \(a) = \(v) exceeds LAPACK's 32-bit limit"
        case let .illegalArgument(r, i): return "\(r): argument \(i) had an illegal value"
        case let .shapeMismatch(r, d): return "\(r): \(d)"
        case let .notPositiveDefinite(r, m):
            return "\(r): the matrix is not positive definite (leading minor of order \(m)); add a ridge term or check for duplicate columns"
        case let .didNotConverge(r, i): return "\(r): did not converge (\(i) off-diagonal elements); check the input for NaN/Inf"
        case let .rankDeficient(r, i):
            return "\(r): the matrix is rank deficient (diagonal element \(i) of R is zero); remove collinear columns"
        case let .failed(r, i): return "\(r): failed with info = \(i)"
        }
    }
}

/// Typed wrappers over LAPACKE (row-major). Inputs are taken by value and copied as LAPACK
/// overwrites them; results come back as new matrices. `info` becomes a thrown ``LAPACKError``.
public enum LAPACK {
    static func int32(_ value: Int, _ routine: String, _ argument: String) throws(LAPACKError) -> Int32 {
        guard value <= Int(Int32.max) else { throw .dimensionTooLarge(routine: routine, argument: argument, value: value) }
        return Int32(value)
    }

    static func check(_ info: Int32, _ routine: String, positive: (Int) -> LAPACKError) throws(LAPACKError) {
        if info < 0 { throw .illegalArgument(routine: routine, index: Int(-info)) }
        if info > 0 { throw positive(Int(info)) }
    }

    static func requireSquare<T>(_ a: Matrix<T>, _ routine: String) throws(LAPACKError) {
        guard a.rows == a.columns else {
            throw .shapeMismatch(routine: routine, detail: "the matrix is \(a.rows)×\(a.columns), it must be square")
        }
    }

    /// Eigen-decomposition of a symmetric matrix by divide and conquer (`syevd`).
    ///
    /// Only the `upper` (or lower) triangle is read. Eigenvalues come back in **ascending** order;
    /// eigenvector `j` is column `j` of `vectors` (`A·V = V·diag(λ)`), or `nil` when not asked for.
    public static func syevd<T: BLASScalar>(
        _ a: Matrix<T>, computeVectors: Bool = true, upper: Bool = true
    ) throws(LAPACKError) -> (values: [T], vectors: Matrix<T>?) {
        try requireSquare(a, "syevd")
        let n = try int32(a.rows, "syevd", "n")
        var work = a
        var w = [T](repeating: 0, count: a.rows)
        if a.rows == 0 { return (w, computeVectors ? work : nil) }
        let info = work.withUnsafeMutableBufferPointer { pa in
            w.withUnsafeMutableBufferPointer { pw in
                // invariant: non-empty buffers have base addresses
                T._syevd(computeVectors, upper, n, pa.baseAddress!, n, pw.baseAddress!) // invariant: see above
            }
        }
        try check(info, "syevd") { .didNotConverge(routine: "syevd", info: $0) }
        return (w, computeVectors ? work : nil)
    }

    /// Which singular vectors ``gesdd(_:vectors:)`` computes.
    public enum SingularVectors: Sendable {
        /// `U` m×m and `Vᵀ` n×n.
        case all
        /// The thin decomposition: `U` m×min(m,n), `Vᵀ` min(m,n)×n.
        case thin
        /// Singular values only.
        case none
    }

    /// Singular value decomposition `A = U·diag(s)·Vᵀ` by divide and conquer (`gesdd`).
    /// Singular values come back in descending order.
    public static func gesdd<T: BLASScalar>(
        _ a: Matrix<T>, vectors: SingularVectors = .thin
    ) throws(LAPACKError) -> (u: Matrix<T>?, s: [T], vt: Matrix<T>?) {
        let m = a.rows, n = a.columns, r = min(m, n)
        let m32 = try int32(m, "gesdd", "m"), n32 = try int32(n, "gesdd", "n")
        var work = a
        var s = [T](repeating: 0, count: r)
        let (uCols, vtRows, job): (Int, Int, UInt8) = switch vectors {
        case .all: (m, n, UInt8(ascii: "A"))
        case .thin: (r, r, UInt8(ascii: "S"))
        case .none: (0, 0, UInt8(ascii: "N"))
        }
        var u = Matrix<T>(rows: vectors == .none ? 0 : m, columns: uCols)
        var vt = Matrix<T>(rows: vtRows, columns: vectors == .none ? 0 : n)
        if r == 0 { return (vectors == .none ? nil : u, s, vectors == .none ? nil : vt) }
        let info = work.withUnsafeMutableBufferPointer { pa in
            s.withUnsafeMutableBufferPointer { ps in
                u.withUnsafeMutableBufferPointer { pu in
                    vt.withUnsafeMutableBufferPointer { pvt in
                        // invariant: allocated storage has base addresses; LAPACK reads ldu/ldvt ≥ 1 even when unused
                        T._gesdd(job, m32, n32, pa.baseAddress!, n32, ps.baseAddress!, // invariant: see above
                                 vectors == .none ? nil : pu.baseAddress, Int32(max(1, uCols)),
                                 vectors == .none ? nil : pvt.baseAddress, Int32(max(1, n)))
                    }
                }
            }
        }
        try check(info, "gesdd") { .didNotConverge(routine: "gesdd", info: $0) }
        return (vectors == .none ? nil : u, s, vectors == .none ? nil : vt)
    }

    /// Cholesky factorization `A = L·Lᵀ` (`upper: false`) or `Uᵀ·U` (`potrf`).
    ///
    /// Returns the factor with the other triangle set to zero.
    public static func potrf<T: BLASScalar>(_ a: Matrix<T>, upper: Bool = false) throws(LAPACKError) -> Matrix<T> {
        try requireSquare(a, "potrf")
        let n = a.rows
        let n32 = try int32(n, "potrf", "n")
        var work = a
        if n == 0 { return work }
        let info = work.withUnsafeMutableBufferPointer { pa in
            T._potrf(upper, n32, pa.baseAddress!, n32) // invariant: non-empty
        }
        try check(info, "potrf") { .notPositiveDefinite(routine: "potrf", minor: $0) }
        work.withUnsafeMutableBufferPointer { p in
            for i in 0..<n {
                for j in 0..<n where upper ? j < i : j > i { p[i * n + j] = 0 }
            }
        }
        return work
    }

    /// Solves `A·X = B` given the Cholesky factor of `A` from ``potrf(_:upper:)`` (`potrs`).
    public static func potrs<T: BLASScalar>(
        factor: Matrix<T>, upper: Bool = false, _ b: Matrix<T>
    ) throws(LAPACKError) -> Matrix<T> {
        try requireSquare(factor, "potrs")
        guard b.rows == factor.rows else {
            throw .shapeMismatch(routine: "potrs", detail: "the factor is \(factor.rows)×\(factor.columns) but B has \(b.rows) rows")
        }
        let n32 = try int32(factor.rows, "potrs", "n"), nrhs = try int32(b.columns, "potrs", "nrhs")
        var x = b
        if b.count == 0 { return x }
        let info = factor.withUnsafeBufferPointer { pa in
            x.withUnsafeMutableBufferPointer { pb in
                T._potrs(upper, n32, nrhs, pa.baseAddress!, n32, pb.baseAddress!, nrhs) // invariant: non-empty
            }
        }
        try check(info, "potrs") { .failed(routine: "potrs", info: $0) }
        return x
    }

    /// QR factorization in LAPACK's compact form (`geqrf`): R in the upper triangle, the
    /// Householder reflectors below it, their scales in `tau`. Pass both to ``orgqr(_:tau:)``.
    public static func geqrf<T: BLASScalar>(_ a: Matrix<T>) throws(LAPACKError) -> (qr: Matrix<T>, tau: [T]) {
        let m32 = try int32(a.rows, "geqrf", "m"), n32 = try int32(a.columns, "geqrf", "n")
        var work = a
        var tau = [T](repeating: 0, count: min(a.rows, a.columns))
        if tau.isEmpty { return (work, tau) }
        let info = work.withUnsafeMutableBufferPointer { pa in
            tau.withUnsafeMutableBufferPointer { pt in
                T._geqrf(m32, n32, pa.baseAddress!, n32, pt.baseAddress!) // invariant: non-empty
            }
        }
        try check(info, "geqrf") { .failed(routine: "geqrf", info: $0) }
        return (work, tau)
    }

    /// The m×min(m,n) orthonormal `Q` from ``geqrf(_:)``'s output (`orgqr`).
    public static func orgqr<T: BLASScalar>(_ qr: Matrix<T>, tau: [T]) throws(LAPACKError) -> Matrix<T> {
        let m = qr.rows, k = tau.count, n = min(qr.rows, qr.columns)
        guard k == n else {
            throw .shapeMismatch(routine: "orgqr", detail: "tau has \(k) scales for a \(qr.rows)×\(qr.columns) factorization")
        }
        let m32 = try int32(m, "orgqr", "m"), n32 = try int32(n, "orgqr", "n")
        // Q has n = min(m, n) columns: keep the first n columns of the compact form.
        var q = Matrix<T>(rows: m, columns: n)
        if n == 0 { return q }
        q.withUnsafeMutableBufferPointer { pq in
            qr.withUnsafeBufferPointer { ps in
                for i in 0..<m { for j in 0..<n { pq[i * n + j] = ps[i * qr.columns + j] } }
            }
        }
        let info = q.withUnsafeMutableBufferPointer { pq in
            tau.withUnsafeBufferPointer { pt in
                T._orgqr(m32, n32, n32, pq.baseAddress!, n32, pt.baseAddress!) // invariant: non-empty
            }
        }
        try check(info, "orgqr") { .failed(routine: "orgqr", info: $0) }
        return q
    }

    /// The upper-triangular `R` (min(m,n)×n) from ``geqrf(_:)``'s output.
    public static func upperTriangle<T: BLASScalar>(ofQR qr: Matrix<T>) -> Matrix<T> {
        let r = min(qr.rows, qr.columns), n = qr.columns
        return Matrix(rows: r, columns: n) { out in
            qr.withUnsafeBufferPointer { src in
                for i in 0..<r { for j in 0..<n { out[i * n + j] = j >= i ? src[i * n + j] : 0 } }
            }
        }
    }

    /// Least squares `min ‖A·X − B‖` for a full-rank `A` (m×n, m ≥ n) by QR (`gels`); for
    /// m < n the minimum-norm solution. Returns `X` (n×nrhs).
    public static func gels<T: BLASScalar>(_ a: Matrix<T>, _ b: Matrix<T>) throws(LAPACKError) -> Matrix<T> {
        let m = a.rows, n = a.columns, nrhs = b.columns
        guard b.rows == m else {
            throw .shapeMismatch(routine: "gels", detail: "A is \(m)×\(n) but B has \(b.rows) rows")
        }
        let m32 = try int32(m, "gels", "m"), n32 = try int32(n, "gels", "n"), r32 = try int32(nrhs, "gels", "nrhs")
        // LAPACK needs B with max(m, n) rows: the solution is returned in its first n rows.
        let ldRows = max(m, n)
        var work = a
        var x = Matrix<T>(rows: ldRows, columns: nrhs)
        x.withUnsafeMutableBufferPointer { px in
            b.withUnsafeBufferPointer { pb in
                for i in 0..<(m * nrhs) { px[i] = pb[i] }
            }
        }
        if m == 0 || n == 0 || nrhs == 0 { return Matrix(rows: n, columns: nrhs) }
        let info = work.withUnsafeMutableBufferPointer { pa in
            x.withUnsafeMutableBufferPointer { px in
                T._gels(m32, n32, r32, pa.baseAddress!, n32, px.baseAddress!, r32) // invariant: non-empty
            }
        }
        try check(info, "gels") { .rankDeficient(routine: "gels", info: $0) }
        // A copy of the n solution rows, so a tall problem does not keep all m rows alive.
        return Matrix(rows: n, columns: nrhs) { out in
            x.withUnsafeBufferPointer { px in
                for i in 0..<(n * nrhs) { out[i] = px[i] }
            }
        }
    }
}
