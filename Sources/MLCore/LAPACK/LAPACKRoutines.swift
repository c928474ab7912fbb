import CBLAS

/// Raw LAPACKE entry points (row-major), returning LAPACK's `info`. Not API: use ``LAPACK``.
public protocol _LAPACKRoutines {
    static func _syevd(_ vectors: Bool, _ upper: Bool, _ n: Int32, _ a: UnsafeMutablePointer<Self>, _ lda: Int32, _ w: UnsafeMutablePointer<Self>) -> Int32
    static func _gesdd(
        _ job: UInt8, _ m: Int32, _ n: Int32, _ a: UnsafeMutablePointer<Self>, _ lda: Int32, _ s: UnsafeMutablePointer<Self>,
        _ u: UnsafeMutablePointer<Self>?, _ ldu: Int32, _ vt: UnsafeMutablePointer<Self>?, _ ldvt: Int32) -> Int32
    static func _potrf(_ upper: Bool, _ n: Int32, _ a: UnsafeMutablePointer<Self>, _ lda: Int32) -> Int32
    static func _potrs(_ upper: Bool, _ n: Int32, _ nrhs: Int32, _ a: UnsafePointer<Self>, _ lda: Int32, _ b: UnsafeMutablePointer<Self>, _ ldb: Int32) -> Int32
    static func _geqrf(_ m: Int32, _ n: Int32, _ a: UnsafeMutablePointer<Self>, _ lda: Int32, _ tau: UnsafeMutablePointer<Self>) -> Int32
    static func _orgqr(_ m: Int32, _ n: Int32, _ k: Int32, _ a: UnsafeMutablePointer<Self>, _ lda: Int32, _ tau: UnsafePointer<Self>) -> Int32
    static func _gels(_ m: Int32, _ n: Int32, _ nrhs: Int32, _ a: UnsafeMutablePointer<Self>, _ lda: Int32, _ b: UnsafeMutablePointer<Self>, _ ldb: Int32) -> Int32
}

private let rowMajor = LAPACK_ROW_MAJOR
@inline(__always) private func ch(_ c: UInt8) -> CChar { CChar(bitPattern: c) }
@inline(__always) private func uplo(_ upper: Bool) -> CChar { ch(upper ? UInt8(ascii: "U") : UInt8(ascii: "L")) }
@inline(__always) private func job(_ vectors: Bool) -> CChar { ch(vectors ? UInt8(ascii: "V") : UInt8(ascii: "N")) }

extension Float: _LAPACKRoutines {
    public static func _syevd(_ vectors: Bool, _ upper: Bool, _ n: Int32, _ a: UnsafeMutablePointer<Float>, _ lda: Int32, _ w: UnsafeMutablePointer<Float>) -> Int32 {
        LAPACKE_ssyevd(rowMajor, job(vectors), uplo(upper), n, a, lda, w)
    }
    public static func _gesdd(
        _ j: UInt8, _ m: Int32, _ n: Int32, _ a: UnsafeMutablePointer<Float>, _ lda: Int32, _ s: UnsafeMutablePointer<Float>,
        _ u: UnsafeMutablePointer<Float>?, _ ldu: Int32, _ vt: UnsafeMutablePointer<Float>?, _ ldvt: Int32
    ) -> Int32 {
        LAPACKE_sgesdd(rowMajor, ch(j), m, n, a, lda, s, u, ldu, vt, ldvt)
    }
    public static func _potrf(_ upper: Bool, _ n: Int32, _ a: UnsafeMutablePointer<Float>, _ lda: Int32) -> Int32 {
        LAPACKE_spotrf(rowMajor, uplo(upper), n, a, lda)
    }
    public static func _potrs(_ upper: Bool, _ n: Int32, _ nrhs: Int32, _ a: UnsafePointer<Float>, _ lda: Int32, _ b: UnsafeMutablePointer<Float>, _ ldb: Int32) -> Int32 {
        LAPACKE_spotrs(rowMajor, uplo(upper), n, nrhs, a, lda, b, ldb)
    }
    public static func _geqrf(_ m: Int32, _ n: Int32, _ a: UnsafeMutablePointer<Float>, _ lda: Int32, _ tau: UnsafeMutablePointer<Float>) -> Int32 {
        LAPACKE_sgeqrf(rowMajor, m, n, a, lda, tau)
    }
    public static func _orgqr(_ m: Int32, _ n: Int32, _ k: Int32, _ a: UnsafeMutablePointer<Float>, _ lda: Int32, _ tau: UnsafePointer<Float>) -> Int32 {
        LAPACKE_sorgqr(rowMajor, m, n, k, a, lda, tau)
    }
    public static func _gels(_ m: Int32, _ n: Int32, _ nrhs: Int32, _ a: UnsafeMutablePointer<Float>, _ lda: Int32, _ b: UnsafeMutablePointer<Float>, _ ldb: Int32) -> Int32 {
        LAPACKE_sgels(rowMajor, ch(UInt8(ascii: "N")), m, n, nrhs, a, lda, b, ldb)
    }
}

extension Double: _LAPACKRoutines {
    public static func _syevd(_ vectors: Bool, _ upper: Bool, _ n: Int32, _ a: UnsafeMutablePointer<Double>, _ lda: Int32, _ w: UnsafeMutablePointer<Double>) -> Int32 {
        LAPACKE_dsyevd(rowMajor, job(vectors), uplo(upper), n, a, lda, w)
    }
    public static func _gesdd(
        _ j: UInt8, _ m: Int32, _ n: Int32, _ a: UnsafeMutablePointer<Double>, _ lda: Int32, _ s: UnsafeMutablePointer<Double>,
        _ u: UnsafeMutablePointer<Double>?, _ ldu: Int32, _ vt: UnsafeMutablePointer<Double>?, _ ldvt: Int32
    ) -> Int32 {
        LAPACKE_dgesdd(rowMajor, ch(j), m, n, a, lda, s, u, ldu, vt, ldvt)
    }
    public static func _potrf(_ upper: Bool, _ n: Int32, _ a: UnsafeMutablePointer<Double>, _ lda: Int32) -> Int32 {
        LAPACKE_dpotrf(rowMajor, uplo(upper), n, a, lda)
    }
    public static func _potrs(_ upper: Bool, _ n: Int32, _ nrhs: Int32, _ a: UnsafePointer<Double>, _ lda: Int32, _ b: UnsafeMutablePointer<Double>, _ ldb: Int32) -> Int32 {
        LAPACKE_dpotrs(rowMajor, uplo(upper), n, nrhs, a, lda, b, ldb)
    }
    public static func _geqrf(_ m: Int32, _ n: Int32, _ a: UnsafeMutablePointer<Double>, _ lda: Int32, _ tau: UnsafeMutablePointer<Double>) -> Int32 {
        LAPACKE_dgeqrf(rowMajor, m, n, a, lda, tau)
    }
    public static func _orgqr(_ m: Int32, _ n: Int32, _ k: Int32, _ a: UnsafeMutablePointer<Double>, _ lda: Int32, _ tau: UnsafePointer<Double>) -> Int32 {
        LAPACKE_dorgqr(rowMajor, m, n, k, a, lda, tau)
    }
    public static func _gels(_ m: Int32, _ n: Int32, _ nrhs: Int32, _ a: UnsafeMutablePointer<Double>, _ lda: Int32, _ b: UnsafeMutablePointer<Double>, _ ldb: Int32) -> Int32 {
        LAPACKE_dgels(rowMajor, ch(UInt8(ascii: "N")), m, n, nrhs, a, lda, b, ldb)
    }
}
