/// Window geometry shared by the pooling layers (square windows, floor mode, as PyTorch's default).
struct PoolWindow: Sendable, Hashable {
    let kernel: Int, stride: Int, padding: Int
    let input: FeatureShape, output: FeatureShape

    static func make(kernel: Int, stride: Int?, padding: Int, input: FeatureShape, path: String) throws(NetworkError) -> PoolWindow {
        let name = path.layerName
        let s = stride ?? kernel
        guard kernel > 0, s > 0, padding >= 0 else {
            throw .invalidLayer(path: name, reason: "kernel \(kernel) and stride \(s) must be positive and padding \(padding) not negative")
        }
        guard padding <= kernel / 2 else {
            throw .invalidLayer(path: name, reason: "padding \(padding) must be at most half the kernel \(kernel), as in PyTorch")
        }
        guard input.height + 2 * padding >= kernel, input.width + 2 * padding >= kernel else {
            throw .shapeMismatch(path: name, expected: "planes of at least \(kernel - 2 * padding)×\(kernel - 2 * padding)", actual: input)
        }
        let output = FeatureShape(channels: input.channels, height: (input.height + 2 * padding - kernel) / s + 1,
                                  width: (input.width + 2 * padding - kernel) / s + 1)
        return PoolWindow(kernel: kernel, stride: s, padding: padding, input: input, output: output)
    }

    /// The input rows (or columns) output index `o` covers, clipped to the input.
    @inline(__always)
    func span(_ o: Int, limit: Int) -> Range<Int> {
        let lo = o * stride - padding
        return max(0, lo)..<min(limit, lo + kernel)
    }
}

/// Max pooling, PyTorch's `nn.MaxPool2d(kernelSize, stride, padding)`: each output is the largest
/// input in its window (padding never wins). Ties go to the first element in row-major window
/// order, as in PyTorch, and a NaN propagates (the window's last NaN, as PyTorch's rule
/// "larger or NaN takes over" gives); the gradient flows to that element only.
public struct MaxPool2D: BindableLayer, Codable, Hashable {
    public var kernelSize: Int
    /// Defaults to the kernel size.
    public var stride: Int?
    public var padding: Int

    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
    }

    public var architecture: LayerArchitecture { .maxPool2D(self) }

    func bind(input: FeatureShape, path: String, layout: inout LayoutBuilder) throws(NetworkError) -> any BoundLayer {
        let window = try PoolWindow.make(kernel: kernelSize, stride: stride, padding: padding, input: input, path: path)
        return BoundMaxPool2D(window: window, indices: layout.workspace(perRow: window.output.count))
    }
}

struct BoundMaxPool2D: BoundLayer {
    let window: PoolWindow
    /// Workspace offset of the argmax of every output (its index in the input plane, as a Float:
    /// exact below 2²⁴, far above any plane).
    let indices: Int
    var input: FeatureShape { window.input }
    var output: FeatureShape { window.output }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ context: PassContext) {
        let arg = context.workspace + indices
        let w = window, inPlane = w.input.planeSize, outPlane = w.output.planeSize
        if w.kernel == 2, w.stride == 2, w.padding == 0 {
            forwardTwoByTwo(x, y, arg, planes: context.rows * w.input.channels)
            return
        }
        for plane in 0..<(context.rows * w.input.channels) {
            let src = x + plane * inPlane, dst = y + plane * outPlane, idx = arg + plane * outPlane
            for oy in 0..<w.output.height {
                let rows = w.span(oy, limit: w.input.height)
                for ox in 0..<w.output.width {
                    let cols = w.span(ox, limit: w.input.width)
                    var best = -Float.infinity, at = rows.lowerBound * w.input.width + cols.lowerBound
                    for iy in rows {
                        for ix in cols {
                            let v = src[iy * w.input.width + ix]
                            // PyTorch's rule: a larger value or a NaN takes over, so a NaN propagates.
                            if v > best || v.isNaN { best = v; at = iy * w.input.width + ix }
                        }
                    }
                    dst[oy * w.output.width + ox] = best
                    idx[oy * w.output.width + ox] = Float(at)
                }
            }
        }
    }

    /// The common 2×2, stride-2 window, eight outputs at a time: even and odd lanes of two
    /// 16-float loads are the window's columns, and lane-wise selects (no branches: which element
    /// wins is data, and mispredicted branches cost more than the arithmetic) keep the same
    /// first-maximum rule and NaN propagation as the general loop.
    func forwardTwoByTwo(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ arg: UnsafeMutablePointer<Float>, planes: Int) {
        let wi = window.input.width, inPlane = window.input.planeSize
        let ho = window.output.height, wo = window.output.width, outPlane = window.output.planeSize
        let lanes = SIMD8<Float>(0, 2, 4, 6, 8, 10, 12, 14)
        for plane in 0..<planes {
            let src = x + plane * inPlane, dst = y + plane * outPlane, idx = arg + plane * outPlane
            for oy in 0..<ho {
                let top = src + 2 * oy * wi, bottom = top + wi
                let base = 2 * oy * wi
                var ox = 0
                while ox + 8 <= wo {
                    let t = UnsafeRawPointer(top + 2 * ox).loadUnaligned(as: SIMD16<Float>.self)
                    let u = UnsafeRawPointer(bottom + 2 * ox).loadUnaligned(as: SIMD16<Float>.self)
                    let (best, at) = Self.windows(t, u, width: wi)
                    UnsafeMutableRawPointer(dst + oy * wo + ox).storeBytes(of: best, as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(idx + oy * wo + ox).storeBytes(of: at + lanes + Float(base + 2 * ox), as: SIMD8<Float>.self)
                    ox += 8
                }
                while ox < wo {
                    let (best, at) = Self.window(top[2 * ox], top[2 * ox + 1], bottom[2 * ox], bottom[2 * ox + 1], width: wi)
                    dst[oy * wo + ox] = best
                    idx[oy * wo + ox] = Float(base + 2 * ox + at)
                    ox += 1
                }
            }
        }
    }

    /// One 2×2 window (top-left `a`, top-right `b`, bottom-left `c`, bottom-right `d`): the
    /// maximum and its offset. Without a NaN (the predictable case) the first maximum's offset
    /// comes from lane-wise selects, not from a branch per comparison.
    @inline(__always)
    static func window(_ a: Float, _ b: Float, _ c: Float, _ d: Float, width: Int) -> (Float, Int) {
        let v = SIMD4<Float>(a, b, c, d)
        guard !(a.isNaN || b.isNaN || c.isNaN || d.isNaN) else {
            // PyTorch's rule: every NaN takes over, so the window's last NaN wins.
            let at = d.isNaN ? width + 1 : c.isNaN ? width : b.isNaN ? 1 : 0
            return (.nan, at)
        }
        let best = v.max()
        let offsets = SIMD4<Int32>(0, 1, Int32(truncatingIfNeeded: width), Int32(truncatingIfNeeded: width + 1))
        let at = SIMD4<Int32>(repeating: .max).replacing(with: offsets, where: v .== SIMD4(repeating: best)).min()
        return (best, Int(at))
    }

    /// Eight 2×2 windows: `t`, `u` hold 16 consecutive values of the top and bottom rows.
    /// Returns each window's maximum and its offset from the window's top-left element.
    @inline(__always)
    static func windows(_ t: SIMD16<Float>, _ u: SIMD16<Float>, width: Int) -> (SIMD8<Float>, SIMD8<Float>) {
        var best = t.evenHalf, at = SIMD8<Float>(repeating: 0)
        let b = t.oddHalf, c = u.evenHalf, d = u.oddHalf
        let wb = (b .> best) .| (b .!= b)
        best.replace(with: b, where: wb)
        at.replace(with: 1, where: wb)
        let wc = (c .> best) .| (c .!= c)
        best.replace(with: c, where: wc)
        at.replace(with: Float(width), where: wc)
        let wd = (d .> best) .| (d .!= d)
        best.replace(with: d, where: wd)
        at.replace(with: Float(width + 1), where: wd)
        return (best, at)
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, _ context: PassContext) {
        guard let dx else { return }
        let arg = context.workspace + indices
        let inPlane = window.input.planeSize, outPlane = window.output.planeSize
        dx.zero(context.rows * window.input.count)
        for plane in 0..<(context.rows * window.input.channels) {
            let d = dx + plane * inPlane, g = dy + plane * outPlane, idx = arg + plane * outPlane
            for o in 0..<outPlane { d[Int(idx[o])] += g[o] }
        }
    }
}

/// Average pooling, PyTorch's `nn.AvgPool2d(kernelSize, stride, padding, count_include_pad)`.
/// With ``countIncludesPadding`` (PyTorch's default) every window divides by `kernelSize²`;
/// without it, by the number of input elements inside the window.
public struct AvgPool2D: BindableLayer, Codable, Hashable {
    public var kernelSize: Int
    public var stride: Int?
    public var padding: Int
    public var countIncludesPadding: Bool

    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0, countIncludesPadding: Bool = true) {
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.countIncludesPadding = countIncludesPadding
    }

    public var architecture: LayerArchitecture { .avgPool2D(self) }

    func bind(input: FeatureShape, path: String, layout: inout LayoutBuilder) throws(NetworkError) -> any BoundLayer {
        BoundAvgPool2D(window: try PoolWindow.make(kernel: kernelSize, stride: stride, padding: padding, input: input, path: path),
                       countIncludesPadding: countIncludesPadding)
    }
}

struct BoundAvgPool2D: BoundLayer {
    let window: PoolWindow
    let countIncludesPadding: Bool
    var input: FeatureShape { window.input }
    var output: FeatureShape { window.output }

    @inline(__always)
    func divisor(_ rows: Range<Int>, _ cols: Range<Int>) -> Float {
        countIncludesPadding ? Float(window.kernel * window.kernel) : Float(rows.count * cols.count)
    }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ context: PassContext) {
        let w = window, inPlane = w.input.planeSize, outPlane = w.output.planeSize
        for plane in 0..<(context.rows * w.input.channels) {
            let src = x + plane * inPlane, dst = y + plane * outPlane
            for oy in 0..<w.output.height {
                let rows = w.span(oy, limit: w.input.height)
                for ox in 0..<w.output.width {
                    let cols = w.span(ox, limit: w.input.width)
                    var s: Float = 0
                    for iy in rows { for ix in cols { s += src[iy * w.input.width + ix] } }
                    dst[oy * w.output.width + ox] = s / divisor(rows, cols)
                }
            }
        }
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, _ context: PassContext) {
        guard let dx else { return }
        let w = window, inPlane = w.input.planeSize, outPlane = w.output.planeSize
        dx.zero(context.rows * w.input.count)
        for plane in 0..<(context.rows * w.input.channels) {
            let d = dx + plane * inPlane, g = dy + plane * outPlane
            for oy in 0..<w.output.height {
                let rows = w.span(oy, limit: w.input.height)
                for ox in 0..<w.output.width {
                    let cols = w.span(ox, limit: w.input.width)
                    let v = g[oy * w.output.width + ox] / divisor(rows, cols)
                    for iy in rows { for ix in cols { d[iy * w.input.width + ix] += v } }
                }
            }
        }
    }
}

/// The mean of each channel plane, PyTorch's `nn.AdaptiveAvgPool2d(1)`: `[N, C, H, W]` →
/// `[N, C, 1, 1]` (which ``Dense`` reads as `C` features, with or without ``Flatten``).
public struct GlobalAvgPool2D: BindableLayer, Codable, Hashable {
    public init() {}
    public var architecture: LayerArchitecture { .globalAvgPool2D(self) }

    func bind(input: FeatureShape, path: String, layout: inout LayoutBuilder) throws(NetworkError) -> any BoundLayer {
        BoundGlobalAvgPool2D(input: input)
    }
}

struct BoundGlobalAvgPool2D: BoundLayer {
    let input: FeatureShape
    var output: FeatureShape { .vector(input.channels) }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ context: PassContext) {
        let plane = input.planeSize, scale = 1 / Float(plane)
        for p in 0..<(context.rows * input.channels) {
            var s: Float = 0
            let src = x + p * plane
            for i in 0..<plane { s += src[i] }
            y[p] = s * scale
        }
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, _ context: PassContext) {
        guard let dx else { return }
        let plane = input.planeSize, scale = 1 / Float(plane)
        for p in 0..<(context.rows * input.channels) {
            (dx + p * plane).update(repeating: dy[p] * scale, count: plane)
        }
    }
}
