import MLCore

/// A network with its numbers: the architecture, the input shape, and every parameter and
/// running statistic in flat buffers laid out as the state dict lists them.
///
/// Parameters start as PyTorch's (or torchvision's) initializers would start them, drawn from
/// a stream keyed by the seed and the tensor's index — the same network for the same seed on
/// any machine, though not PyTorch's own random numbers.
public struct Network: Sendable {
    public let architecture: LayerArchitecture
    public let inputShape: FeatureShape
    public let outputShape: FeatureShape
    /// Trainable tensors in state-dict order, with their places in ``parameters``.
    public let parameterEntries: [ParameterEntry]
    /// Non-trainable tensors in state-dict order, with their places in ``buffers``.
    public let bufferEntries: [BufferEntry]
    /// Every state-dict name in PyTorch's `state_dict()` order (parameters and buffers
    /// interleaved module by module). Safetensors files keep no order — writers sort the names —
    /// so this is the order to compare with the module's `state_dict().keys()`.
    public let stateDictNames: [String]
    public var parameters: [Float]
    public var buffers: [Float]
    /// Training steps taken (`num_batches_tracked` of every batch-norm layer).
    public var batchesTracked: Int
    /// Floats of batch statistics a training step reduces besides the gradients.
    let statisticCount: Int

    public init(_ layer: any Layer, inputShape: FeatureShape, seed: UInt64 = 0) throws(NetworkError) {
        guard inputShape.channels > 0, inputShape.height > 0, inputShape.width > 0 else {
            throw .invalidInput(reason: "input shape \(inputShape) must have positive dimensions")
        }
        var layout = LayoutBuilder(batchCapacity: 1)
        let bound = try layer.architecture.bindable.bind(input: inputShape, path: "", layout: &layout)
        architecture = layer.architecture
        self.inputShape = inputShape
        outputShape = bound.output
        parameterEntries = layout.parameters
        bufferEntries = layout.buffers
        stateDictNames = layout.names
        statisticCount = layout.statisticCount
        batchesTracked = 0
        buffers = [Float](repeating: 0, count: layout.bufferCount)
        for entry in layout.buffers {
            if case .values(let initial) = entry.kind {
                for i in 0..<entry.count { buffers[entry.offset + i] = initial }
            }
        }
        parameters = [Float](repeating: 0, count: layout.parameterCount)
        for (index, entry) in layout.parameters.enumerated() {
            var random = RandomStream(seed: seed, path: [0x1217, UInt64(index)])
            for i in 0..<entry.count {
                let v: Float
                switch entry.initializer {
                case .constant(let c): v = c
                case .uniform(let bound): v = (2 * random.nextFloat() - 1) * bound
                case .heNormalFanOut(let fanOut): v = Float(random.standardNormal() * (2 / Double(max(1, fanOut))).squareRoot())
                }
                parameters[entry.offset + i] = v
            }
        }
    }

    /// The layer tree this network runs.
    public var layer: any Layer { architecture.layer }

    /// The network bound for micro-shards of up to `rows` rows.
    func bound(rows: Int) throws(NetworkError) -> BoundNetwork {
        var layout = LayoutBuilder(batchCapacity: rows)
        let root = try architecture.bindable.bind(input: inputShape, path: "", layout: &layout)
        return BoundNetwork(root: root, batchCapacity: layout.batchCapacity, workspaceCount: layout.workspaceCount,
                            scratchCount: layout.scratchCount, parameterCount: layout.parameterCount,
                            statisticCount: layout.statisticCount)
    }

    /// The outputs (`rows × outputShape.count`, inference mode: running statistics, no
    /// dropout) for `images` (`rows × inputShape.count` values, NCHW), computed in blocks of
    /// ``inferenceRows`` rows on up to `threads` threads. Blocks are independent, so the result
    /// does not depend on `threads`.
    public func predict(_ images: [Float], threads: Int = 1) throws(NetworkError) -> [Float] {
        let width = inputShape.count
        guard images.count % width == 0 else {
            throw .invalidInput(reason: "\(images.count) values are not a whole number of \(inputShape) images (\(width) values each)")
        }
        let rows = images.count / width
        var out = [Float](repeating: 0, count: rows * outputShape.count)
        guard rows > 0 else { return out }
        let net = try bound(rows: min(rows, Network.inferenceRows))
        let blocks = (rows + net.batchCapacity - 1) / net.batchCapacity
        let outWidth = outputShape.count
        images.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                parameters.withUnsafeBufferPointer { p in
                    buffers.withUnsafeBufferPointer { b in
                        // Parameters and buffers may be empty (a layer-free network), so they go through `orEmpty`.
                        let xs = SharedPointer(x.baseAddress!), ys = SharedMutablePointer(y.baseAddress!) // invariant: rows > 0, so both buffers are non-empty
                        let ps = SharedPointer(p.orEmpty), bs = SharedPointer(b.orEmpty)
                        parallelFor(blocks: blocks, threads: threads, makeScratch: { Workspace(net) }) { block, workspace in
                            let lo = block * net.batchCapacity, count = min(net.batchCapacity, rows - lo)
                            net.infer(xs + lo * width, rows: count, into: ys + lo * outWidth,
                                      parameters: ps.base, buffers: bs.base, workspace: workspace)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Rows per inference block.
    public static let inferenceRows = 64
}

extension UnsafeBufferPointer where Element == Float {
    /// The base address, or a pointer to a static zero for an empty buffer (a layer-free network
    /// has no parameters; nothing reads through it).
    var orEmpty: UnsafePointer<Float> { baseAddress ?? UnsafePointer(emptyFloat) }
}

/// The one float an empty buffer's pointer points to.
nonisolated(unsafe) let emptyFloat: UnsafeMutablePointer<Float> = {
    let p = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    p.initialize(to: 0)
    return p
}()

/// A network bound for micro-shards of up to ``batchCapacity`` rows.
struct BoundNetwork: Sendable {
    let root: any BoundLayer
    let batchCapacity: Int
    let workspaceCount: Int
    let scratchCount: Int
    let parameterCount: Int
    let statisticCount: Int
    var output: FeatureShape { root.output }
    /// Values of one micro-shard's partial result: gradients, weighted batch statistics, then
    /// the summed loss and the correct count.
    var partialWidth: Int { parameterCount + statisticCount + 2 }

    func infer(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>,
               parameters: UnsafePointer<Float>, buffers: UnsafePointer<Float>, workspace: Workspace) {
        let context = PassContext(parameters: parameters, gradients: emptyFloat, buffers: buffers, statistics: emptyFloat,
                                  workspace: workspace.base, scratch: workspace.scratch, rows: rows, statisticWeight: 0, training: false,
                                  seed: 0, step: 0, shard: 0)
        root.forward(x, y, context)
    }

    /// Forward and backward over one micro-shard in training mode, writing its partial result
    /// (``partialWidth`` values) to `partial`. `scale` is `1 / mini-batch rows`, so the sum of
    /// the partials over the mini-batch is the mean loss's gradient.
    func trainShard(_ x: UnsafePointer<Float>, targets: UnsafePointer<Float>, rows: Int, loss: Loss, scale: Float,
                    parameters: UnsafePointer<Float>, buffers: UnsafePointer<Float>, partial: UnsafeMutablePointer<Float>,
                    workspace: Workspace, seed: UInt64, step: UInt64, shard: UInt64) {
        partial.zero(partialWidth)
        let context = PassContext(parameters: parameters, gradients: partial, buffers: buffers,
                                  statistics: partial + parameterCount, workspace: workspace.base, scratch: workspace.scratch, rows: rows,
                                  statisticWeight: Float(rows) * scale, training: true, seed: seed, step: step, shard: shard)
        let width = output.count
        root.forward(x, workspace.output, context)
        let (sum, correct) = loss.evaluate(UnsafePointer(workspace.output), targets: targets, rows: rows, width: width,
                                           scale: scale, gradient: workspace.outputGradient)
        root.backward(x, UnsafePointer(workspace.output), workspace.outputGradient, nil, context)
        partial[parameterCount + statisticCount] = Float(sum)
        partial[parameterCount + statisticCount + 1] = Float(correct)
    }
}

/// One micro-shard's working memory: activations, caches, the output and its gradient, and the
/// layers' shared scratch. Owned by the one thread that uses it. 64-byte aligned (a cache line,
/// an AVX-512 vector); every layer's region starts on a 16-float boundary of it.
final class Workspace {
    let base: UnsafeMutablePointer<Float>
    let output: UnsafeMutablePointer<Float>
    let outputGradient: UnsafeMutablePointer<Float>
    let scratch: UnsafeMutablePointer<Float>
    private let raw: UnsafeMutableRawPointer

    init(_ network: BoundNetwork) {
        let outputs = network.batchCapacity * network.output.count
        let scratchStart = (network.workspaceCount + 2 * outputs + 1 + 15) & ~15
        let count = scratchStart + network.scratchCount
        raw = .allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
        base = raw.initializeMemory(as: Float.self, repeating: 0, count: count)
        output = base + network.workspaceCount
        outputGradient = output + outputs
        scratch = base + scratchStart
    }

    deinit { raw.deallocate() }
}
