/// ``Conv2D`` bound to an input shape: the direct kernels (``kernel``), im2col + GEMM, or one
/// GEMM per image for a plain 1×1 (stride 1, no padding, one group).
///
/// **Direct** (``kernel`` set): forward, input gradient and weight (and bias) gradient are one C
/// call each over the micro-shard (`CKernels`, docs/neural-networks.md "Direct convolution"),
/// with their buffers in the network's shared scratch; nothing below applies.
///
/// The column buffer holds `chunk` images side by side: row `r = (c·kh + i)·kw + j` of the
/// group's `K = C/groups·kh·kw` rows, column `n·P + p` for image `n` of the chunk and output
/// pixel `p` of `P = Ho·Wo`. One GEMM per group and chunk,
/// `Y[Cout/g × chunk·P] = W_g[Cout/g × K] · columns[K × chunk·P]`; with a chunk of one image the
/// GEMM writes straight into the NCHW output, otherwise the rows are scattered to it. Backward:
/// `dW_g += dY · columnsᵀ` (`dY` read in place for one image, gathered for several).
///
/// Input gradient, two ways:
/// - **transposed** (stride 1, no dilation, one group, output as wide as the input, padding
///   below the kernel — every 3×3 "same" convolution): `dx` is the correlation of `dY` with the
///   flipped, transposed kernel `W'[c, (o, i', j')] = W[o, c, kh−1−i', kw−1−j']` and paddings
///   `k − 1 − pad`: an im2col of `dY` (`Cout·kh·kw` rows) and one GEMM with `Cin` rows straight
///   into `dx`. Its GEMM has `K = Cout·kh·kw` instead of `Cout`, and nothing is scattered back.
/// - otherwise `columns ← W_gᵀ · dY` and col2im adds that into `dx`.
///
/// With stride 1, no dilation and the output as wide as the input (``shifted``), each im2col row
/// is the input plane shifted by one constant offset: one block copy per row and kernel tap,
/// then the padding bands zeroed.
struct BoundConv2D: BoundLayer {
    let input: FeatureShape
    let output: FeatureShape
    let kernelHeight: Int, kernelWidth: Int, stride: Int
    let padTop: Int, padLeft: Int, dilation: Int, groups: Int
    /// Offsets in the parameter buffer; `bias` is -1 without a bias.
    let weight: Int, bias: Int
    /// The direct kernels' geometry, when they run this layer.
    let kernel: DirectConvolution?
    /// A plain 1×1: one GEMM per image.
    let pointwise: Bool
    let chunk: Int
    /// Workspace offsets of the column and matrix buffers (-1 on the direct and pointwise paths;
    /// `matrix` -1 with one image per chunk).
    let columns: Int, matrix: Int
    let shifted: Bool
    let transposed: Bool
    /// Images per GEMM of the transposed input gradient, and its workspace: dY's columns, the
    /// gathered output (-1 with one image per chunk), the flipped kernel.
    let chunkT: Int
    let columnsT: Int, matrixT: Int, flipped: Int

    var groupInputs: Int { input.channels / groups }
    var groupOutputs: Int { output.channels / groups }
    var rowsK: Int { groupInputs * kernelHeight * kernelWidth }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ context: PassContext) {
        let plane = output.planeSize, cout = output.channels
        let w = context.parameters + weight
        if let kernel {
            kernel.forward(images: context.rows, x, weight: w, bias: bias >= 0 ? context.parameters + bias : nil, into: y,
                           scratch: context.scratch)
            return
        }
        if pointwise {
            for n in 0..<context.rows {
                sgemm(m: cout, n: plane, k: input.channels, a: w, lda: input.channels,
                      b: x + n * input.count, ldb: plane, beta: 0, c: y + n * output.count, ldc: plane)
            }
        } else {
            let col = context.workspace + columns
            var n0 = 0
            while n0 < context.rows {
                let count = min(chunk, context.rows - n0), width = count * plane
                for g in 0..<groups {
                    im2col(x, firstImage: n0, images: count, group: g, into: col)
                    if count == 1 {
                        sgemm(m: groupOutputs, n: width, k: rowsK, a: w + g * groupOutputs * rowsK, lda: rowsK,
                              b: col, ldb: width, beta: 0, c: y + n0 * output.count + g * groupOutputs * plane, ldc: plane)
                        continue
                    }
                    let mat = context.workspace + matrix
                    sgemm(m: groupOutputs, n: width, k: rowsK, a: w + g * groupOutputs * rowsK, lda: rowsK,
                          b: col, ldb: width, beta: 0, c: mat, ldc: width)
                    for n in 0..<count {
                        for o in 0..<groupOutputs {
                            copy(mat + o * width + n * plane, into: y + (n0 + n) * output.count + (g * groupOutputs + o) * plane, count: plane)
                        }
                    }
                }
                n0 += count
            }
        }
        if bias >= 0 {
            let b = context.parameters + bias
            for n in 0..<context.rows {
                for o in 0..<cout { add(b[o], into: y + n * output.count + o * plane, count: plane) }
            }
        }
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, _ context: PassContext) {
        let plane = output.planeSize, cout = output.channels
        let w = context.parameters + weight, dw = context.gradients + weight
        if let kernel {
            kernel.addParameterGradients(images: context.rows, x, dy, weightGradient: dw,
                                         biasGradient: bias >= 0 ? context.gradients + bias : nil, scratch: context.scratch)
            if let dx { kernel.inputGradient(images: context.rows, dy, weight: w, into: dx, scratch: context.scratch) }
            return
        }
        if bias >= 0 {
            let db = context.gradients + bias
            for n in 0..<context.rows {
                for o in 0..<cout { db[o] += sum(dy + n * output.count + o * plane, count: plane) }
            }
        }
        if pointwise {
            for n in 0..<context.rows {
                let dyn = dy + n * output.count
                sgemm(transposeB: true, m: cout, n: input.channels, k: plane, a: dyn, lda: plane,
                      b: x + n * input.count, ldb: plane, beta: 1, c: dw, ldc: input.channels)
                if let dx {
                    sgemm(transposeA: true, m: input.channels, n: plane, k: cout, a: w, lda: input.channels,
                          b: dyn, ldb: plane, beta: 0, c: dx + n * input.count, ldc: plane)
                }
            }
            return
        }
        let viaColumns = dx != nil && !transposed
        if let dx, viaColumns { dx.zero(context.rows * input.count) }
        let col = context.workspace + columns
        var n0 = 0
        while n0 < context.rows {
            let count = min(chunk, context.rows - n0), width = count * plane
            for g in 0..<groups {
                // dY of the chunk as a [Cout/g × count·P] matrix: in place for one image.
                let dyg: UnsafeMutablePointer<Float>, ld: Int
                if count == 1 {
                    dyg = dy + n0 * output.count + g * groupOutputs * plane
                    ld = plane
                } else {
                    dyg = context.workspace + matrix
                    ld = width
                    for n in 0..<count {
                        for o in 0..<groupOutputs {
                            copy(dy + (n0 + n) * output.count + (g * groupOutputs + o) * plane, into: dyg + o * width + n * plane, count: plane)
                        }
                    }
                }
                im2col(x, firstImage: n0, images: count, group: g, into: col)
                sgemm(transposeB: true, m: groupOutputs, n: rowsK, k: width, a: dyg, lda: ld, b: col, ldb: width,
                      beta: 1, c: dw + g * groupOutputs * rowsK, ldc: rowsK)
                if let dx, viaColumns {
                    sgemm(transposeA: true, m: rowsK, n: width, k: groupOutputs, a: w + g * groupOutputs * rowsK, lda: rowsK,
                          b: dyg, ldb: ld, beta: 0, c: col, ldc: width)
                    col2im(col, firstImage: n0, images: count, group: g, into: dx)
                }
            }
            n0 += count
        }
        if let dx, transposed { transposedInputGradient(dy, into: dx, context) }
    }

    /// `dx` = dY correlated with the flipped, transposed kernel, per chunk of ``chunkT`` images:
    /// `dx[Cin × count·HW] = W'[Cin × Cout·kh·kw] · im2col(dY)`.
    func transposedInputGradient(_ dy: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>, _ context: PassContext) {
        let cin = input.channels, cout = output.channels, taps = kernelHeight * kernelWidth, kT = cout * taps
        let w = context.parameters + weight, wT = context.workspace + flipped
        for c in 0..<cin {
            for o in 0..<cout {
                for t in 0..<taps { wT[c * kT + o * taps + t] = w[(o * cin + c) * taps + (taps - 1 - t)] }
            }
        }
        let inPlane = input.planeSize, col = context.workspace + columnsT
        // The correlation's paddings: kernel − 1 − the forward's, on every side.
        let top = kernelHeight - 1 - padTop, left = kernelWidth - 1 - padLeft
        var n0 = 0
        while n0 < context.rows {
            let count = min(chunkT, context.rows - n0), width = count * inPlane
            for n in 0..<count {
                Self.shiftedIm2col(dy + (n0 + n) * output.count, channels: cout, height: output.height, width: output.width,
                                   kernelHeight: kernelHeight, kernelWidth: kernelWidth, padTop: top, padLeft: left,
                                   outputHeight: input.height, into: col + n * inPlane, rowStride: width)
            }
            if count == 1 {
                sgemm(m: cin, n: width, k: kT, a: UnsafePointer(wT), lda: kT, b: col, ldb: width, beta: 0, c: dx + n0 * input.count, ldc: inPlane)
            } else {
                let mat = context.workspace + matrixT
                sgemm(m: cin, n: width, k: kT, a: UnsafePointer(wT), lda: kT, b: col, ldb: width, beta: 0, c: mat, ldc: width)
                for n in 0..<count {
                    for c in 0..<cin { copy(mat + c * width + n * inPlane, into: dx + (n0 + n) * input.count + c * inPlane, count: inPlane) }
                }
            }
            n0 += count
        }
    }

    /// im2col for stride 1, no dilation and an output as wide as the input (`width`): row
    /// `(c·kh + i)·kw + j` of image column block `col` (rows `rowStride` apart) is channel `c`
    /// shifted by `(i − padTop)·width + (j − padLeft)`, with the rows and columns that fall in
    /// the padding set to zero. One block copy per row, then the bands.
    static func shiftedIm2col(_ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int, kernelHeight: Int, kernelWidth: Int,
                              padTop: Int, padLeft: Int, outputHeight: Int, into col: UnsafeMutablePointer<Float>, rowStride: Int) {
        let inPlane = height * width, outPlane = outputHeight * width
        for c in 0..<channels {
            let src = x + c * inPlane
            for i in 0..<kernelHeight {
                // Output rows whose input row oy + i − padTop lies inside the plane.
                let top = max(0, padTop - i), bottom = max(top, min(outputHeight, height + padTop - i))
                for j in 0..<kernelWidth {
                    let dst = col + ((c * kernelHeight + i) * kernelWidth + j) * rowStride
                    let shift = (i - padTop) * width + (j - padLeft)
                    // Copy the valid rows' span, clipped to the source plane; the clipped ends
                    // fall in the column bands zeroed below.
                    let lo = max(top * width, -shift), hi = min(bottom * width, inPlane - shift)
                    if hi > lo { copy(src + (lo + shift), into: dst + lo, count: hi - lo) }
                    dst.zero(top * width)
                    (dst + bottom * width).zero(outPlane - bottom * width)
                    // Columns whose input column ox + j − padLeft is outside 0..<width.
                    let left = min(width, max(0, padLeft - j)), right = min(width, max(0, j - padLeft))
                    if left > 0 || right > 0 {
                        for oy in top..<bottom {
                            let row = dst + oy * width
                            for ox in 0..<left { row[ox] = 0 }
                            for ox in (width - right)..<width { row[ox] = 0 }
                        }
                    }
                }
            }
        }
    }

    /// The output columns `ox` whose input column `ox·stride − padLeft + offset` lies in `0..<W`.
    @inline(__always)
    func validColumns(offset: Int) -> Range<Int> {
        let shift = padLeft - offset                    // ix = ox·stride − shift
        let lo = shift <= 0 ? 0 : (shift + stride - 1) / stride
        let hiRaw = input.width - 1 + shift            // ox·stride ≤ W − 1 + shift
        let hi = hiRaw < 0 ? 0 : min(output.width, hiRaw / stride + 1)
        return lo..<max(lo, hi)
    }

    /// Writes the group's K × (images·P) column block of images `firstImage…`.
    func im2col(_ x: UnsafePointer<Float>, firstImage: Int, images: Int, group: Int, into col: UnsafeMutablePointer<Float>) {
        let plane = output.planeSize, width = images * plane, h = input.height, wIn = input.width, wo = output.width
        if shifted {
            for n in 0..<images {
                Self.shiftedIm2col(x + (firstImage + n) * input.count + group * groupInputs * input.planeSize, channels: groupInputs,
                                   height: h, width: wIn, kernelHeight: kernelHeight, kernelWidth: kernelWidth, padTop: padTop,
                                   padLeft: padLeft, outputHeight: output.height, into: col + n * plane, rowStride: width)
            }
            return
        }
        for c in 0..<groupInputs {
            for i in 0..<kernelHeight {
                for j in 0..<kernelWidth {
                    let row = col + ((c * kernelHeight + i) * kernelWidth + j) * width
                    let cols = validColumns(offset: j * dilation)
                    for n in 0..<images {
                        let src = x + (firstImage + n) * input.count + (group * groupInputs + c) * input.planeSize
                        let dst = row + n * plane
                        for oy in 0..<output.height {
                            let iy = oy * stride - padTop + i * dilation
                            let out = dst + oy * wo
                            guard iy >= 0, iy < h, !cols.isEmpty else { out.zero(wo); continue }
                            if cols.lowerBound > 0 { out.zero(cols.lowerBound) }
                            if cols.upperBound < wo { (out + cols.upperBound).zero(wo - cols.upperBound) }
                            // Index arithmetic, not pointer arithmetic: `base` may be negative.
                            let base = iy * wIn - padLeft + j * dilation
                            if stride == 1 {
                                (out + cols.lowerBound).update(from: src + (base + cols.lowerBound), count: cols.count)
                            } else {
                                for ox in cols { out[ox] = src[base + ox * stride] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Adds the column block back into the images it came from (the adjoint of ``im2col``).
    func col2im(_ col: UnsafePointer<Float>, firstImage: Int, images: Int, group: Int, into dx: UnsafeMutablePointer<Float>) {
        let plane = output.planeSize, width = images * plane, h = input.height, wIn = input.width, wo = output.width
        for c in 0..<groupInputs {
            for i in 0..<kernelHeight {
                for j in 0..<kernelWidth {
                    let row = col + ((c * kernelHeight + i) * kernelWidth + j) * width
                    let cols = validColumns(offset: j * dilation)
                    if cols.isEmpty { continue }
                    for n in 0..<images {
                        let dst = dx + (firstImage + n) * input.count + (group * groupInputs + c) * input.planeSize
                        let src = row + n * plane
                        for oy in 0..<output.height {
                            let iy = oy * stride - padTop + i * dilation
                            guard iy >= 0, iy < h else { continue }
                            let base = iy * wIn - padLeft + j * dilation
                            let from = src + oy * wo
                            if stride == 1 {
                                add(from + cols.lowerBound, into: dst + (base + cols.lowerBound), count: cols.count)
                            } else {
                                for ox in cols { dst[base + ox * stride] += from[ox] }
                            }
                        }
                    }
                }
            }
        }
    }
}
