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
/// order, as in PyTorch; the gradient flows to that element only.
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
                            // `!(v <= best)` also takes a NaN, so a NaN input propagates as in PyTorch.
                            if !(v <= best) { best = v; at = iy * w.input.width + ix }
                        }
                    }
                    dst[oy * w.output.width + ox] = best
                    idx[oy * w.output.width + ox] = Float(at)
                }
            }
        }
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
