// Resizing and cropping. Resize semantics are OpenCV's `cv::resize(..., INTER_LINEAR)` (what
// MXNet's image iterators call), computed in Float rather than OpenCV's 11-bit fixed point.

extension PixelImage {
    /// The image resized to `width × height` by bilinear interpolation with OpenCV
    /// `INTER_LINEAR` semantics (no antialiasing: a large reduction samples, it does not average).
    ///
    /// For each output column `x` the source coordinate is the half-pixel-centre mapping
    /// `sx = (x + 0.5) · inWidth / width − 0.5` (in Double); with `x0 = ⌊sx⌋` and `a = sx − x0`,
    /// `x0 < 0` becomes `x0 = 0, a = 0` and `x0 ≥ inWidth − 1` becomes `x0 = inWidth − 1, a = 0`
    /// (edges clamp, as OpenCV does), and the weights are `w1 = Float(a)`, `w0 = 1 − w1`. Rows
    /// likewise. Each channel is computed in Float, horizontally first, in this order:
    ///
    /// ```
    /// h(row) = w0[x] · p[row][x0] + w1[x] · p[row][x0 + 1]        (x0 + 1 clamped to the image)
    /// v      = v0[y] · h(y0)      + v1[y] · h(y0 + 1)
    /// out    = UInt8(min(v + 0.5, 255))                             (rounds half up)
    /// ```
    ///
    /// This is the exact (not approximate) result: the tests check it against a per-pixel loop
    /// and against the same formula in NumPy float32. OpenCV's fixed-point weights make its
    /// output differ from this by at most 1.
    ///
    /// Indices and weights are computed once per column and once per row; each source row is
    /// interpolated horizontally once and kept while two output rows need it.
    ///
    /// - Throws: ``ImageProblem/invalidSize(width:height:)`` for a side below 1,
    ///   ``ImageProblem/resultTooLarge(width:height:limits:)`` past `limits`.
    public func resized(width: Int, height: Int, limits: ImageLimits = .default) throws(ImageProblem) -> PixelImage {
        guard width > 0, height > 0 else { throw .invalidSize(width: width, height: height) }
        guard limits.allows(width: width, height: height) else {
            throw .resultTooLarge(width: width, height: height, limits: limits)
        }
        if width == self.width && height == self.height { return self }
        let columns = ResizeAxis(input: self.width, output: width)
        let rows = ResizeAxis(input: self.height, output: height)
        let c = channels
        let outRowCount = width * c
        let source = self
        let result = [UInt8](unsafeUninitializedCapacity: height * outRowCount) { out, initialized in
            source.withUnsafePixels { src in
                // Two interpolated source rows, tagged with the source row they hold.
                let cache = UnsafeMutableBufferPointer<Float>.allocate(capacity: 2 * outRowCount)
                defer { cache.deallocate() }
                var held = (-1, -1)
                func row(_ r: Int, avoiding slot: Int) -> (Int, UnsafeMutablePointer<Float>) {
                    // invariant: the cache holds 2 × outRowCount ≥ 2 floats
                    let base = cache.baseAddress! // invariant: see above
                    if held.0 == r { return (0, base) }
                    if held.1 == r { return (1, base + outRowCount) }
                    let target = slot == 0 ? 1 : 0  // `slot` -1: either; take 0
                    let buffer = base + target * outRowCount
                    columns.interpolate(src.baseAddress! + r * source.rowBytes, channels: c, into: buffer) // invariant: images are non-empty
                    if target == 0 { held.0 = r } else { held.1 = r }
                    return (target, buffer)
                }
                let o = out.baseAddress! // invariant: the result is non-empty
                for y in 0..<height {
                    let r0 = Int(rows.first[y]), r1 = Int(rows.second[y])
                    // Keep the bottom row if it is already there; then keep the top one.
                    let (slot0, top) = row(r0, avoiding: held.0 == r1 ? 0 : (held.1 == r1 ? 1 : -1))
                    let (_, bottom) = row(r1, avoiding: slot0)
                    let v0 = rows.firstWeight[y], v1 = rows.secondWeight[y]
                    let line = o + y * outRowCount
                    for k in 0..<outRowCount {
                        line[k] = ResizeAxis.roundedByte(v0 * top[k] + v1 * bottom[k])
                    }
                }
            }
            initialized = height * outRowCount
        }
        return PixelImage(uncheckedWidth: width, height: height, channels: c, pixels: result)
    }

    /// The image resized (bilinear, as ``resized(width:height:limits:)``) so that its shorter
    /// side is `size`, keeping the aspect ratio as MXNet does (`resize_short` and the `resize`
    /// parameter of its image record iterator): the longer side becomes
    /// `⌊size · long / short⌋` (integer division, as MXNet's `size * h // w`), and a square
    /// image becomes `size × size`. See ``shorterSideSize(width:height:shorterSide:)``.
    public func resizedShorterSide(to size: Int, limits: ImageLimits = .default) throws(ImageProblem) -> PixelImage {
        let (w, h) = try Self.shorterSideSize(width: width, height: height, shorterSide: size)
        return try resized(width: w, height: h, limits: limits)
    }

    /// The size ``resizedShorterSide(to:limits:)`` produces for a `width × height` image: when
    /// `height > width`, `(size, ⌊size · height / width⌋)`, otherwise `(⌊size · width / height⌋, size)`.
    public static func shorterSideSize(width: Int, height: Int, shorterSide size: Int) throws(ImageProblem) -> (width: Int, height: Int) {
        guard size > 0, width > 0, height > 0 else { throw .invalidSize(width: size, height: size) }
        let long = max(width, height), short = min(width, height)
        let (product, overflow) = size.multipliedReportingOverflow(by: long)
        guard !overflow else { throw .invalidSize(width: size, height: Int.max) }
        let scaled = product / short
        return height > width ? (size, scaled) : (scaled, size)
    }

    /// The `width × height` rectangle whose top-left pixel is (`x`, `y`).
    ///
    /// - Throws: ``ImageProblem/cropOutOfBounds(x:y:width:height:imageWidth:imageHeight:)`` when
    ///   the rectangle is empty or does not lie inside the image.
    public func cropped(x: Int, y: Int, width: Int, height: Int) throws(ImageProblem) -> PixelImage {
        guard x >= 0, y >= 0, width > 0, height > 0, width <= self.width - x, height <= self.height - y else {
            throw .cropOutOfBounds(x: x, y: y, width: width, height: height, imageWidth: self.width, imageHeight: self.height)
        }
        if width == self.width && height == self.height { return self }
        let rowCount = width * channels
        let sourceRow = rowBytes
        let first = (y * self.width + x) * channels
        let pixels = [UInt8](unsafeUninitializedCapacity: height * rowCount) { out, initialized in
            withUnsafePixels { src in
                for r in 0..<height {
                    // invariant: both buffers are non-empty
                    (out.baseAddress! + r * rowCount).update(from: src.baseAddress! + first + r * sourceRow, count: rowCount) // invariant: see above
                }
            }
            initialized = height * rowCount
        }
        return PixelImage(uncheckedWidth: width, height: height, channels: channels, pixels: pixels)
    }

    /// The centred `width × height` rectangle: its top-left pixel is
    /// `(⌊(imageWidth − width) / 2⌋, ⌊(imageHeight − height) / 2⌋)`, as MXNet's `center_crop`.
    ///
    /// - Throws: ``ImageProblem/cropOutOfBounds(x:y:width:height:imageWidth:imageHeight:)`` when
    ///   the crop is larger than the image (or empty).
    public func centerCropped(width: Int, height: Int) throws(ImageProblem) -> PixelImage {
        let x = width <= self.width ? (self.width - width) / 2 : 0
        let y = height <= self.height ? (self.height - height) / 2 : 0
        return try cropped(x: x, y: y, width: width, height: height)
    }
}

/// Source indices and weights along one axis of a bilinear resize (see
/// ``PixelImage/resized(width:height:limits:)``): output `o` is
/// `firstWeight[o] · in[first[o]] + secondWeight[o] · in[second[o]]`.
struct ResizeAxis {
    var first: [Int32]
    var second: [Int32]
    var firstWeight: [Float]
    var secondWeight: [Float]

    init(input: Int, output: Int) {
        first = []; second = []; firstWeight = []; secondWeight = []
        first.reserveCapacity(output); second.reserveCapacity(output)
        firstWeight.reserveCapacity(output); secondWeight.reserveCapacity(output)
        let scale = Double(input) / Double(output)
        for o in 0..<output {
            let (i0, i1, w0, w1) = Self.taps(o, input: input, scale: scale)
            first.append(Int32(i0)); second.append(Int32(i1))
            firstWeight.append(w0); secondWeight.append(w1)
        }
    }

    /// The two source indices and weights of output `o` (OpenCV's `INTER_LINEAR` mapping).
    @inline(__always)
    static func taps(_ o: Int, input: Int, scale: Double) -> (Int, Int, Float, Float) {
        let f = (Double(o) + 0.5) * scale - 0.5
        let floor = f.rounded(.down)
        var i = Int(floor)
        var a = f - floor
        if i < 0 { i = 0; a = 0 }
        if i >= input - 1 { i = input - 1; a = 0 }
        let w1 = Float(a)
        return (i, min(i + 1, input - 1), 1 - w1, w1)
    }

    /// `UInt8(min(v + 0.5, 255))` for `v ≥ 0`, without the trapping Float-to-integer conversion
    /// (which keeps the loop from vectorizing): adding 2^23 puts the round-to-nearest-even integer
    /// of `x = min(v + 0.5, 255)` in the low mantissa bits; one less when that rounded up gives
    /// `⌊x⌋`. Exact for every Float in [0, 2^23) (the tests check it densely).
    @inline(__always)
    static func roundedByte(_ v: Float) -> UInt8 {
        let x = min(v + 0.5, 255)
        let shifted = x + 8_388_608
        let rounded = shifted - 8_388_608
        return UInt8(truncatingIfNeeded: shifted.bitPattern &- (rounded > x ? 1 : 0))
    }

    /// Interpolates one source row (`channels` interleaved) to the output width, in Float.
    func interpolate(_ row: UnsafePointer<UInt8>, channels c: Int, into out: UnsafeMutablePointer<Float>) {
        let n = first.count
        first.withUnsafeBufferPointer { i0 in
            second.withUnsafeBufferPointer { i1 in
                firstWeight.withUnsafeBufferPointer { w0 in
                    secondWeight.withUnsafeBufferPointer { w1 in
                        switch c {
                        case 1:
                            for x in 0..<n {
                                out[x] = w0[x] * Float(row[Int(i0[x])]) + w1[x] * Float(row[Int(i1[x])])
                            }
                        case 3:
                            for x in 0..<n {
                                let a = Int(i0[x]) * 3, b = Int(i1[x]) * 3
                                let p = w0[x], q = w1[x]
                                out[3 * x] = p * Float(row[a]) + q * Float(row[b])
                                out[3 * x + 1] = p * Float(row[a + 1]) + q * Float(row[b + 1])
                                out[3 * x + 2] = p * Float(row[a + 2]) + q * Float(row[b + 2])
                            }
                        default:
                            for x in 0..<n {
                                let a = Int(i0[x]) * c, b = Int(i1[x]) * c
                                for k in 0..<c { out[c * x + k] = w0[x] * Float(row[a + k]) + w1[x] * Float(row[b + k]) }
                            }
                        }
                    }
                }
            }
        }
    }
}
