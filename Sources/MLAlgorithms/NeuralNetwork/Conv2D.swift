/// A 2-D convolution over NCHW input, PyTorch's `nn.Conv2d`.
///
/// Input `[N, inputChannels, H, W]`, output `[N, outputChannels, Ho, Wo]` with
/// `Ho = ⌊(H + padTop + padBottom − dilation·(kernelHeight − 1) − 1) / stride⌋ + 1` (likewise `Wo`).
/// `y[n, o] = bias[o] + Σ_{c ∈ group(o), i, j} weight[o, c, i, j] · x[n, c, oy·stride − padTop + i·dilation, …]`.
///
/// State dict: `weight` `[outputChannels, inputChannels / groups, kernelHeight, kernelWidth]`
/// and, with ``useBias``, `bias` `[outputChannels]`.
///
/// Runs on the direct convolution kernels (C target `CKernels`: register-blocked, explicit SIMD
/// chosen at run time) where they handle the geometry and measured faster; otherwise as GEMM over
/// an im2col column buffer (blocked so the buffer stays under ``Conv2D/columnBudget`` floats), or
/// as one GEMM per image for a 1×1 kernel with stride 1, no padding and one group.
public struct Conv2D: BindableLayer, Codable, Hashable {
    public enum Padding: Sendable, Codable, Hashable {
        /// No padding.
        case valid
        /// Output the input's size (stride 1 only); an odd total goes to the bottom/right, as
        /// PyTorch's `padding="same"` does.
        case same
        /// The same zero padding on both sides of each dimension.
        case explicit(height: Int, width: Int)
    }

    /// How the weights start.
    public enum Initialization: String, Sendable, Codable, Hashable {
        /// PyTorch's default: weights and bias uniform on `±1/√fanIn`.
        case pytorch
        /// torchvision's ResNet: weights normal with standard deviation `√(2/fanOut)`, bias 0.
        case heNormalFanOut
    }

    public var inputChannels: Int
    public var outputChannels: Int
    public var kernelHeight: Int
    public var kernelWidth: Int
    public var stride: Int
    public var padding: Padding
    public var dilation: Int
    public var groups: Int
    public var useBias: Bool
    public var initialization: Initialization

    /// Floats of im2col column buffer per convolution (4 MB): large enough that the GEMM's `n`
    /// spans many images, small enough to stay near the caches.
    public static let columnBudget = 1 << 20

    /// Columns a convolution GEMM should have at least (images are batched up to this): narrower
    /// GEMMs spend more of their time packing than multiplying.
    public static let minimumColumns = 512

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1,
                padding: Padding = .valid, dilation: Int = 1, groups: Int = 1, useBias: Bool = true,
                initialization: Initialization = .pytorch) {
        self.init(inputChannels: inputChannels, outputChannels: outputChannels, kernelHeight: kernelSize,
                  kernelWidth: kernelSize, stride: stride, padding: padding, dilation: dilation, groups: groups,
                  useBias: useBias, initialization: initialization)
    }

    public init(inputChannels: Int, outputChannels: Int, kernelHeight: Int, kernelWidth: Int, stride: Int = 1,
                padding: Padding = .valid, dilation: Int = 1, groups: Int = 1, useBias: Bool = true,
                initialization: Initialization = .pytorch) {
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.useBias = useBias
        self.initialization = initialization
    }

    public var architecture: LayerArchitecture { .conv2D(self) }

    /// Top, left, bottom, right padding.
    func paddings(path: String) throws(NetworkError) -> (top: Int, left: Int, bottom: Int, right: Int) {
        switch padding {
        case .valid: return (0, 0, 0, 0)
        case .explicit(let h, let w):
            guard h >= 0, w >= 0 else { throw .invalidLayer(path: path.layerName, reason: "padding (\(h), \(w)) must not be negative") }
            return (h, w, h, w)
        case .same:
            guard stride == 1 else {
                throw .invalidLayer(path: path.layerName, reason: "padding \"same\" needs stride 1 (stride is \(stride)), as in PyTorch")
            }
            let th = dilation * (kernelHeight - 1), tw = dilation * (kernelWidth - 1)
            return (th / 2, tw / 2, th - th / 2, tw - tw / 2)
        }
    }

    func bind(input: FeatureShape, path: String, layout: inout LayoutBuilder) throws(NetworkError) -> any BoundLayer {
        let name = path.layerName
        guard inputChannels > 0, outputChannels > 0 else {
            throw .invalidLayer(path: name, reason: "channels must be positive (in \(inputChannels), out \(outputChannels))")
        }
        guard kernelHeight > 0, kernelWidth > 0, stride > 0, dilation > 0 else {
            throw .invalidLayer(path: name, reason: "kernel \(kernelHeight)×\(kernelWidth), stride \(stride) and dilation \(dilation) must be positive")
        }
        guard groups > 0, inputChannels % groups == 0, outputChannels % groups == 0 else {
            throw .invalidLayer(path: name, reason: "groups \(groups) must divide both \(inputChannels) input and \(outputChannels) output channels")
        }
        guard input.channels == inputChannels else {
            throw .shapeMismatch(path: name, expected: "[\(inputChannels), H, W]", actual: input)
        }
        let pad = try paddings(path: path)
        let spanH = dilation * (kernelHeight - 1) + 1, spanW = dilation * (kernelWidth - 1) + 1
        let paddedH = input.height + pad.top + pad.bottom, paddedW = input.width + pad.left + pad.right
        guard paddedH >= spanH, paddedW >= spanW else {
            throw .invalidLayer(path: name, reason: "the \(spanH)×\(spanW) kernel span is larger than the padded \(paddedH)×\(paddedW) input \(input)")
        }
        let output = FeatureShape(channels: outputChannels, height: (paddedH - spanH) / stride + 1, width: (paddedW - spanW) / stride + 1)
        let k = inputChannels / groups * kernelHeight * kernelWidth
        let plane = output.planeSize
        try checkedDimensions([k * plane, outputChannels * plane * layout.batchCapacity, input.count * layout.batchCapacity], path: path)

        let fanIn = k, fanOut = outputChannels / groups * kernelHeight * kernelWidth
        let bound = 1 / Float(fanIn).squareRoot()
        let weightInit: ParameterInitializer = initialization == .pytorch ? .uniform(bound: bound) : .heNormalFanOut(fanOut: fanOut)
        let weight = layout.parameter(path + "weight", shape: [outputChannels, inputChannels / groups, kernelHeight, kernelWidth],
                                      initializer: weightInit)
        let bias = useBias
            ? layout.parameter(path + "bias", shape: [outputChannels], initializer: initialization == .pytorch ? .uniform(bound: bound) : .constant(0))
            : -1
        // A plain 1×1 (stride 1, no padding, one group) is one GEMM per image, no im2col.
        let pointwise = kernelHeight == 1 && kernelWidth == 1 && stride == 1 && pad == (0, 0, 0, 0) && groups == 1
        if let kernel = directKernel(input: input, padding: pad) {
            layout.scratch(kernel.scratchCount)
            return BoundConv2D(input: input, output: output, kernelHeight: kernelHeight, kernelWidth: kernelWidth, stride: stride,
                               padTop: pad.top, padLeft: pad.left, dilation: dilation, groups: groups, weight: weight, bias: bias,
                               kernel: kernel, pointwise: false, chunk: 1, columns: -1, matrix: -1, shifted: false,
                               transposed: false, chunkT: 0, columnsT: -1, matrixT: -1, flipped: -1)
        }
        // Images per GEMM: enough for a GEMM of at least `Conv2D.minimumColumns` columns (one
        // image, written straight into NCHW, when its plane alone is that wide), within the
        // column budget, at least one.
        func images(_ rowsK: Int, _ plane: Int) -> Int {
            let wanted = (Conv2D.minimumColumns + plane - 1) / max(1, plane)
            return max(1, min(layout.batchCapacity, wanted, Conv2D.columnBudget / max(1, rowsK * plane)))
        }
        let chunk = pointwise ? 1 : images(k, plane)
        let columns = pointwise ? -1 : layout.workspace(perRow: 0, fixed: k * plane * chunk)
        let matrix = pointwise || chunk == 1 ? -1 : layout.workspace(perRow: 0, fixed: outputChannels / groups * plane * chunk)
        // Stride 1, no dilation, one group, the output as wide as the input, padding below the
        // kernel: every im2col row is the input shifted by a constant offset, and the input
        // gradient is the correlation of dY with the flipped kernel (no col2im).
        let shifted = !pointwise && stride == 1 && dilation == 1 && output.width == input.width
        let transposed = shifted && groups == 1 && pad.top < kernelHeight && pad.left < kernelWidth
            && pad.bottom < kernelHeight && pad.right < kernelWidth
        let kT = outputChannels * kernelHeight * kernelWidth, inPlane = input.planeSize
        let chunkT = transposed ? images(kT, inPlane) : 0
        try checkedDimensions([kT * inPlane * max(1, chunkT)], path: path)
        return BoundConv2D(input: input, output: output, kernelHeight: kernelHeight, kernelWidth: kernelWidth, stride: stride,
                           padTop: pad.top, padLeft: pad.left, dilation: dilation, groups: groups, weight: weight, bias: bias,
                           kernel: nil, pointwise: pointwise, chunk: chunk, columns: columns, matrix: matrix, shifted: shifted,
                           transposed: transposed, chunkT: chunkT,
                           columnsT: transposed ? layout.workspace(perRow: 0, fixed: kT * inPlane * chunkT) : -1,
                           matrixT: transposed && chunkT > 1 ? layout.workspace(perRow: 0, fixed: inputChannels * inPlane * chunkT) : -1,
                           flipped: transposed ? layout.workspace(perRow: 0, fixed: kT * inputChannels) : -1)
    }

    /// The direct kernels for this layer on `input`, when the strategy (``ConvolutionStrategy``)
    /// and the geometry allow them. The direct kernels handle no dilation, one group and
    /// paddings below the kernel; ``ConvolutionStrategy/automatic`` uses them for all three
    /// passes (forward, input gradient, weight gradient) of a layer exactly when
    ///
    /// - the kernel is larger than 1×1: a 1×1 convolution's im2col is a copy (stride 1: none at
    ///   all), and its GEMM measured 1.1–1.5× faster than the direct kernels on every pass;
    /// - it has at least ``directKernelMinimumInputChannels`` input channels: with fewer, the
    ///   weight gradient's register tiles (up to 8 rows of `C·kh` kernel rows) are mostly
    ///   empty: its weight gradient measured 0.3× (1 channel, the small CNN's first
    ///   convolution) and 0.5× (3 channels, ResNet's stem) the GEMM's speed, and the forward
    ///   0.76× at 1 channel;
    /// - and at most ``directKernelChannelLimit`` input or output channels.
    ///
    /// The rule depends on the geometry only, never on timing at run time, so a network binds
    /// the same way on every run (docs/neural-networks.md "Direct convolution" has the timings).
    func directKernel(input: FeatureShape, padding: (top: Int, left: Int, bottom: Int, right: Int)) -> DirectConvolution? {
        let strategy = ConvolutionStrategy.current
        guard strategy != .gemm, groups == 1, dilation == 1 else { return nil }
        if strategy == .automatic {
            guard kernelHeight * kernelWidth > 1, inputChannels >= Conv2D.directKernelMinimumInputChannels,
                  min(inputChannels, outputChannels) <= Conv2D.directKernelChannelLimit else { return nil }
        }
        return DirectConvolution(isa: .current, input: input, outputChannels: outputChannels, kernelHeight: kernelHeight,
                                 kernelWidth: kernelWidth, stride: stride, padding: padding)
    }

    /// Fewer input channels than this run on im2col + GEMM (``directKernel(input:padding:)``).
    static let directKernelMinimumInputChannels = 8

    /// Above this many input and output channels, run on im2col + GEMM: at 256 → 256 (3×3, 8×8
    /// planes) the two measured within 10% on forward and weight gradient, and wider layers
    /// were not measured.
    static let directKernelChannelLimit = 256
}
