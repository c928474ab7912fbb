/// Batch normalization over the channels of NCHW input, PyTorch's `nn.BatchNorm2d(features,
/// eps, momentum)` (also used after ``Dense`` on `[F]` input, as `nn.BatchNorm1d`).
///
/// Training: `y = γ·(x − μ_B)/√(σ²_B + ε) + β` with the mean and biased variance of the
/// micro-shard's values of each channel (rows × H × W of them); the running statistics move
/// towards the step's statistics, `r ← (1 − momentum)·r + momentum·s`, where `s` is the
/// rows-weighted mean over the mini-batch's micro-shards of each micro-shard's mean and
/// unbiased variance. Inference: `y = γ·(x − running_mean)/√(running_var + ε) + β`.
///
/// Why per micro-shard (like "ghost batch norm") rather than over the whole mini-batch: each
/// micro-shard is computed start to finish by one worker, so the forward pass needs no
/// collective per layer, and the result is the same for any worker count. With one micro-shard
/// per mini-batch the result is PyTorch's exactly. See docs/neural-networks.md "Batch norm".
///
/// State dict: `weight`, `bias` `[features]` (with ``affine``), `running_mean`, `running_var`
/// `[features]`, `num_batches_tracked` (int64, shape `[]`).
public struct BatchNorm2D: BindableLayer, Codable, Hashable {
    public var features: Int
    public var epsilon: Float
    public var momentum: Float
    public var affine: Bool

    public init(features: Int, epsilon: Float = 1e-5, momentum: Float = 0.1, affine: Bool = true) {
        self.features = features
        self.epsilon = epsilon
        self.momentum = momentum
        self.affine = affine
    }

    public var architecture: LayerArchitecture { .batchNorm2D(self) }

    func bind(input: FeatureShape, path: String, layout: inout LayoutBuilder) throws(NetworkError) -> any BoundLayer {
        let name = path.layerName
        guard features > 0 else { throw .invalidLayer(path: name, reason: "features \(features) must be positive") }
        guard epsilon > 0, epsilon.isFinite else { throw .invalidLayer(path: name, reason: "epsilon \(epsilon) must be positive") }
        guard momentum >= 0, momentum <= 1 else { throw .invalidLayer(path: name, reason: "momentum \(momentum) must be in [0, 1]") }
        guard input.channels == features else { throw .shapeMismatch(path: name, expected: "[\(features), H, W]", actual: input) }
        let weight = affine ? layout.parameter(path + "weight", shape: [features], initializer: .constant(1)) : -1
        let bias = affine ? layout.parameter(path + "bias", shape: [features], initializer: .constant(0)) : -1
        let mean = layout.buffer(path + "running_mean", shape: [features], initial: 0)
        let variance = layout.buffer(path + "running_var", shape: [features], initial: 1)
        layout.batchesTracked(path + "num_batches_tracked")
        return BoundBatchNorm2D(input: input, epsilon: epsilon, momentum: momentum, weight: weight, bias: bias,
                                runningMean: mean, runningVariance: variance, statistics: layout.statistics(2 * features),
                                cache: layout.workspace(perRow: 0, fixed: 2 * features))
    }
}

struct BoundBatchNorm2D: BoundLayer {
    let input: FeatureShape
    let epsilon: Float, momentum: Float
    /// Parameter offsets (-1 without affine), buffer offsets, statistics offset (means then
    /// unbiased variances), workspace offset (the mean and 1/σ used, per channel).
    let weight: Int, bias: Int, runningMean: Int, runningVariance: Int, statistics: Int, cache: Int
    var output: FeatureShape { input }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ context: PassContext) {
        let c = input.channels, plane = input.planeSize, rows = context.rows
        let means = context.workspace + cache, inverse = means + c
        if context.training {
            let m = rows * plane
            for ch in 0..<c {
                // Two passes: the mean, then the squared deviations from it, so the variance of
                // values far from zero stays accurate. Each plane is summed in Float with eight
                // partial sums (SIMD), the planes in Double.
                var s = 0.0
                for n in 0..<rows { s += Double(sum(x + (n * c + ch) * plane, count: plane)) }
                let mean = s / Double(m)
                var q = 0.0
                for n in 0..<rows { q += Double(squaredDeviations(x + (n * c + ch) * plane, from: Float(mean), count: plane)) }
                let biased = q / Double(m)
                means[ch] = Float(mean)
                inverse[ch] = Float(1 / (biased + Double(epsilon)).squareRoot())
                context.statistics[statistics + ch] = context.statisticWeight * Float(mean)
                // One value per channel has no unbiased variance; PyTorch refuses it, we use 0.
                let unbiased = m > 1 ? q / Double(m - 1) : biased
                context.statistics[statistics + c + ch] = context.statisticWeight * Float(unbiased)
            }
        } else {
            for ch in 0..<c {
                means[ch] = context.buffers[runningMean + ch]
                inverse[ch] = 1 / (context.buffers[runningVariance + ch] + epsilon).squareRoot()
            }
        }
        for ch in 0..<c {
            let g = weight >= 0 ? context.parameters[weight + ch] : 1, b = bias >= 0 ? context.parameters[bias + ch] : 0
            let scale = g * inverse[ch], shift = b - means[ch] * scale
            for n in 0..<rows {
                scaleShift(x + (n * c + ch) * plane, into: y + (n * c + ch) * plane, scale: scale, shift: shift, count: plane)
            }
        }
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, _ context: PassContext) {
        let c = input.channels, plane = input.planeSize, rows = context.rows
        let means = context.workspace + cache, inverse = means + c
        let m = Float(rows * plane)
        for ch in 0..<c {
            let mean = means[ch], inv = inverse[ch]
            var sumDy: Float = 0, sumDyCentered: Float = 0
            for n in 0..<rows {
                let (a, b) = gradientSums(dy + (n * c + ch) * plane, x + (n * c + ch) * plane, center: mean, count: plane)
                sumDy += a
                sumDyCentered += b
            }
            let sumDyXhat = sumDyCentered * inv
            if weight >= 0 { context.gradients[weight + ch] += sumDyXhat }
            if bias >= 0 { context.gradients[bias + ch] += sumDy }
            guard let dx else { continue }
            let gamma = weight >= 0 ? context.parameters[weight + ch] : 1
            let k = gamma * inv
            // Training: dx = k·(g − Σg/m − (x − μ)·inv·Σ(g·x̂)/m) = k·g + β·x + γ.
            let beta: Float = context.training ? -k * inv * (sumDyXhat / m) : 0
            let shift: Float = context.training ? -k * (sumDy / m) - beta * mean : 0
            for n in 0..<rows {
                let o = (n * c + ch) * plane
                combine(dy + o, x + o, into: dx + o, alpha: k, beta: beta, gamma: shift, count: plane)
            }
        }
    }

    func finishStep(buffers: UnsafeMutablePointer<Float>, statistics: UnsafePointer<Float>) {
        let c = input.channels
        for ch in 0..<c {
            buffers[runningMean + ch] = (1 - momentum) * buffers[runningMean + ch] + momentum * statistics[self.statistics + ch]
            buffers[runningVariance + ch] = (1 - momentum) * buffers[runningVariance + ch] + momentum * statistics[self.statistics + c + ch]
        }
    }
}
