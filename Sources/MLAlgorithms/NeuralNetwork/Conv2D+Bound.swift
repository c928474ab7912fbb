/// ``Conv2D`` bound to an input shape: im2col + GEMM, or one GEMM per image for a plain 1×1
/// (stride 1, no padding, one group).
///
/// The column buffer holds `chunk` images side by side: row `r = (c·kh + i)·kw + j` of the
/// group's `K = C/groups·kh·kw` rows, column `n·P + p` for image `n` of the chunk and output
/// pixel `p` of `P = Ho·Wo`. One GEMM per group and chunk,
/// `Y[Cout/g × chunk·P] = W_g[Cout/g × K] · columns[K × chunk·P]`, then the rows are scattered
/// to NCHW. Backward reuses both buffers: `dY` is gathered into the matrix buffer,
/// `dW_g += dY · columnsᵀ`, then `columns ← W_gᵀ · dY` and col2im adds it into `dx`.
struct BoundConv2D: BoundLayer {
    let input: FeatureShape
    let output: FeatureShape
    let kernelHeight: Int, kernelWidth: Int, stride: Int
    let padTop: Int, padLeft: Int, dilation: Int, groups: Int
    /// Offsets in the parameter buffer; `bias` is -1 without a bias.
    let weight: Int, bias: Int
    let direct: Bool
    let chunk: Int
    /// Workspace offsets of the column and matrix buffers (-1 on the direct path).
    let columns: Int, matrix: Int

    var groupInputs: Int { input.channels / groups }
    var groupOutputs: Int { output.channels / groups }
    var rowsK: Int { groupInputs * kernelHeight * kernelWidth }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ context: PassContext) {
        let plane = output.planeSize, cout = output.channels
        let w = context.parameters + weight
        if direct {
            for n in 0..<context.rows {
                sgemm(m: cout, n: plane, k: input.channels, a: w, lda: input.channels,
                      b: x + n * input.count, ldb: plane, beta: 0, c: y + n * output.count, ldc: plane)
            }
        } else {
            let col = context.workspace + columns, mat = context.workspace + matrix
            var n0 = 0
            while n0 < context.rows {
                let count = min(chunk, context.rows - n0), width = count * plane
                for g in 0..<groups {
                    im2col(x, firstImage: n0, images: count, group: g, into: col)
                    sgemm(m: groupOutputs, n: width, k: rowsK, a: w + g * groupOutputs * rowsK, lda: rowsK,
                          b: col, ldb: width, beta: 0, c: mat, ldc: width)
                    for n in 0..<count {
                        for o in 0..<groupOutputs {
                            (y + (n0 + n) * output.count + (g * groupOutputs + o) * plane)
                                .update(from: mat + o * width + n * plane, count: plane)
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
        if bias >= 0 {
            let db = context.gradients + bias
            for n in 0..<context.rows {
                for o in 0..<cout { db[o] += sum(dy + n * output.count + o * plane, count: plane) }
            }
        }
        if direct {
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
        if let dx { dx.zero(context.rows * input.count) }
        let col = context.workspace + columns, mat = context.workspace + matrix
        var n0 = 0
        while n0 < context.rows {
            let count = min(chunk, context.rows - n0), width = count * plane
            for g in 0..<groups {
                for n in 0..<count {
                    for o in 0..<groupOutputs {
                        (mat + o * width + n * plane)
                            .update(from: dy + (n0 + n) * output.count + (g * groupOutputs + o) * plane, count: plane)
                    }
                }
                im2col(x, firstImage: n0, images: count, group: g, into: col)
                sgemm(transposeB: true, m: groupOutputs, n: rowsK, k: width, a: mat, lda: width, b: col, ldb: width,
                      beta: 1, c: dw + g * groupOutputs * rowsK, ldc: rowsK)
                if let dx {
                    sgemm(transposeA: true, m: rowsK, n: width, k: groupOutputs, a: w + g * groupOutputs * rowsK, lda: rowsK,
                          b: mat, ldb: width, beta: 0, c: col, ldc: width)
                    col2im(col, firstImage: n0, images: count, group: g, into: dx)
                }
            }
            n0 += count
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
