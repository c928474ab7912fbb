import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// The direct convolution kernels (C target `CKernels`, through ``DirectConvolution``) against
/// a naive loop in Double, for every instruction set this machine runs: forward (with and
/// without bias), input gradient, weight gradient and bias gradient over random geometries —
/// odd and even widths, planes from 1×1 to 33×33, strides 1–3, every padding from 0 to k − 1
/// (asymmetric too), kernels 1×1 to 5×5 and rectangular, channel counts that are not multiples
/// of any vector width. The scratch starts as NaN and the outputs as garbage, so a kernel that
/// reads what it did not write, or leaves an output unwritten, fails.
@Suite struct DirectConvolutionTests {
    struct Geometry: CustomStringConvertible {
        var images, channels, height, width, outputs, kernelHeight, kernelWidth, stride: Int
        var top, left, bottom, right: Int
        var outputHeight: Int { (height + top + bottom - kernelHeight) / stride + 1 }
        var outputWidth: Int { (width + left + right - kernelWidth) / stride + 1 }
        var description: String {
            "\(images)×\(channels)×\(height)×\(width) → \(outputs), \(kernelHeight)×\(kernelWidth) s\(stride) pad (\(top), \(left), \(bottom), \(right))"
        }
        func kernel(_ isa: KernelInstructionSet) -> DirectConvolution? {
            DirectConvolution(isa: isa, input: FeatureShape(channels: channels, height: height, width: width), outputChannels: outputs,
                              kernelHeight: kernelHeight, kernelWidth: kernelWidth, stride: stride, padding: (top, left, bottom, right))
        }
    }

    /// Random geometries the kernels support (seeded), with ResNet-20's own shapes first.
    static func geometries(count: Int, seed: UInt64) -> [Geometry] {
        var list = [
            Geometry(images: 2, channels: 3, height: 32, width: 32, outputs: 16, kernelHeight: 3, kernelWidth: 3, stride: 1, top: 1, left: 1, bottom: 1, right: 1),
            Geometry(images: 2, channels: 16, height: 32, width: 32, outputs: 16, kernelHeight: 3, kernelWidth: 3, stride: 1, top: 1, left: 1, bottom: 1, right: 1),
            Geometry(images: 2, channels: 16, height: 32, width: 32, outputs: 32, kernelHeight: 3, kernelWidth: 3, stride: 2, top: 1, left: 1, bottom: 1, right: 1),
            Geometry(images: 2, channels: 16, height: 32, width: 32, outputs: 32, kernelHeight: 1, kernelWidth: 1, stride: 2, top: 0, left: 0, bottom: 0, right: 0),
            Geometry(images: 1, channels: 64, height: 8, width: 8, outputs: 64, kernelHeight: 3, kernelWidth: 3, stride: 1, top: 1, left: 1, bottom: 1, right: 1),
            // The small CNN's valid convolutions, a 1×1 plane, a 1-wide and a 1-high plane.
            Geometry(images: 3, channels: 32, height: 13, width: 13, outputs: 64, kernelHeight: 3, kernelWidth: 3, stride: 1, top: 0, left: 0, bottom: 0, right: 0),
            Geometry(images: 2, channels: 5, height: 1, width: 1, outputs: 7, kernelHeight: 3, kernelWidth: 3, stride: 1, top: 1, left: 1, bottom: 1, right: 1),
            Geometry(images: 2, channels: 3, height: 9, width: 1, outputs: 5, kernelHeight: 3, kernelWidth: 3, stride: 2, top: 1, left: 1, bottom: 1, right: 1),
            Geometry(images: 1, channels: 3, height: 1, width: 17, outputs: 33, kernelHeight: 1, kernelWidth: 3, stride: 1, top: 0, left: 2, bottom: 0, right: 0),
        ]
        var random = RandomStream(seed: seed, path: [0xD1C0])
        while list.count < count {
            let kh = [1, 2, 3, 3, 3, 5][random.integer(in: 0...5)]
            let kw = random.integer(in: 0...3) == 0 ? random.integer(in: 1...4) : kh
            let symmetric = random.integer(in: 0...1) == 0
            let top = random.integer(in: 0...(kh - 1)), left = random.integer(in: 0...(kw - 1))
            let g = Geometry(images: random.integer(in: 1...3), channels: random.integer(in: 1...19),
                             height: random.integer(in: 1...33), width: random.integer(in: 1...33), outputs: random.integer(in: 1...37),
                             kernelHeight: kh, kernelWidth: kw, stride: random.integer(in: 1...3), top: top, left: left,
                             bottom: symmetric ? top : random.integer(in: 0...(kh - 1)),
                             right: symmetric ? left : random.integer(in: 0...(kw - 1)))
            if g.height + g.top + g.bottom >= kh, g.width + g.left + g.right >= kw { list.append(g) }
        }
        return list
    }

    /// The result in Double and, per element, the sum of its terms' magnitudes (the scale its
    /// rounding error is proportional to).
    struct Oracle {
        var y: [Double], yScale: [Double], dx: [Double], dxScale: [Double], dw: [Double], dwScale: [Double]
        var db: [Double], dbScale: [Double]
    }

    static func oracle(_ g: Geometry, x: [Float], w: [Float], b: [Float], dy: [Float]) -> Oracle {
        let ho = g.outputHeight, wo = g.outputWidth, plane = g.height * g.width, oPlane = ho * wo
        var o = Oracle(y: [Double](repeating: 0, count: dy.count), yScale: [Double](repeating: 0, count: dy.count),
                       dx: [Double](repeating: 0, count: x.count), dxScale: [Double](repeating: 0, count: x.count),
                       dw: [Double](repeating: 0, count: w.count), dwScale: [Double](repeating: 0, count: w.count),
                       db: [Double](repeating: 0, count: g.outputs), dbScale: [Double](repeating: 0, count: g.outputs))
        for n in 0..<g.images { for oc in 0..<g.outputs { for oy in 0..<ho { for ox in 0..<wo {
            let yi = (n * g.outputs + oc) * oPlane + oy * wo + ox
            let up = Double(dy[yi])
            var s = Double(b[oc]), scale = abs(Double(b[oc]))
            o.db[oc] += up
            o.dbScale[oc] += abs(up)
            for c in 0..<g.channels { for i in 0..<g.kernelHeight { for j in 0..<g.kernelWidth {
                let iy = oy * g.stride - g.top + i, ix = ox * g.stride - g.left + j
                guard iy >= 0, iy < g.height, ix >= 0, ix < g.width else { continue }
                let xi = (n * g.channels + c) * plane + iy * g.width + ix
                let wi = ((oc * g.channels + c) * g.kernelHeight + i) * g.kernelWidth + j
                let xv = Double(x[xi]), wv = Double(w[wi])
                s += xv * wv
                scale += abs(xv * wv)
                o.dx[xi] += up * wv
                o.dxScale[xi] += abs(up * wv)
                o.dw[wi] += up * xv
                o.dwScale[wi] += abs(up * xv)
            } } }
            o.y[yi] = s
            o.yScale[yi] = scale
        } } } }
        return o
    }

    /// `|got − want| ≤ 1e−5·Σ|terms| + 1e−6` everywhere (float32 rounding of a sum grows with
    /// the sum of its terms' magnitudes, not with the result); reports the worst element.
    static func expectMatches(_ got: [Float], _ want: [Double], scale: [Double], _ what: String,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        guard got.count == want.count else {
            Issue.record("\(what): \(got.count) values, expected \(want.count)", sourceLocation: sourceLocation)
            return
        }
        var worst = -1, worstExcess = 0.0
        for i in got.indices {
            let excess = abs(Double(got[i]) - want[i]) - (1e-5 * scale[i] + 1e-6)
            if !(excess <= 0), worst < 0 || !(excess <= worstExcess) { worst = i; worstExcess = excess }
        }
        if worst >= 0 {
            Issue.record("\(what): element \(worst) is \(got[worst]), expected \(want[worst]) (scale \(scale[worst]))",
                         sourceLocation: sourceLocation)
        }
    }

    struct Outputs: Equatable {
        var y: [Float], yNoBias: [Float], dx: [Float], dw: [Float], db: [Float]
    }

    /// Runs the three kernels once on NaN-filled scratch and garbage-filled outputs.
    static func run(_ kernel: DirectConvolution, _ g: Geometry, x: [Float], w: [Float], b: [Float], dy: [Float]) -> Outputs {
        var scratch = [Float](repeating: .nan, count: kernel.scratchCount + 1)
        var out = Outputs(y: [Float](repeating: 7e30, count: dy.count), yNoBias: [Float](repeating: -.infinity, count: dy.count),
                          dx: [Float](repeating: .nan, count: x.count), dw: [Float](repeating: 0, count: w.count),
                          db: [Float](repeating: 0, count: g.outputs))
        x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in b.withUnsafeBufferPointer { bp in dy.withUnsafeBufferPointer { dyp in
            scratch.withUnsafeMutableBufferPointer { s in
                // invariant: every buffer holds at least one value (geometries have positive sizes)
                let sp = s.baseAddress!, xb = xp.baseAddress!, wb = wp.baseAddress!, dyb = dyp.baseAddress! // invariant: see above
                out.y.withUnsafeMutableBufferPointer { kernel.forward(images: g.images, xb, weight: wb, bias: bp.baseAddress, into: $0.baseAddress!, scratch: sp) } // invariant: see above
                s.update(repeating: .nan)
                out.yNoBias.withUnsafeMutableBufferPointer { kernel.forward(images: g.images, xb, weight: wb, bias: nil, into: $0.baseAddress!, scratch: sp) } // invariant: see above
                s.update(repeating: .nan)
                out.dx.withUnsafeMutableBufferPointer { kernel.inputGradient(images: g.images, dyb, weight: wb, into: $0.baseAddress!, scratch: sp) } // invariant: see above
                s.update(repeating: .nan)
                out.dw.withUnsafeMutableBufferPointer { dwp in
                    out.db.withUnsafeMutableBufferPointer { dbp in
                        kernel.addParameterGradients(images: g.images, xb, dyb, weightGradient: dwp.baseAddress!, // invariant: see above
                                                     biasGradient: dbp.baseAddress!, scratch: sp) // invariant: see above
                    }
                }
            }
        } } } }
        return out
    }

    static func inputs(_ g: Geometry, seed: UInt64) throws -> (x: [Float], w: [Float], b: [Float], dy: [Float]) {
        var random = RandomStream(seed: seed, path: [0xD1C1])
        var x = [Float](repeating: 0, count: g.images * g.channels * g.height * g.width)
        var w = [Float](repeating: 0, count: g.outputs * g.channels * g.kernelHeight * g.kernelWidth)
        var b = [Float](repeating: 0, count: g.outputs)
        var dy = [Float](repeating: 0, count: g.images * g.outputs * g.outputHeight * g.outputWidth)
        try random.fillUniform(&x, in: -1..<1)
        try random.fillUniform(&w, in: -1..<1)
        try random.fillUniform(&b, in: -1..<1)
        try random.fillUniform(&dy, in: -1..<1)
        return (x, w, b, dy)
    }

    @Test("forward, input, weight and bias gradients equal the naive loop", arguments: KernelInstructionSet.supported)
    func kernelsEqualNaiveLoop(_ isa: KernelInstructionSet) throws {
        for (index, g) in Self.geometries(count: 160, seed: UInt64(isa.rawValue)).enumerated() {
            let kernel = try #require(g.kernel(isa), "\(g) is supported")
            let (x, w, b, dy) = try Self.inputs(g, seed: UInt64(index))
            let out = Self.run(kernel, g, x: x, w: w, b: b, dy: dy)
            let o = Self.oracle(g, x: x, w: w, b: b, dy: dy)
            Self.expectMatches(out.y, o.y, scale: o.yScale, "\(isa) \(g) forward")
            let unbiased = zip(o.y, out.yNoBias.indices).map { $0.0 - Double(b[($0.1 / (g.outputHeight * g.outputWidth)) % g.outputs]) }
            Self.expectMatches(out.yNoBias, unbiased, scale: o.yScale, "\(isa) \(g) forward without bias")
            Self.expectMatches(out.dx, o.dx, scale: o.dxScale, "\(isa) \(g) input gradient")
            Self.expectMatches(out.dw, o.dw, scale: o.dwScale, "\(isa) \(g) weight gradient")
            Self.expectMatches(out.db, o.db, scale: o.dbScale, "\(isa) \(g) bias gradient")
        }
    }

    @Test("images are independent: a batch gives the bits of one image at a time", arguments: KernelInstructionSet.supported)
    func batchEqualsImageByImage(_ isa: KernelInstructionSet) throws {
        for (index, g) in Self.geometries(count: 16, seed: 77).enumerated() where g.images > 1 {
            let kernel = try #require(g.kernel(isa))
            let (x, w, b, dy) = try Self.inputs(g, seed: UInt64(index))
            let all = Self.run(kernel, g, x: x, w: w, b: b, dy: dy)
            var one = g
            one.images = 1
            let xn = x.count / g.images, yn = dy.count / g.images
            for n in 0..<g.images {
                let part = Self.run(kernel, one, x: Array(x[(n * xn)..<((n + 1) * xn)]), w: w, b: b, dy: Array(dy[(n * yn)..<((n + 1) * yn)]))
                #expect(Array(all.y[(n * yn)..<((n + 1) * yn)]) == part.y, "\(isa) \(g) image \(n) forward")
                #expect(Array(all.dx[(n * xn)..<((n + 1) * xn)]) == part.dx, "\(isa) \(g) image \(n) input gradient")
            }
        }
    }

    @Test("AVX2 and AVX-512 compute the same bits (same per-lane order, both fused)")
    func wideInstructionSetsAgree() throws {
        guard KernelInstructionSet.avx2.isSupported, KernelInstructionSet.avx512.isSupported else { return }
        for (index, g) in Self.geometries(count: 40, seed: 5).enumerated() {
            let (x, w, b, dy) = try Self.inputs(g, seed: UInt64(index))
            let a = Self.run(try #require(g.kernel(.avx2)), g, x: x, w: w, b: b, dy: dy)
            let c = Self.run(try #require(g.kernel(.avx512)), g, x: x, w: w, b: b, dy: dy)
            #expect(a == c, "\(g)")
        }
    }

    @Test func unsupportedGeometriesAreRefused() {
        let input = FeatureShape(channels: 2, height: 5, width: 5)
        // Padding reaching the kernel size, and a kernel larger than the padded input.
        #expect(DirectConvolution(isa: .portable, input: input, outputChannels: 2, kernelHeight: 3, kernelWidth: 3, stride: 1,
                                  padding: (3, 0, 0, 0)) == nil)
        #expect(DirectConvolution(isa: .portable, input: input, outputChannels: 2, kernelHeight: 7, kernelWidth: 3, stride: 1,
                                  padding: (0, 0, 0, 0)) == nil)
        #expect(DirectConvolution(isa: .portable, input: input, outputChannels: 2, kernelHeight: 3, kernelWidth: 3, stride: 1,
                                  padding: (2, 2, 2, 2)) != nil)
        // Dilation and groups stay on im2col + GEMM.
        let dilated = Conv2D(inputChannels: 2, outputChannels: 2, kernelSize: 3, dilation: 2)
        #expect(ConvolutionStrategy.$override.withValue(.direct) { dilated.directKernel(input: input, padding: (0, 0, 0, 0)) } == nil)
        let grouped = Conv2D(inputChannels: 2, outputChannels: 2, kernelSize: 3, groups: 2)
        #expect(ConvolutionStrategy.$override.withValue(.direct) { grouped.directKernel(input: input, padding: (0, 0, 0, 0)) } == nil)
    }
}
