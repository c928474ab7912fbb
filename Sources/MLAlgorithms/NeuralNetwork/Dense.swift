/// A fully connected layer, PyTorch's `nn.Linear(inputFeatures, outputFeatures)`:
/// `y = x · Wᵀ + b` on `[N, inputFeatures]`. A `[C, H, W]` input is read flattened (C-major, as
/// ``Flatten`` and `torch.flatten` order it), so ``Flatten`` before it is optional.
///
/// State dict: `weight` `[outputFeatures, inputFeatures]`, `bias` `[outputFeatures]`; both start
/// uniform on `±1/√inputFeatures` (PyTorch's default).
public struct Dense: BindableLayer, Codable, Hashable {
    public var inputFeatures: Int
    public var outputFeatures: Int
    public var useBias: Bool

    public init(inputFeatures: Int, outputFeatures: Int, useBias: Bool = true) {
        self.inputFeatures = inputFeatures
        self.outputFeatures = outputFeatures
        self.useBias = useBias
    }

    public var architecture: LayerArchitecture { .dense(self) }

    func bind(input: FeatureShape, path: String, layout: inout LayoutBuilder) throws(NetworkError) -> any BoundLayer {
        guard inputFeatures > 0, outputFeatures > 0 else {
            throw .invalidLayer(path: path.layerName, reason: "features must be positive (in \(inputFeatures), out \(outputFeatures))")
        }
        guard input.count == inputFeatures else {
            throw .shapeMismatch(path: path.layerName, expected: "\(inputFeatures) features", actual: input)
        }
        try checkedDimensions([inputFeatures * outputFeatures, layout.batchCapacity * inputFeatures], path: path)
        let bound = 1 / Float(inputFeatures).squareRoot()
        let weight = layout.parameter(path + "weight", shape: [outputFeatures, inputFeatures], initializer: .uniform(bound: bound))
        let bias = useBias ? layout.parameter(path + "bias", shape: [outputFeatures], initializer: .uniform(bound: bound)) : -1
        return BoundDense(input: input, output: .vector(outputFeatures), weight: weight, bias: bias)
    }
}

struct BoundDense: BoundLayer {
    let input: FeatureShape
    let output: FeatureShape
    let weight: Int, bias: Int

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ context: PassContext) {
        let n = context.rows, fin = input.count, fout = output.count
        if bias >= 0 {
            let b = context.parameters + bias
            for r in 0..<n { (y + r * fout).update(from: b, count: fout) }
        }
        sgemm(transposeB: true, m: n, n: fout, k: fin, a: x, lda: fin, b: context.parameters + weight, ldb: fin,
              beta: bias >= 0 ? 1 : 0, c: y, ldc: fout)
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, _ context: PassContext) {
        let n = context.rows, fin = input.count, fout = output.count
        if bias >= 0 {
            let db = context.gradients + bias
            for r in 0..<n { for o in 0..<fout { db[o] += dy[r * fout + o] } }
        }
        sgemm(transposeA: true, m: fout, n: fin, k: n, a: dy, lda: fout, b: x, ldb: fin, beta: 1,
              c: context.gradients + weight, ldc: fin)
        if let dx {
            sgemm(m: n, n: fin, k: fout, a: dy, lda: fout, b: context.parameters + weight, ldb: fin, beta: 0, c: dx, ldc: fin)
        }
    }
}

/// `[C, H, W]` → `[C·H·W]`, PyTorch's `nn.Flatten()`. The values do not move (NCHW is already
/// C-major), so this only changes the shape the next layer sees.
public struct Flatten: BindableLayer, Codable, Hashable {
    public init() {}
    public var architecture: LayerArchitecture { .flatten(self) }

    func bind(input: FeatureShape, path: String, layout: inout LayoutBuilder) throws(NetworkError) -> any BoundLayer {
        BoundReshape(input: input, output: .vector(input.count))
    }
}

struct BoundReshape: BoundLayer {
    let input: FeatureShape
    let output: FeatureShape

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ context: PassContext) {
        y.update(from: x, count: context.rows * input.count)
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, _ context: PassContext) {
        dx?.update(from: dy, count: context.rows * input.count)
    }
}
