import CBLAS

/// A floating-point type that OpenBLAS and LAPACKE compute with: `Float` or `Double`.
///
/// The requirements are the raw routines, one per BLAS/LAPACK entry point, spelled with Swift
/// types so no other file needs to import the C module. Call them through ``BLAS`` and
/// ``LAPACK``, which check sizes and turn failures into thrown errors.
public protocol BLASScalar: BinaryFloatingPoint, SIMDScalar, Sendable, Codable, _BLASRoutines, _LAPACKRoutines
where RawSignificand: FixedWidthInteger {
    /// The NPY / safetensors dtype name (`"f4"`, `"f8"`).
    static var dtypeName: String { get }
}

/// Raw BLAS entry points (row-major). Not API: use ``BLAS``.
public protocol _BLASRoutines {
    static func _gemm(
        _ transA: Bool, _ transB: Bool, _ m: Int32, _ n: Int32, _ k: Int32,
        _ alpha: Self, _ a: UnsafePointer<Self>, _ lda: Int32, _ b: UnsafePointer<Self>, _ ldb: Int32,
        _ beta: Self, _ c: UnsafeMutablePointer<Self>, _ ldc: Int32)
    static func _gemv(
        _ trans: Bool, _ m: Int32, _ n: Int32, _ alpha: Self, _ a: UnsafePointer<Self>, _ lda: Int32,
        _ x: UnsafePointer<Self>, _ incx: Int32, _ beta: Self, _ y: UnsafeMutablePointer<Self>, _ incy: Int32)
    static func _syrk(
        _ upper: Bool, _ trans: Bool, _ n: Int32, _ k: Int32, _ alpha: Self, _ a: UnsafePointer<Self>,
        _ lda: Int32, _ beta: Self, _ c: UnsafeMutablePointer<Self>, _ ldc: Int32)
    static func _axpy(_ n: Int32, _ alpha: Self, _ x: UnsafePointer<Self>, _ incx: Int32, _ y: UnsafeMutablePointer<Self>, _ incy: Int32)
    static func _dot(_ n: Int32, _ x: UnsafePointer<Self>, _ incx: Int32, _ y: UnsafePointer<Self>, _ incy: Int32) -> Self
    static func _nrm2(_ n: Int32, _ x: UnsafePointer<Self>, _ incx: Int32) -> Self
    static func _scal(_ n: Int32, _ alpha: Self, _ x: UnsafeMutablePointer<Self>, _ incx: Int32)
}

@inline(__always) private func order() -> CBLAS_ORDER { CblasRowMajor }
@inline(__always) private func trans(_ t: Bool) -> CBLAS_TRANSPOSE { t ? CblasTrans : CblasNoTrans }
@inline(__always) private func uplo(_ upper: Bool) -> CBLAS_UPLO { upper ? CblasUpper : CblasLower }

extension Float: BLASScalar {
    public static var dtypeName: String { "f4" }

    public static func _gemm(
        _ transA: Bool, _ transB: Bool, _ m: Int32, _ n: Int32, _ k: Int32,
        _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int32, _ b: UnsafePointer<Float>, _ ldb: Int32,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int32
    ) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    public static func _gemv(
        _ t: Bool, _ m: Int32, _ n: Int32, _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int32,
        _ x: UnsafePointer<Float>, _ incx: Int32, _ beta: Float, _ y: UnsafeMutablePointer<Float>, _ incy: Int32
    ) {
        cblas_sgemv(order(), trans(t), m, n, alpha, a, lda, x, incx, beta, y, incy)
    }
    public static func _syrk(
        _ upper: Bool, _ t: Bool, _ n: Int32, _ k: Int32, _ alpha: Float, _ a: UnsafePointer<Float>,
        _ lda: Int32, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int32
    ) {
        cblas_ssyrk(order(), uplo(upper), trans(t), n, k, alpha, a, lda, beta, c, ldc)
    }
    public static func _axpy(_ n: Int32, _ alpha: Float, _ x: UnsafePointer<Float>, _ incx: Int32, _ y: UnsafeMutablePointer<Float>, _ incy: Int32) {
        cblas_saxpy(n, alpha, x, incx, y, incy)
    }
    public static func _dot(_ n: Int32, _ x: UnsafePointer<Float>, _ incx: Int32, _ y: UnsafePointer<Float>, _ incy: Int32) -> Float {
        cblas_sdot(n, x, incx, y, incy)
    }
    public static func _nrm2(_ n: Int32, _ x: UnsafePointer<Float>, _ incx: Int32) -> Float {
        cblas_snrm2(n, x, incx)
    }
    public static func _scal(_ n: Int32, _ alpha: Float, _ x: UnsafeMutablePointer<Float>, _ incx: Int32) {
        cblas_sscal(n, alpha, x, incx)
    }
}

extension Double: BLASScalar {
    public static var dtypeName: String { "f8" }

    public static func _gemm(
        _ transA: Bool, _ transB: Bool, _ m: Int32, _ n: Int32, _ k: Int32,
        _ alpha: Double, _ a: UnsafePointer<Double>, _ lda: Int32, _ b: UnsafePointer<Double>, _ ldb: Int32,
        _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int32
    ) {
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    public static func _gemv(
        _ t: Bool, _ m: Int32, _ n: Int32, _ alpha: Double, _ a: UnsafePointer<Double>, _ lda: Int32,
        _ x: UnsafePointer<Double>, _ incx: Int32, _ beta: Double, _ y: UnsafeMutablePointer<Double>, _ incy: Int32
    ) {
        cblas_dgemv(order(), trans(t), m, n, alpha, a, lda, x, incx, beta, y, incy)
    }
    public static func _syrk(
        _ upper: Bool, _ t: Bool, _ n: Int32, _ k: Int32, _ alpha: Double, _ a: UnsafePointer<Double>,
        _ lda: Int32, _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int32
    ) {
        cblas_dsyrk(order(), uplo(upper), trans(t), n, k, alpha, a, lda, beta, c, ldc)
    }
    public static func _axpy(_ n: Int32, _ alpha: Double, _ x: UnsafePointer<Double>, _ incx: Int32, _ y: UnsafeMutablePointer<Double>, _ incy: Int32) {
        cblas_daxpy(n, alpha, x, incx, y, incy)
    }
    public static func _dot(_ n: Int32, _ x: UnsafePointer<Double>, _ incx: Int32, _ y: UnsafePointer<Double>, _ incy: Int32) -> Double {
        cblas_ddot(n, x, incx, y, incy)
    }
    public static func _nrm2(_ n: Int32, _ x: UnsafePointer<Double>, _ incx: Int32) -> Double {
        cblas_dnrm2(n, x, incx)
    }
    public static func _scal(_ n: Int32, _ alpha: Double, _ x: UnsafeMutablePointer<Double>, _ incx: Int32) {
        cblas_dscal(n, alpha, x, incx)
    }
}
