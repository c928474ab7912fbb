import MLCore

/// Inverted dropout, PyTorch's `nn.Dropout(p)`: in training each value is zeroed with
/// probability ``probability`` and the rest scaled by `1/(1 − p)`; in inference the identity.
///
/// The mask of a micro-shard is drawn from a stream keyed by (seed, step, micro-shard, layer),
/// never by the worker, so 1 and N workers drop the same values (DESIGN.md "Determinism").
/// PyTorch's generator is not ours: the masks differ from PyTorch's, their statistics do not.
public struct Dropout: BindableLayer, Codable, Hashable {
    public var probability: Float

    public init(probability: Float = 0.5) { self.probability = probability }

    public var architecture: LayerArchitecture { .dropout(self) }

    func bind(input: FeatureShape, path: String, layout: inout LayoutBuilder) throws(NetworkError) -> any BoundLayer {
        guard probability >= 0, probability <= 1 else {
            throw .invalidLayer(path: path.layerName, reason: "probability \(probability) must be in [0, 1]")
        }
        return BoundDropout(input: input, probability: probability, mask: layout.workspace(perRow: input.count),
                            stream: layout.randomStreamIndex())
    }
}

struct BoundDropout: BoundLayer {
    let input: FeatureShape
    let probability: Float
    let mask: Int
    let stream: Int
    var output: FeatureShape { input }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ context: PassContext) {
        let count = context.rows * input.count
        guard context.training, probability > 0 else { y.update(from: x, count: count); return }
        let keep = context.workspace + mask
        let scale: Float = probability < 1 ? 1 / (1 - probability) : 0
        var random = RandomStream(seed: context.seed, path: [0xD20_0D0, UInt64(stream), context.step, context.shard])
        for i in 0..<count {
            keep[i] = random.nextFloat() >= probability ? scale : 0
            y[i] = x[i] * keep[i]
        }
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, _ context: PassContext) {
        guard let dx else { return }
        let count = context.rows * input.count
        guard context.training, probability > 0 else { dx.update(from: dy, count: count); return }
        let keep = context.workspace + mask
        for i in 0..<count { dx[i] = dy[i] * keep[i] }
    }
}
