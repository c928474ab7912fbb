import CKernels
import Foundation

/// The instruction set the direct convolution kernels (the C target `CKernels`) run with.
///
/// Chosen once per bound network: the widest one the CPU supports (``best``), unless the
/// environment variable `MLCORE_KERNEL_ISA` (`portable`, `avx2`, `avx512`) names another
/// supported one — for benchmarking and diagnosis. Results are deterministic for a given
/// instruction set; AVX2 and AVX-512 compute the same bits (each lane sums its terms in the same
/// order and both fuse multiply-adds), the portable kernels (no FMA on x86-64) may differ in the
/// last bits.
public enum KernelInstructionSet: Int32, Sendable, CaseIterable, CustomStringConvertible {
    /// Plain C vectorised by the compiler for the baseline target (SSE2 on x86-64, NEON on arm64).
    case portable = 0
    /// AVX2 + FMA, 8 lanes.
    case avx2 = 1
    /// AVX-512F, 16 lanes.
    case avx512 = 2

    /// Whether this machine can run the kernels.
    public var isSupported: Bool { mlk_isa_supported(rawValue) != 0 }

    /// The widest supported instruction set.
    public static var best: KernelInstructionSet { KernelInstructionSet(rawValue: mlk_isa_best()) ?? .portable }

    /// The supported instruction sets, narrowest first.
    public static var supported: [KernelInstructionSet] { allCases.filter(\.isSupported) }

    public var description: String {
        switch self {
        case .portable: "portable"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }

    /// Test hook: the instruction set layers bound in this task use (when supported).
    @TaskLocal static var override: KernelInstructionSet?

    /// What a layer bound now uses: the task's override, else `MLCORE_KERNEL_ISA`, else ``best``.
    public static var current: KernelInstructionSet {
        if let forced = override, forced.isSupported { return forced }
        if let forced = environment, forced.isSupported { return forced }
        return best
    }

    private static let environment: KernelInstructionSet? = {
        guard let name = ProcessInfo.processInfo.environment["MLCORE_KERNEL_ISA"] else { return nil }
        return allCases.first { $0.description == name.lowercased() }
    }()
}

/// Which implementation a ``Conv2D`` layer runs with.
enum ConvolutionStrategy: String, Sendable {
    /// The direct kernels where they handle the geometry and measured faster, im2col + GEMM
    /// elsewhere.
    case automatic
    /// im2col + GEMM (or one GEMM per image for a plain 1×1) everywhere.
    case gemm
    /// The direct kernels wherever they handle the geometry.
    case direct

    /// Test hook: the strategy layers bound in this task use.
    @TaskLocal static var override: ConvolutionStrategy?

    /// The task's override, else the environment variable `MLCORE_CONV` (`automatic`, `gemm`,
    /// `direct`; for benchmarking the two paths), else automatic.
    static var current: ConvolutionStrategy { override ?? environment ?? .automatic }

    private static let environment: ConvolutionStrategy? = {
        ProcessInfo.processInfo.environment["MLCORE_CONV"].flatMap { ConvolutionStrategy(rawValue: $0.lowercased()) }
    }()
}

/// One convolution layer's geometry for the direct kernels (C `mlk_conv2d` without the image
/// count) and the instruction set it runs with.
struct DirectConvolution: Sendable, Hashable {
    let isa: KernelInstructionSet
    let inputChannels: Int32, height: Int32, width: Int32
    let outputChannels: Int32, kernelHeight: Int32, kernelWidth: Int32, stride: Int32
    let padTop: Int32, padLeft: Int32, padBottom: Int32, padRight: Int32

    /// `nil` unless every value fits and the kernels support the geometry (no dilation, one
    /// group, paddings below the kernel).
    init?(isa: KernelInstructionSet, input: FeatureShape, outputChannels: Int, kernelHeight: Int, kernelWidth: Int, stride: Int,
          padding: (top: Int, left: Int, bottom: Int, right: Int)) {
        let values = [input.channels, input.height, input.width, outputChannels, kernelHeight, kernelWidth, stride,
                      padding.top, padding.left, padding.bottom, padding.right]
        guard values.allSatisfy({ $0 >= 0 && $0 <= Int(Int32.max) }) else { return nil }
        self.isa = isa
        inputChannels = Int32(input.channels)
        height = Int32(input.height)
        width = Int32(input.width)
        self.outputChannels = Int32(outputChannels)
        self.kernelHeight = Int32(kernelHeight)
        self.kernelWidth = Int32(kernelWidth)
        self.stride = Int32(stride)
        padTop = Int32(padding.top)
        padLeft = Int32(padding.left)
        padBottom = Int32(padding.bottom)
        padRight = Int32(padding.right)
        var g = geometry(images: 1)
        guard mlk_conv2d_supported(&g) != 0 else { return nil }
    }

    func geometry(images: Int) -> mlk_conv2d {
        mlk_conv2d(images: Int32(truncatingIfNeeded: images), in_channels: inputChannels, in_height: height, in_width: width,
                   out_channels: outputChannels, kernel_height: kernelHeight, kernel_width: kernelWidth, stride: stride,
                   pad_top: padTop, pad_left: padLeft, pad_bottom: padBottom, pad_right: padRight)
    }

    /// Floats of scratch any of the three calls needs (independent of the image count).
    var scratchCount: Int {
        var g = geometry(images: 1)
        return Int(mlk_conv2d_scratch_floats(&g))
    }

    /// `y = x ⋆ W (+ bias)` for `images` images; `y` is overwritten.
    func forward(images: Int, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                 into y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        var g = geometry(images: images)
        mlk_conv2d_forward(isa.rawValue, &g, x, weight, bias, y, scratch)
    }

    /// The input gradient (overwritten).
    func inputGradient(images: Int, _ dy: UnsafePointer<Float>, weight: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>,
                       scratch: UnsafeMutablePointer<Float>) {
        var g = geometry(images: images)
        mlk_conv2d_backward_data(isa.rawValue, &g, dy, weight, dx, scratch)
    }

    /// The weight gradient (and, with `biasGradient`, the bias gradient) added in.
    func addParameterGradients(images: Int, _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                               weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?,
                               scratch: UnsafeMutablePointer<Float>) {
        var g = geometry(images: images)
        mlk_conv2d_backward_filter(isa.rawValue, &g, x, dy, weightGradient, biasGradient, scratch)
    }
}
