/// How a trainable tensor starts.
public enum ParameterInitializer: Sendable, Hashable, Codable {
    /// Uniform on `[-bound, bound]`: PyTorch's default for convolution and linear weights and
    /// biases (`kaiming_uniform_(a=√5)` works out to `bound = 1/√fanIn`).
    case uniform(bound: Float)
    /// Normal with mean 0 and standard deviation `√(2 / fanOut)`: torchvision's ResNet
    /// convolutions (`kaiming_normal_(mode="fan_out", nonlinearity="relu")`).
    case heNormalFanOut(fanOut: Int)
    /// Every element `value` (batch-norm's weight 1 and bias 0).
    case constant(Float)
}

/// One trainable tensor: its state-dict name, PyTorch shape and place in the flat buffer.
public struct ParameterEntry: Sendable, Hashable {
    public var name: String
    public var shape: [Int]
    public var offset: Int
    public var initializer: ParameterInitializer
    public var count: Int { shape.reduce(1, *) }
}

/// One non-trainable tensor of the state dict (batch-norm's running statistics).
public struct BufferEntry: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// Float values in the flat buffer array at `offset`.
        case values(initial: Float)
        /// `num_batches_tracked` (int64, shape `[]`): the network's one training-step counter.
        case batchesTracked
    }
    public var name: String
    public var shape: [Int]
    public var offset: Int
    public var kind: Kind
    public var count: Int { shape.reduce(1, *) }
}

/// Hands out the places layers keep their numbers while a network is bound to an input shape:
/// parameters (one flat buffer, also the gradient's and every optimizer state's layout),
/// buffers (running statistics), per-step batch statistics (reduced with the gradients), and
/// workspace (activations and caches of one micro-shard, sized for ``batchCapacity`` rows).
struct LayoutBuilder {
    let batchCapacity: Int
    private(set) var parameters: [ParameterEntry] = []
    private(set) var buffers: [BufferEntry] = []
    /// Every tensor's name, parameters and buffers interleaved as they were laid out: the
    /// order of PyTorch's `state_dict()`.
    private(set) var names: [String] = []
    private(set) var parameterCount = 0
    private(set) var bufferCount = 0
    private(set) var statisticCount = 0
    private(set) var workspaceCount = 0
    /// Floats of scratch shared by every layer: valid only during one layer's `forward` or
    /// `backward` call, so its size is the largest request, not the sum.
    private(set) var scratchCount = 0
    private(set) var randomLayers = 0

    init(batchCapacity: Int) { self.batchCapacity = max(1, batchCapacity) }

    mutating func parameter(_ name: String, shape: [Int], initializer: ParameterInitializer) -> Int {
        let offset = parameterCount
        parameters.append(ParameterEntry(name: name, shape: shape, offset: offset, initializer: initializer))
        names.append(name)
        parameterCount += shape.reduce(1, *)
        return offset
    }

    mutating func buffer(_ name: String, shape: [Int], initial: Float) -> Int {
        let offset = bufferCount
        buffers.append(BufferEntry(name: name, shape: shape, offset: offset, kind: .values(initial: initial)))
        names.append(name)
        bufferCount += shape.reduce(1, *)
        return offset
    }

    mutating func batchesTracked(_ name: String) {
        buffers.append(BufferEntry(name: name, shape: [], offset: -1, kind: .batchesTracked))
        names.append(name)
    }

    mutating func statistics(_ count: Int) -> Int {
        let offset = statisticCount
        statisticCount += count
        return offset
    }

    /// `perRow · batchCapacity + fixed` floats of workspace, aligned to 16 floats.
    mutating func workspace(perRow: Int, fixed: Int = 0) -> Int {
        let offset = workspaceCount
        let count = perRow * batchCapacity + fixed
        workspaceCount += (count + 15) & ~15
        return offset
    }

    /// Asks for `count` floats of the shared scratch (``PassContext/scratch``).
    mutating func scratch(_ count: Int) {
        scratchCount = max(scratchCount, count)
    }

    /// A distinct random-stream index for a layer that draws random numbers (dropout).
    mutating func randomStreamIndex() -> Int {
        defer { randomLayers += 1 }
        return randomLayers
    }
}

/// What a layer sees during one forward or backward pass over one micro-shard.
///
/// Built by the network per micro-shard on the thread that runs it; holds raw pointers into
/// that micro-shard's own buffers, so it never crosses threads.
struct PassContext {
    let parameters: UnsafePointer<Float>
    /// This micro-shard's gradient partial; layers add their parameter gradients to it.
    let gradients: UnsafeMutablePointer<Float>
    /// Running statistics (read in inference mode).
    let buffers: UnsafePointer<Float>
    /// This micro-shard's batch statistics, already weighted by its share of the mini-batch.
    let statistics: UnsafeMutablePointer<Float>
    let workspace: UnsafeMutablePointer<Float>
    /// Scratch shared by all layers (``LayoutBuilder/scratch(_:)``): a layer may use it only
    /// within one `forward` or `backward` call, and containers never use it.
    let scratch: UnsafeMutablePointer<Float>
    /// Rows in this micro-shard.
    let rows: Int
    /// `rows / mini-batch rows`: the weight of this micro-shard's batch statistics.
    let statisticWeight: Float
    let training: Bool
    /// Seed, step and micro-shard index: dropout's masks are drawn from a stream keyed by these
    /// (and the layer), never by the worker.
    let seed: UInt64
    let step: UInt64
    let shard: UInt64
}

/// A layer bound to its input shape and its places in the flat buffers: what actually runs.
///
/// `forward` reads `x` (`rows × input.count`) and writes `y` (`rows × output.count`).
/// `backward` receives the same `x` and `y` and the gradient `dy` of the loss with respect to
/// `y` (which it may overwrite), adds the parameter gradients into `context.gradients`, and
/// writes `dx` unless it is `nil` (the first layer's input gradient is never needed).
protocol BoundLayer: Sendable {
    var input: FeatureShape { get }
    var output: FeatureShape { get }
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ context: PassContext)
    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, _ context: PassContext)
    /// After a training step's statistics are reduced over the whole mini-batch: update the
    /// running statistics (batch-norm). Layers without buffers do nothing.
    func finishStep(buffers: UnsafeMutablePointer<Float>, statistics: UnsafePointer<Float>)
}

extension BoundLayer {
    func finishStep(buffers: UnsafeMutablePointer<Float>, statistics: UnsafePointer<Float>) {}
}

/// A network layer's definition: its configuration, independent of any input shape.
///
/// Layers are values. ``Sequential`` composes them; binding to an input shape checks every
/// shape, lays out every parameter in one flat buffer under PyTorch's state-dict names, and
/// produces what runs. The layers are the ones ``LayerArchitecture`` lists.
public protocol Layer: Sendable {
    /// The layer as a codable description (what `model.json` stores).
    var architecture: LayerArchitecture { get }
}

extension Layer {
    /// The shape this layer produces for `input` (a ``NetworkError`` if it does not accept it).
    public func outputShape(for input: FeatureShape) throws(NetworkError) -> FeatureShape {
        var layout = LayoutBuilder(batchCapacity: 1)
        return try architecture.bindable.bind(input: input, path: "", layout: &layout).output
    }
}

/// The built-in layers' binding step.
protocol BindableLayer: Layer {
    /// Binds to `input`, naming tensors under `path` (`"0."`, `"layer1.0.conv1."`, …).
    func bind(input: FeatureShape, path: String, layout: inout LayoutBuilder) throws(NetworkError) -> any BoundLayer
}

extension String {
    /// A state-dict path without its trailing dot, for messages.
    var layerName: String { hasSuffix(".") ? String(dropLast()) : self }
}
