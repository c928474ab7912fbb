import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// The convolution's paths against direct loops, each case run on im2col + GEMM and on the
/// direct kernels with every instruction set this machine supports: the shifted im2col (stride
/// 1, output as wide as the input), the transposed input gradient (the correlation of dY with
/// the flipped kernel), one image per GEMM written straight into NCHW, several images per GEMM;
/// the direct kernels' stride-1, phase-split strided and 1×1 paths. The kernels alone are tested
/// against naive loops over many more geometries in `DirectConvolutionTests`.
@Suite struct Conv2DKernelTests {
    /// `dx` and `dW` of `Σ y·dy` by the definition, in Double.
    static func naiveBackward(_ conv: Conv2D, input: FeatureShape, output: FeatureShape, x: [Float], dy: [Float], rows: Int,
                              weight: [Float]) -> (dx: [Float], dw: [Float]) {
        let (pt, pl, _, _) = (try? conv.paddings(path: "")) ?? (0, 0, 0, 0)
        let cinG = conv.inputChannels / conv.groups, coutG = conv.outputChannels / conv.groups
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: weight.count)
        for n in 0..<rows { for o in 0..<conv.outputChannels { for oy in 0..<output.height { for ox in 0..<output.width {
            let g = Double(dy[n * output.count + o * output.planeSize + oy * output.width + ox]), group = o / coutG
            for c in 0..<cinG { for i in 0..<conv.kernelHeight { for j in 0..<conv.kernelWidth {
                let iy = oy * conv.stride - pt + i * conv.dilation, ix = ox * conv.stride - pl + j * conv.dilation
                guard iy >= 0, iy < input.height, ix >= 0, ix < input.width else { continue }
                let xi = n * input.count + (group * cinG + c) * input.planeSize + iy * input.width + ix
                let wi = ((o * cinG + c) * conv.kernelHeight + i) * conv.kernelWidth + j
                dx[xi] += g * Double(weight[wi])
                dw[wi] += g * Double(x[xi])
            } } }
        } } } }
        return (dx.map { Float($0) }, dw.map { Float($0) })
    }

    struct Case: Sendable, CustomStringConvertible {
        let conv: Conv2D, input: FeatureShape, rows: Int
        var description: String {
            "\(conv.inputChannels)→\(conv.outputChannels) \(conv.kernelHeight)×\(conv.kernelWidth) s\(conv.stride) \(conv.padding) g\(conv.groups) on \(input) × \(rows)"
        }
    }

    static let cases: [Case] = [
        // ResNet's 3×3, one image per GEMM (32×32 planes) and several (12×12, 8×8).
        Case(conv: Conv2D(inputChannels: 4, outputChannels: 6, kernelSize: 3, padding: .explicit(height: 1, width: 1), useBias: false),
             input: FeatureShape(channels: 4, height: 32, width: 32), rows: 2),
        Case(conv: Conv2D(inputChannels: 16, outputChannels: 8, kernelSize: 3, padding: .explicit(height: 1, width: 1), useBias: false),
             input: FeatureShape(channels: 16, height: 12, width: 12), rows: 5),
        Case(conv: Conv2D(inputChannels: 8, outputChannels: 8, kernelSize: 3, padding: .explicit(height: 1, width: 1)),
             input: FeatureShape(channels: 8, height: 8, width: 8), rows: 11),
        // Other shifted geometries: 5×5, even `same` (asymmetric padding), taller padding, none in height, 1×3.
        Case(conv: Conv2D(inputChannels: 3, outputChannels: 4, kernelSize: 5, padding: .explicit(height: 2, width: 2)),
             input: FeatureShape(channels: 3, height: 9, width: 7), rows: 3),
        Case(conv: Conv2D(inputChannels: 2, outputChannels: 3, kernelSize: 2, padding: .same),
             input: FeatureShape(channels: 2, height: 6, width: 5), rows: 2),
        Case(conv: Conv2D(inputChannels: 2, outputChannels: 3, kernelSize: 3, padding: .explicit(height: 2, width: 1)),
             input: FeatureShape(channels: 2, height: 5, width: 6), rows: 2),
        Case(conv: Conv2D(inputChannels: 3, outputChannels: 2, kernelSize: 3, padding: .explicit(height: 0, width: 1)),
             input: FeatureShape(channels: 3, height: 7, width: 4), rows: 3),
        Case(conv: Conv2D(inputChannels: 3, outputChannels: 2, kernelHeight: 1, kernelWidth: 3, padding: .explicit(height: 0, width: 1)),
             input: FeatureShape(channels: 3, height: 4, width: 9), rows: 2),
        // Shifted but grouped (input gradient through col2im), a 1-wide plane, and strided (general path).
        Case(conv: Conv2D(inputChannels: 4, outputChannels: 6, kernelSize: 3, padding: .explicit(height: 1, width: 1), groups: 2),
             input: FeatureShape(channels: 4, height: 7, width: 7), rows: 2),
        Case(conv: Conv2D(inputChannels: 3, outputChannels: 3, kernelSize: 3, padding: .explicit(height: 1, width: 1)),
             input: FeatureShape(channels: 3, height: 1, width: 1), rows: 4),
        Case(conv: Conv2D(inputChannels: 4, outputChannels: 5, kernelSize: 3, stride: 2, padding: .explicit(height: 1, width: 1), useBias: false),
             input: FeatureShape(channels: 4, height: 9, width: 8), rows: 3),
        // ResNet's projection (1×1, stride 2) on an odd plane, a strided 3×3 with bias on 33×33,
        // the small CNN's valid 3×3 with bias, and a plain 1×1 with bias.
        Case(conv: Conv2D(inputChannels: 17, outputChannels: 9, kernelSize: 1, stride: 2, useBias: false),
             input: FeatureShape(channels: 17, height: 9, width: 9), rows: 3),
        Case(conv: Conv2D(inputChannels: 3, outputChannels: 18, kernelSize: 3, stride: 2, padding: .explicit(height: 1, width: 1)),
             input: FeatureShape(channels: 3, height: 33, width: 33), rows: 2),
        Case(conv: Conv2D(inputChannels: 5, outputChannels: 11, kernelSize: 3),
             input: FeatureShape(channels: 5, height: 13, width: 13), rows: 4),
        Case(conv: Conv2D(inputChannels: 6, outputChannels: 7, kernelSize: 1),
             input: FeatureShape(channels: 6, height: 5, width: 7), rows: 3),
    ]

    /// How a case runs: forced onto im2col + GEMM, or onto the direct kernels with one
    /// instruction set.
    enum Path: Sendable, CustomStringConvertible {
        case gemm
        case direct(KernelInstructionSet)
        var description: String {
            switch self {
            case .gemm: "im2col + GEMM"
            case .direct(let isa): "direct \(isa)"
            }
        }
        func run<T>(_ body: () throws -> T) rethrows -> T {
            switch self {
            case .gemm: try ConvolutionStrategy.$override.withValue(.gemm, operation: body)
            case .direct(let isa):
                try ConvolutionStrategy.$override.withValue(.direct) { try KernelInstructionSet.$override.withValue(isa, operation: body) }
            }
        }
    }

    static let paths: [Path] = [.gemm] + KernelInstructionSet.supported.map { .direct($0) }

    @Test("forward, input gradient and weight gradient equal the direct loops", arguments: cases, paths)
    func convolutionPathsEqualDirectLoops(_ c: Case, _ path: Path) throws {
        try path.run { try check(c, path) }
    }

    /// The documented rule (``Conv2D/directKernel(input:padding:)``): direct for kernels larger
    /// than 1×1 with 8 to 256 input channels, im2col + GEMM for 1×1 kernels, the first layers
    /// (1 and 3 input channels), dilation and groups.
    @Test func automaticStrategyFollowsTheDocumentedRule() throws {
        func bound(_ conv: Conv2D, _ input: FeatureShape) throws -> BoundConv2D {
            var layout = LayoutBuilder(batchCapacity: 4)
            let b = try ConvolutionStrategy.$override.withValue(.automatic) { try conv.bind(input: input, path: "", layout: &layout) }
            return try #require(b as? BoundConv2D)
        }
        let plane = FeatureShape(channels: 16, height: 32, width: 32)
        let same = Conv2D(inputChannels: 16, outputChannels: 16, kernelSize: 3, padding: .explicit(height: 1, width: 1), useBias: false)
        let strided = Conv2D(inputChannels: 16, outputChannels: 32, kernelSize: 3, stride: 2, padding: .explicit(height: 1, width: 1), useBias: false)
        let projection = Conv2D(inputChannels: 16, outputChannels: 32, kernelSize: 1, stride: 2, useBias: false)
        let pointwise = Conv2D(inputChannels: 16, outputChannels: 32, kernelSize: 1)
        #expect(try bound(same, plane).kernel?.isa == KernelInstructionSet.current)
        #expect(try bound(strided, plane).kernel != nil)
        #expect(try bound(Conv2D(inputChannels: 8, outputChannels: 4, kernelSize: 3), FeatureShape(channels: 8, height: 9, width: 9)).kernel != nil)
        #expect(try bound(projection, plane).kernel == nil)
        #expect(try bound(pointwise, plane).kernel == nil)
        #expect(try bound(Conv2D(inputChannels: 16, outputChannels: 16, kernelSize: 3, dilation: 2), plane).kernel == nil)
        // The first convolutions of ResNet (3 channels) and of the small CNN (1 channel).
        #expect(try bound(Conv2D(inputChannels: 3, outputChannels: 16, kernelSize: 3, padding: .explicit(height: 1, width: 1)),
                          FeatureShape(channels: 3, height: 32, width: 32)).kernel == nil)
        #expect(try bound(Conv2D(inputChannels: 1, outputChannels: 32, kernelSize: 3), FeatureShape(channels: 1, height: 28, width: 28)).kernel == nil)
        #expect(try bound(Conv2D(inputChannels: 7, outputChannels: 16, kernelSize: 3), FeatureShape(channels: 7, height: 9, width: 9)).kernel == nil)
        // Wider than the limit on both sides.
        #expect(try bound(Conv2D(inputChannels: 257, outputChannels: 260, kernelSize: 3), FeatureShape(channels: 257, height: 4, width: 4)).kernel == nil)
        #expect(try bound(Conv2D(inputChannels: 256, outputChannels: 512, kernelSize: 3), FeatureShape(channels: 256, height: 4, width: 4)).kernel != nil)
    }

    func check(_ c: Case, _ path: Path) throws {
        var network = try Network(c.conv, inputShape: c.input, seed: 7)
        var random = RandomStream(seed: 11)
        var x = [Float](repeating: 0, count: c.rows * c.input.count)
        try random.fillUniform(&x, in: -1..<1)
        let wCount = c.conv.outputChannels * c.conv.inputChannels / c.conv.groups * c.conv.kernelHeight * c.conv.kernelWidth
        let w = Array(network.parameters[0..<wCount])
        let b = c.conv.useBias ? Array(network.parameters[wCount...]) : nil
        let (expected, shape) = NetworkTrainerTests.naiveConv(c.conv, input: c.input, x: x, rows: c.rows, weight: w, bias: b)
        #expect(shape == network.outputShape)
        var dy = [Float](repeating: 0, count: expected.count)
        try random.fillUniform(&dy, in: -1..<1)
        let (y, dx, grads) = try network.forwardBackward(x, upstream: dy, training: true)
        expectClose(y, expected, atol: 1e-5, rtol: 1e-4, "\(c) \(path) forward")
        let (naiveDx, naiveDw) = Self.naiveBackward(c.conv, input: c.input, output: shape, x: x, dy: dy, rows: c.rows, weight: w)
        expectClose(dx, naiveDx, atol: 1e-4, rtol: 1e-4, "\(c) \(path) input gradient")
        expectClose(Array(grads[0..<wCount]), naiveDw, atol: 1e-4, rtol: 1e-4, "\(c) \(path) weight gradient")
        if let b {
            // Σ dy per output channel.
            let plane = shape.planeSize
            let naiveDb = (0..<c.conv.outputChannels).map { o in
                Float((0..<c.rows).reduce(0.0) { s, n in s + (0..<plane).reduce(0.0) { $0 + Double(dy[n * shape.count + o * plane + $1]) } })
            }
            expectClose(Array(grads[wCount..<(wCount + b.count)]), naiveDb, atol: 1e-4, rtol: 1e-4, "\(c) \(path) bias gradient")
        }
    }

    @Test func shiftedIm2colEqualsTheDefinition() {
        // Every offset of a 3×3 and a 4×2 kernel over a 5×6 plane with assorted paddings.
        let h = 5, w = 6
        let x = (0..<(2 * h * w)).map { Float($0 + 1) }
        for (kh, kw, top, left, outH) in [(3, 3, 1, 1, 5), (3, 3, 2, 0, 7), (4, 2, 0, 1, 2), (3, 3, 0, 2, 3)] {
            let rowStride = outH * w + 3
            var col = [Float](repeating: .nan, count: 2 * kh * kw * rowStride)
            col.withUnsafeMutableBufferPointer { c in
                x.withUnsafeBufferPointer { xs in
                    BoundConv2D.shiftedIm2col(xs.baseAddress!, channels: 2, height: h, width: w, kernelHeight: kh, kernelWidth: kw, // invariant: non-empty
                                              padTop: top, padLeft: left, outputHeight: outH, into: c.baseAddress!, rowStride: rowStride) // invariant: non-empty
                }
            }
            for ch in 0..<2 { for i in 0..<kh { for j in 0..<kw { for oy in 0..<outH { for ox in 0..<w {
                let iy = oy + i - top, ix = ox + j - left
                let want: Float = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[ch * h * w + iy * w + ix] : 0
                let got = col[((ch * kh + i) * kw + j) * rowStride + oy * w + ox]
                #expect(got == want, "kernel \(kh)×\(kw) pad (\(top), \(left)): channel \(ch) tap (\(i), \(j)) at (\(oy), \(ox))")
            } } } } }
        }
    }
}
