import MLCore

/// Row-major single-precision GEMM, `C ← α·op(A)·op(B) + β·C`, for shapes a bound layer has
/// already checked (every dimension and product fits Int32, see ``checkedDimensions(_:path:)``).
/// Straight to the BLAS routine: no per-call validation in the inner loops of a training step.
@inline(__always)
func sgemm(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
           alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
           beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0, n > 0 else { return }
    if k == 0 {
        // BLAS would be asked for a zero inner dimension; the product is empty, so only β applies.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    Float._gemm(transposeA, transposeB, Int32(truncatingIfNeeded: m), Int32(truncatingIfNeeded: n),
                Int32(truncatingIfNeeded: k), alpha, a, Int32(truncatingIfNeeded: lda), b,
                Int32(truncatingIfNeeded: ldb), beta, c, Int32(truncatingIfNeeded: ldc))
}

/// Refuses a layer whose buffers would not fit BLAS's 32-bit dimensions.
func checkedDimensions(_ values: [Int], path: String) throws(NetworkError) {
    for v in values where v < 0 || v > Int(Int32.max) {
        throw .invalidLayer(path: path.layerName, reason: "a dimension of \(v) is too large for BLAS (at most \(Int32.max))")
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    /// Sets `count` floats to zero.
    @inline(__always)
    func zero(_ count: Int) { if count > 0 { update(repeating: 0, count: count) } }
}

/// `Σ x[0..<count]` with eight independent partial sums (a fixed order, so deterministic).
@inline(__always)
func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
    let raw = UnsafeRawPointer(x)
    var acc = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= count {
        acc += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    var s = acc.sum()
    while i < count { s += x[i]; i += 1 }
    return s
}

/// `y[i] += x[i]` for `count` elements, eight lanes at a time.
@inline(__always)
func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
    var i = 0
    while i + 8 <= count {
        let v = ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) + rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        ry.storeBytes(of: v, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { y[i] += x[i]; i += 1 }
}

/// `y[i] += value` for `count` elements.
@inline(__always)
func add(_ value: Float, into y: UnsafeMutablePointer<Float>, count: Int) {
    let ry = UnsafeMutableRawPointer(y), v = SIMD8<Float>(repeating: value)
    var i = 0
    while i + 8 <= count {
        ry.storeBytes(of: ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) + v, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { y[i] += value; i += 1 }
}

/// `y[i] = x[i]` for `count` elements (non-overlapping): eight lanes at a time for short runs,
/// where a call to memmove would cost more than the copy; memmove for long ones.
@inline(__always)
func copy(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    guard count < 64 else { y.update(from: x, count: count); return }
    let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
    var i = 0
    while i + 8 <= count {
        ry.storeBytes(of: rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self), toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { y[i] = x[i]; i += 1 }
}

/// `Σ (x[i] − center)²` with eight independent partial sums (a fixed order, so deterministic).
@inline(__always)
func squaredDeviations(_ x: UnsafePointer<Float>, from center: Float, count: Int) -> Float {
    let raw = UnsafeRawPointer(x), c = SIMD8<Float>(repeating: center)
    var acc = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= count {
        let d = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - c
        acc += d * d
        i += 8
    }
    var s = acc.sum()
    while i < count { let d = x[i] - center; s += d * d; i += 1 }
    return s
}

/// `(Σ g[i], Σ g[i]·(x[i] − center))` with eight independent partial sums each.
@inline(__always)
func gradientSums(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, center: Float, count: Int) -> (Float, Float) {
    let rg = UnsafeRawPointer(g), rx = UnsafeRawPointer(x), c = SIMD8<Float>(repeating: center)
    var sg = SIMD8<Float>(repeating: 0), sgx = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= count {
        let gv = rg.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        sg += gv
        sgx += gv * (rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - c)
        i += 8
    }
    var a = sg.sum(), b = sgx.sum()
    while i < count { a += g[i]; b += g[i] * (x[i] - center); i += 1 }
    return (a, b)
}

/// `y[i] = x[i]·scale + shift`.
@inline(__always)
func scaleShift(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, scale: Float, shift: Float, count: Int) {
    let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
    let a = SIMD8<Float>(repeating: scale), b = SIMD8<Float>(repeating: shift)
    var i = 0
    while i + 8 <= count {
        ry.storeBytes(of: rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * a + b, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { y[i] = x[i] * scale + shift; i += 1 }
}

/// `d[i] = α·g[i] + β·x[i] + γ`.
@inline(__always)
func combine(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, into d: UnsafeMutablePointer<Float>,
             alpha: Float, beta: Float, gamma: Float, count: Int) {
    let rg = UnsafeRawPointer(g), rx = UnsafeRawPointer(x), rd = UnsafeMutableRawPointer(d)
    let a = SIMD8<Float>(repeating: alpha), b = SIMD8<Float>(repeating: beta), c = SIMD8<Float>(repeating: gamma)
    var i = 0
    while i + 8 <= count {
        let v = rg.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * a
            + rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * b + c
        rd.storeBytes(of: v, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { d[i] = alpha * g[i] + beta * x[i] + gamma; i += 1 }
}

/// `y[i] = max(a[i] + b[i], 0)` (a NaN sum stays NaN, as PyTorch's ReLU).
@inline(__always)
func addReLU(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b), ry = UnsafeMutableRawPointer(y)
    let zero = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= count {
        let v = ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) + rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        ry.storeBytes(of: v.replacing(with: zero, where: v .< zero), toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { let v = a[i] + b[i]; y[i] = v < 0 ? 0 : v; i += 1 }
}

/// `d[i] = a[i] + b[i]`.
@inline(__always)
func sum(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into d: UnsafeMutablePointer<Float>, count: Int) {
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b), rd = UnsafeMutableRawPointer(d)
    var i = 0
    while i + 8 <= count {
        let v = ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) + rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        rd.storeBytes(of: v, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { d[i] = a[i] + b[i]; i += 1 }
}
