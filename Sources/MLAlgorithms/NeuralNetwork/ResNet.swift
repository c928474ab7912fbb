/// A whole residual network as one layer: torchvision's `ResNet` (v1.5) for the ImageNet depths
/// and He et al.'s CIFAR ResNets for the small-image depths, with the modules' state-dict names.
///
/// **ImageNet depths** (``imageNetDepths``: 18, 34, 50, 101, 152, 200) are exactly
/// `torchvision.models.resnet<depth>(num_classes: classes)` (200:
/// `ResNet(Bottleneck, [3, 24, 36, 3])`):
///
/// | name | module | output for a `[C, H, W]` input |
/// | --- | --- | --- |
/// | `conv1` | 7×7 convolution, stride 2, padding 3, no bias, `C` → 64 | `[64, ⌊(H−1)/2⌋+1, …]` |
/// | `bn1`, `relu` | batch norm, ReLU | |
/// | `maxpool` | 3×3 max pooling, stride 2, padding 1 | halves again (rounding up) |
/// | `layer1` … `layer4` | ``ResidualBlock``s (`.basic` for 18/34, `.bottleneck` for 50+), planes 64/128/256/512, the first block of each stage with stride 1/2/2/2 | `512·e` channels (e = 1 basic, 4 bottleneck) |
/// | `avgpool` | global average pooling (`AdaptiveAvgPool2d(1)`) | `[512·e]` |
/// | `fc` | `Linear(512·e, classes)` | `[classes]` |
///
/// Blocks per stage: 18 `[2, 2, 2, 2]`, 34 `[3, 4, 6, 3]`, 50 `[3, 4, 6, 3]`, 101 `[3, 4, 23, 3]`,
/// 152 `[3, 8, 36, 3]`, 200 `[3, 24, 36, 3]`. A block's tensors are `layer<s>.<i>.conv1.weight`,
/// `layer<s>.<i>.bn1.{weight,bias,running_mean,running_var,num_batches_tracked}`, …, and
/// `layer<s>.<i>.downsample.{0,1}.…` for the 1×1 convolution + batch norm projection of a block
/// whose stride or channel count changes (torchvision's rule).
///
/// **Small-image depths** (``smallImageDepths``: 20, 32, 44, 56, 110 = 6n + 2) are the CIFAR
/// ResNets of He et al. 2016 (§4.2): `conv1` 3×3 stride 1 padding 1 to 16 channels, `bn1`,
/// `relu`, `layer1` … `layer3` of n basic blocks with 16/32/64 planes and stride 1/2/2,
/// `avgpool`, `fc` `Linear(64, classes)`. No max pooling. Where the shape changes the shortcut
/// is torchvision's 1×1 convolution + batch norm projection ("option B"), not the paper's
/// zero-padded identity ("option A"), so the names are the ImageNet ones
/// (`layer2.0.downsample.0.weight`, …); the two projections add 2,752 parameters to ResNet-20's
/// 0.27M.
///
/// Input `[inputChannels, H, W]` NCHW, any `H, W ≥ 1`: the pooling before `fc` is global, and
/// torchvision's paddings keep every plane at least 1×1 (as in PyTorch); output `[classes]`
/// logits. Initialization as torchvision's: convolutions normal with std `√(2/fanOut)`
/// (`kaiming_normal_(mode="fan_out")`), batch norm weight 1 and bias 0, `fc` PyTorch's
/// default uniform `±1/√fanIn`.
public struct ResNet: BindableLayer, Codable, Hashable {
    /// torchvision's depths (ResNet v1.5: the stride on the 3×3 convolution of a bottleneck).
    public static let imageNetDepths = [18, 34, 50, 101, 152, 200]
    /// He et al.'s CIFAR depths, 6n + 2 layers of basic blocks.
    public static let smallImageDepths = [20, 32, 44, 56, 110]

    /// One of ``imageNetDepths`` or ``smallImageDepths``.
    public var depth: Int
    /// Outputs of `fc` (at least 1).
    public var classes: Int
    /// Channels of the input images: `conv1`'s input channels (1 for grayscale, 3 for RGB).
    public var inputChannels: Int

    /// A ResNet of `depth` layers with `classes` outputs for images of `inputChannels` channels.
    /// Throws ``NetworkError/invalidSetting(name:value:rule:)`` for a depth not in
    /// ``imageNetDepths`` or ``smallImageDepths``, fewer than 1 class or channel.
    public init(depth: Int, classes: Int, inputChannels: Int = 3) throws(NetworkError) {
        self.depth = depth
        self.classes = classes
        self.inputChannels = inputChannels
        try validate()
    }

    public var architecture: LayerArchitecture { .resNet(self) }

    /// Whether this is a CIFAR-style network (3×3 stem, three stages of 16/32/64 planes).
    public var isSmallImage: Bool { Self.smallImageDepths.contains(depth) }

    /// `.bottleneck` for ImageNet depths of 50 and more, else `.basic`.
    public var blockKind: ResidualBlock.Kind { !isSmallImage && depth >= 50 ? .bottleneck : .basic }

    /// Residual blocks per stage (`layer1`, `layer2`, …).
    public var blocksPerStage: [Int] {
        switch depth {
        case 18: [2, 2, 2, 2]
        case 34, 50: [3, 4, 6, 3]
        case 101: [3, 4, 23, 3]
        case 152: [3, 8, 36, 3]
        case 200: [3, 24, 36, 3]
        default: Array(repeating: max(0, (depth - 2) / 6), count: 3)
        }
    }

    /// Planes of each stage's blocks: 64/128/256/512, or 16/32/64 for the small-image depths.
    public var planesPerStage: [Int] { isSmallImage ? [16, 32, 64] : [64, 128, 256, 512] }

    /// Channels reaching the global pooling and `fc`'s input features.
    public var featureChannels: Int { (planesPerStage.last ?? 0) * (blockKind == .bottleneck ? 4 : 1) }

    /// Checks the configuration; the rule is in the message.
    public func validate() throws(NetworkError) {
        guard Self.imageNetDepths.contains(depth) || Self.smallImageDepths.contains(depth) else {
            throw .invalidSetting(name: "depth", value: "\(depth)",
                                  rule: "must be an ImageNet depth \(Self.imageNetDepths) or a small-image (CIFAR, 6n+2) depth \(Self.smallImageDepths)")
        }
        guard classes >= 1 else { throw .invalidSetting(name: "classes", value: "\(classes)", rule: "must be at least 1") }
        guard inputChannels >= 1 else {
            throw .invalidSetting(name: "input channels", value: "\(inputChannels)", rule: "must be at least 1")
        }
    }

    /// The top-level modules in torchvision's order, under their attribute names.
    var children: [(name: String, layer: any Layer)] {
        let kind = blockKind, expansion = kind == .bottleneck ? 4 : 1
        var result: [(name: String, layer: any Layer)] = []
        let stemChannels = planesPerStage[0]
        if isSmallImage {
            result.append(("conv1", Conv2D(inputChannels: inputChannels, outputChannels: stemChannels, kernelSize: 3,
                                           padding: .explicit(height: 1, width: 1), useBias: false, initialization: .heNormalFanOut)))
        } else {
            result.append(("conv1", Conv2D(inputChannels: inputChannels, outputChannels: stemChannels, kernelSize: 7, stride: 2,
                                           padding: .explicit(height: 3, width: 3), useBias: false, initialization: .heNormalFanOut)))
        }
        result.append(("bn1", BatchNorm2D(features: stemChannels)))
        result.append(("relu", ReLU()))
        if !isSmallImage { result.append(("maxpool", MaxPool2D(kernelSize: 3, stride: 2, padding: 1))) }
        var channels = stemChannels
        for (stage, (blocks, planes)) in zip(blocksPerStage, planesPerStage).enumerated() {
            var stageBlocks: [any Layer] = []
            for b in 0..<blocks {
                let block = ResidualBlock(kind, inputChannels: channels, planes: planes, stride: b == 0 && stage > 0 ? 2 : 1)
                stageBlocks.append(block)
                channels = planes * expansion
            }
            result.append(("layer\(stage + 1)", Sequential(stageBlocks)))
        }
        result.append(("avgpool", GlobalAvgPool2D()))
        result.append(("fc", Dense(inputFeatures: channels, outputFeatures: classes)))
        return result
    }

    func bind(input: FeatureShape, path: String, layout: inout LayoutBuilder) throws(NetworkError) -> any BoundLayer {
        do {
            try validate()
        } catch {
            throw .invalidLayer(path: path.layerName, reason: "\(error)")
        }
        guard input.channels == inputChannels else {
            throw .shapeMismatch(path: (path + "conv1").layerName, expected: "[\(inputChannels), H, W]", actual: input)
        }
        guard input.height >= 1, input.width >= 1 else {
            throw .shapeMismatch(path: (path + "conv1").layerName, expected: "[\(inputChannels), H, W] with H, W ≥ 1", actual: input)
        }
        return try BoundChain.bind(children, input: input, path: path, layout: &layout)
    }

    private enum CodingKeys: String, CodingKey { case depth, classes, inputChannels }

    /// Decodes and checks the configuration (a `model.json` with a depth we do not build fails here).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        depth = try container.decode(Int.self, forKey: .depth)
        classes = try container.decode(Int.self, forKey: .classes)
        inputChannels = try container.decodeIfPresent(Int.self, forKey: .inputChannels) ?? 3
        do {
            try validate()
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .depth, in: container, debugDescription: "\(error)")
        }
    }
}
