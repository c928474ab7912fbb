/// Layers applied one after another, PyTorch's `nn.Sequential`: child `i`'s tensors are named
/// `"i.<name>"` in the state dict (`0.weight`, `1.running_mean`, …), as PyTorch names them.
public struct Sequential: BindableLayer {
    public var layers: [any Layer]

    public init(_ layers: [any Layer]) { self.layers = layers }
    public init(_ layers: any Layer...) { self.layers = layers }

    public var architecture: LayerArchitecture { .sequential(layers.map(\.architecture)) }

    func bind(input: FeatureShape, path: String, layout: inout LayoutBuilder) throws(NetworkError) -> any BoundLayer {
        try BoundChain.bind(layers.enumerated().map { (String($0.offset), $0.element) }, input: input, path: path, layout: &layout)
    }
}

/// Bound children run in order. Every child's output but the last lives in the workspace (the
/// backward pass needs them); the last writes the chain's own output. Input gradients
/// alternate between two workspace buffers.
struct BoundChain: BoundLayer {
    let input: FeatureShape
    let output: FeatureShape
    let layers: [any BoundLayer]
    /// Workspace offsets of children `0..<count-1`'s outputs.
    let activations: [Int]
    let gradients: (Int, Int)

    static func bind(_ children: [(name: String, layer: any Layer)], input: FeatureShape, path: String,
                     layout: inout LayoutBuilder) throws(NetworkError) -> any BoundLayer {
        guard !children.isEmpty else { return BoundReshape(input: input, output: input) }
        var bound: [any BoundLayer] = []
        var shape = input
        for (name, layer) in children {
            let b = try layer.architecture.bindable.bind(input: shape, path: path + name + ".", layout: &layout)
            bound.append(b)
            shape = b.output
        }
        if bound.count == 1 { return bound[0] }
        var activations: [Int] = []
        for b in bound.dropLast() { activations.append(layout.workspace(perRow: b.output.count)) }
        let widest = bound.dropLast().map(\.output.count).max() ?? 0
        let gradients = (layout.workspace(perRow: widest), layout.workspace(perRow: widest))
        return BoundChain(input: input, output: shape, layers: bound, activations: activations, gradients: gradients)
    }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ context: PassContext) {
        var current = x
        for (i, layer) in layers.enumerated() {
            let out = i == layers.count - 1 ? y : context.workspace + activations[i]
            layer.forward(current, out, context)
            current = UnsafePointer(out)
        }
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, _ context: PassContext) {
        var gradient = dy
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            let xi = i == 0 ? x : UnsafePointer(context.workspace + activations[i - 1])
            let yi = i == layers.count - 1 ? y : UnsafePointer(context.workspace + activations[i])
            let dxi: UnsafeMutablePointer<Float>? = i == 0 ? dx : context.workspace + (i % 2 == 0 ? gradients.0 : gradients.1)
            layers[i].backward(xi, yi, gradient, dxi, context)
            if let dxi { gradient = dxi }
        }
    }

    func finishStep(buffers: UnsafeMutablePointer<Float>, statistics: UnsafePointer<Float>) {
        for layer in layers { layer.finishStep(buffers: buffers, statistics: statistics) }
    }
}
