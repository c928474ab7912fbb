/// A ResNet residual block, torchvision's `BasicBlock` or `Bottleneck` (ResNet v1.5: the stride
/// is on the 3×3 convolution), with torchvision's state-dict names.
///
/// - basic: `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`, two 3×3 convolutions;
///   output `planes` channels.
/// - bottleneck: 1×1 to `planes`, 3×3 (stride), 1×1 to `4·planes`, each followed by batch norm,
///   ReLU after the first two and after the sum; output `4·planes` channels.
///
/// The shortcut is the identity, or `downsample` (a 1×1 convolution with the block's stride and
/// batch norm, named `downsample.0` / `downsample.1`) when the stride is not 1 or the channel
/// count changes. Convolutions have no bias and start as torchvision's (normal, `√(2/fanOut)`).
public struct ResidualBlock: BindableLayer, Codable, Hashable {
    public enum Kind: String, Sendable, Codable, Hashable {
        case basic, bottleneck
    }

    public var kind: Kind
    public var inputChannels: Int
    public var planes: Int
    public var stride: Int

    public init(_ kind: Kind, inputChannels: Int, planes: Int, stride: Int = 1) {
        self.kind = kind
        self.inputChannels = inputChannels
        self.planes = planes
        self.stride = stride
    }

    /// Channels out: `planes` (basic) or `4·planes` (bottleneck).
    public var outputChannels: Int { kind == .basic ? planes : 4 * planes }
    /// Whether the shortcut is a 1×1 convolution and batch norm rather than the identity.
    public var hasDownsample: Bool { stride != 1 || inputChannels != outputChannels }

    public var architecture: LayerArchitecture { .residualBlock(self) }

    /// The main path, named as torchvision names it.
    var mainPath: [(name: String, layer: any Layer)] {
        func conv(_ i: Int, _ o: Int, _ k: Int, _ s: Int) -> Conv2D {
            Conv2D(inputChannels: i, outputChannels: o, kernelSize: k, stride: s, padding: .explicit(height: k / 2, width: k / 2),
                   useBias: false, initialization: .heNormalFanOut)
        }
        switch kind {
        case .basic:
            return [("conv1", conv(inputChannels, planes, 3, stride)), ("bn1", BatchNorm2D(features: planes)), ("relu", ReLU()),
                    ("conv2", conv(planes, planes, 3, 1)), ("bn2", BatchNorm2D(features: planes))]
        case .bottleneck:
            return [("conv1", conv(inputChannels, planes, 1, 1)), ("bn1", BatchNorm2D(features: planes)), ("relu", ReLU()),
                    ("conv2", conv(planes, planes, 3, stride)), ("bn2", BatchNorm2D(features: planes)), ("relu", ReLU()),
                    ("conv3", conv(planes, 4 * planes, 1, 1)), ("bn3", BatchNorm2D(features: 4 * planes))]
        }
    }

    func bind(input: FeatureShape, path: String, layout: inout LayoutBuilder) throws(NetworkError) -> any BoundLayer {
        guard inputChannels > 0, planes > 0, stride > 0 else {
            throw .invalidLayer(path: path.layerName, reason: "input channels \(inputChannels), planes \(planes) and stride \(stride) must be positive")
        }
        guard input.channels == inputChannels else {
            throw .shapeMismatch(path: path.layerName, expected: "[\(inputChannels), H, W]", actual: input)
        }
        let main = try BoundChain.bind(mainPath, input: input, path: path, layout: &layout)
        var shortcut: (any BoundLayer)?
        if hasDownsample {
            let downsample = Sequential(
                Conv2D(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 1, stride: stride, useBias: false,
                       initialization: .heNormalFanOut),
                BatchNorm2D(features: outputChannels))
            shortcut = try downsample.bind(input: input, path: path + "downsample.", layout: &layout)
            guard shortcut?.output == main.output else {
                throw .invalidLayer(path: path.layerName, reason: "the shortcut's output \(shortcut.map { "\($0.output)" } ?? "") differs from the main path's \(main.output)")
            }
        }
        let out = main.output
        return BoundResidualBlock(
            input: input, output: out, main: main, shortcut: shortcut,
            mainOutput: layout.workspace(perRow: out.count),
            shortcutOutput: shortcut == nil ? -1 : layout.workspace(perRow: out.count),
            sumGradient: layout.workspace(perRow: out.count),
            mainInputGradient: layout.workspace(perRow: input.count))
    }
}

struct BoundResidualBlock: BoundLayer {
    let input: FeatureShape
    let output: FeatureShape
    let main: any BoundLayer
    let shortcut: (any BoundLayer)?
    /// Workspace offsets.
    let mainOutput: Int, shortcutOutput: Int, sumGradient: Int, mainInputGradient: Int

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ context: PassContext) {
        let m = context.workspace + mainOutput, count = context.rows * output.count
        main.forward(x, m, context)
        let s: UnsafePointer<Float>
        if let shortcut {
            let out = context.workspace + shortcutOutput
            shortcut.forward(x, out, context)
            s = UnsafePointer(out)
        } else {
            s = x
        }
        addReLU(m, s, into: y, count: count)
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, _ context: PassContext) {
        let count = context.rows * output.count
        // The sum's gradient goes down both paths; the main path may overwrite its copy.
        let dz = context.workspace + sumGradient
        reluBackward(y, dy, dz, count: count)
        copy(dz, into: dy, count: count)
        let dxMain: UnsafeMutablePointer<Float>? = dx == nil ? nil : context.workspace + mainInputGradient
        main.backward(x, UnsafePointer(context.workspace + mainOutput), dz, dxMain, context)
        if let shortcut {
            shortcut.backward(x, UnsafePointer(context.workspace + shortcutOutput), dy, dx, context)
            if let dx, let dxMain { add(dxMain, into: dx, count: context.rows * input.count) }
        } else if let dx, let dxMain {
            sum(dxMain, dy, into: dx, count: count)
        }
    }

    func finishStep(buffers: UnsafeMutablePointer<Float>, statistics: UnsafePointer<Float>) {
        main.finishStep(buffers: buffers, statistics: statistics)
        shortcut?.finishStep(buffers: buffers, statistics: statistics)
    }
}
