import Foundation

/// The element-wise functions: `y = f(x)`, `dx = f′ · dy` with `f′` from `x` or `y`.
enum ActivationFunction: Sendable, Hashable {
    case relu
    case leakyReLU(slope: Float)
    case sigmoid
    case tanh
}

/// `max(x, 0)`, PyTorch's `nn.ReLU()`. A NaN input stays NaN.
public struct ReLU: BindableLayer, Codable, Hashable {
    public init() {}
    public var architecture: LayerArchitecture { .relu(self) }
    func bind(input: FeatureShape, path: String, layout: inout LayoutBuilder) throws(NetworkError) -> any BoundLayer {
        BoundActivation(input: input, function: .relu)
    }
}

/// `x` for `x > 0`, else `negativeSlope · x`, PyTorch's `nn.LeakyReLU(negative_slope)`.
public struct LeakyReLU: BindableLayer, Codable, Hashable {
    public var negativeSlope: Float
    public init(negativeSlope: Float = 0.01) { self.negativeSlope = negativeSlope }
    public var architecture: LayerArchitecture { .leakyReLU(self) }
    func bind(input: FeatureShape, path: String, layout: inout LayoutBuilder) throws(NetworkError) -> any BoundLayer {
        guard negativeSlope.isFinite else {
            throw .invalidLayer(path: path.layerName, reason: "negative slope \(negativeSlope) must be finite")
        }
        return BoundActivation(input: input, function: .leakyReLU(slope: negativeSlope))
    }
}

/// `1 / (1 + e⁻ˣ)`, PyTorch's `nn.Sigmoid()`.
public struct Sigmoid: BindableLayer, Codable, Hashable {
    public init() {}
    public var architecture: LayerArchitecture { .sigmoid(self) }
    func bind(input: FeatureShape, path: String, layout: inout LayoutBuilder) throws(NetworkError) -> any BoundLayer {
        BoundActivation(input: input, function: .sigmoid)
    }
}

/// `tanh(x)`, PyTorch's `nn.Tanh()`.
public struct Tanh: BindableLayer, Codable, Hashable {
    public init() {}
    public var architecture: LayerArchitecture { .tanh(self) }
    func bind(input: FeatureShape, path: String, layout: inout LayoutBuilder) throws(NetworkError) -> any BoundLayer {
        BoundActivation(input: input, function: .tanh)
    }
}

struct BoundActivation: BoundLayer {
    let input: FeatureShape
    let function: ActivationFunction
    var output: FeatureShape { input }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ context: PassContext) {
        let count = context.rows * input.count
        switch function {
        case .relu:
            reluForward(x, y, count: count)
        case .leakyReLU(let slope):
            for i in 0..<count { let v = x[i]; y[i] = v > 0 ? v : v * slope }
        case .sigmoid:
            for i in 0..<count {
                // Two branches so exp never overflows: e⁻ˣ for x ≥ 0, eˣ otherwise.
                let v = x[i]
                if v >= 0 { y[i] = 1 / (1 + Foundation.exp(-v)) } else { let e = Foundation.exp(v); y[i] = e / (1 + e) }
            }
        case .tanh:
            for i in 0..<count { y[i] = Foundation.tanh(x[i]) }
        }
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, _ context: PassContext) {
        guard let dx else { return }
        let count = context.rows * input.count
        switch function {
        case .relu:
            reluBackward(y, dy, dx, count: count)
        case .leakyReLU(let slope):
            for i in 0..<count { dx[i] = x[i] > 0 ? dy[i] : dy[i] * slope }
        case .sigmoid:
            for i in 0..<count { let s = y[i]; dx[i] = dy[i] * s * (1 - s) }
        case .tanh:
            for i in 0..<count { let t = y[i]; dx[i] = dy[i] * (1 - t * t) }
        }
    }
}

/// Softmax over the channels at every position, PyTorch's `nn.Softmax(dim=1)`: on a `[F]`
/// vector, the usual softmax of the features. For training a classifier prefer the fused
/// ``Loss/softmaxCrossEntropy(labelSmoothing:)`` on logits, which is stabler and faster.
public struct Softmax: BindableLayer, Codable, Hashable {
    public init() {}
    public var architecture: LayerArchitecture { .softmax(self) }

    func bind(input: FeatureShape, path: String, layout: inout LayoutBuilder) throws(NetworkError) -> any BoundLayer {
        BoundSoftmax(input: input)
    }
}

struct BoundSoftmax: BoundLayer {
    let input: FeatureShape
    var output: FeatureShape { input }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ context: PassContext) {
        let c = input.channels, plane = input.planeSize
        for n in 0..<context.rows {
            let xs = x + n * input.count, ys = y + n * input.count
            for p in 0..<plane {
                var m = -Float.infinity
                for k in 0..<c { m = max(m, xs[k * plane + p]) }
                var s: Float = 0
                for k in 0..<c { let e = Foundation.exp(xs[k * plane + p] - m); ys[k * plane + p] = e; s += e }
                let inv = 1 / s
                for k in 0..<c { ys[k * plane + p] *= inv }
            }
        }
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, _ context: PassContext) {
        guard let dx else { return }
        let c = input.channels, plane = input.planeSize
        for n in 0..<context.rows {
            let ys = y + n * input.count, gs = dy + n * input.count, ds = dx + n * input.count
            for p in 0..<plane {
                var dot: Float = 0
                for k in 0..<c { dot += ys[k * plane + p] * gs[k * plane + p] }
                for k in 0..<c { ds[k * plane + p] = ys[k * plane + p] * (gs[k * plane + p] - dot) }
            }
        }
    }
}

/// `y = x < 0 ? 0 : x` eight lanes at a time (a NaN is not < 0, so it propagates as in PyTorch).
/// Written with SIMD types: the pointers may alias as far as the compiler knows, so a scalar
/// loop would not vectorize.
@inline(__always)
func reluForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    let raw = UnsafeRawPointer(x), out = UnsafeMutableRawPointer(y)
    let zero = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= count {
        let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        out.storeBytes(of: v.replacing(with: zero, where: v .< zero), toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { let v = x[i]; y[i] = v < 0 ? 0 : v; i += 1 }
}

/// `dx = y > 0 ? dy : 0`, eight lanes at a time.
@inline(__always)
func reluBackward(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, count: Int) {
    let ry = UnsafeRawPointer(y), rg = UnsafeRawPointer(dy), out = UnsafeMutableRawPointer(dx)
    let zero = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= count {
        let v = ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        let g = rg.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        out.storeBytes(of: zero.replacing(with: g, where: v .> zero), toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { dx[i] = y[i] > 0 ? dy[i] : 0; i += 1 }
}
