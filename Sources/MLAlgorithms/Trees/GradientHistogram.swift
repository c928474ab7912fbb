import CIntrinsics
import MLCore

/// One output's gradient pairs as exact 64-bit fixed-point numbers.
///
/// Histograms add these as integers, so a sum is exact and the same in any order: the result
/// does not depend on the thread count, on how rows are split among workers, or on whether a
/// histogram was built or obtained by subtracting a sibling from its parent. The scale is a power
/// of two chosen from the largest |g| (and h) and the row count so that no sum can overflow
/// (`rows · max|g| · 2^e < 2^62`); its resolution is far below Float's.
public struct QuantizedGradients: Sendable {
    /// Row `i`'s gradient and hessian at `pairs[2i]`, `pairs[2i + 1]`.
    public var pairs: [Int64]
    /// A quantity `q` means `q · 2^-exponent`.
    public let gradientExponent: Int
    public let hessianExponent: Int
    /// 2^-exponent: what one unit of each quantity is worth.
    let gradientUnit: Double
    let hessianUnit: Double

    /// The exponent that lets `rows` values of magnitude up to `largest` sum without overflow.
    public static func exponent(largest: Double, rows: Int) -> Int {
        let total = largest * Double(max(1, rows))
        guard total > 0, total.isFinite else { return 0 }
        return min(1000, 61 - Int(total.exponent))
    }

    /// Quantizes `gradients[i·stride]`, `hessians[i·stride]` for `rows` rows with the given
    /// exponents (computed from the global maxima, the same on every worker).
    init(gradients: UnsafePointer<Float>, hessians: UnsafePointer<Float>, stride: Int, rows: Int,
         gradientExponent: Int, hessianExponent: Int, threads: Int) {
        self.gradientExponent = gradientExponent
        self.hessianExponent = hessianExponent
        gradientUnit = Double(sign: .plus, exponent: -gradientExponent, significand: 1)
        hessianUnit = Double(sign: .plus, exponent: -hessianExponent, significand: 1)
        var pairs = [Int64](repeating: 0, count: 2 * rows)
        let gs = Double(sign: .plus, exponent: gradientExponent, significand: 1)
        let hs = Double(sign: .plus, exponent: hessianExponent, significand: 1)
        let g = SharedPointer(gradients), h = SharedPointer(hessians)
        pairs.withUnsafeMutableBufferPointer { out in
            let o = SharedMutablePointer(out.baseAddress!) // invariant: rows > 0 (the trainer refuses empty data)
            let block = 65_536
            parallelFor(blocks: (rows + block - 1) / block, threads: threads) { b in
                for i in (b * block)..<min(rows, (b + 1) * block) {
                    // Truncation: a Float times a power of two is exact, and only parts below one
                    // unit (2^-exponent, far below Float's resolution of these values) are dropped.
                    o.base[2 * i] = Int64(Double(g.base[i * stride]) * gs)
                    o.base[2 * i + 1] = Int64(Double(h.base[i * stride]) * hs)
                }
            }
        }
        self.pairs = pairs
    }

    @inline(__always) public func gradient(_ q: Int64) -> Double { Double(q) * gradientUnit }
    @inline(__always) public func hessian(_ q: Int64) -> Double { Double(q) * hessianUnit }
}

/// The histogram kernels: gradient pairs summed per (feature, bin) over a list of rows.
///
/// A histogram is `2 · histogramBins` Int64s, (gradient, hessian) per bin, feature `f`'s bins
/// starting at `histogramOffsets[f]`.
enum HistogramKernel {
    /// Rows ahead whose bins and gradient pair are prefetched: a node's rows are ascending but
    /// scattered below the root, so each is a cache miss the CPU can start early.
    static let prefetchDistance = 10

    /// Adds rows `rows[0..<count]` of the row-major `bins` into `histogram`.
    @inline(__always)
    static func accumulate<B: FixedWidthInteger & UnsignedInteger>(
        bins: UnsafePointer<B>, features d: Int, rows: UnsafePointer<UInt32>, count: Int,
        pairs: UnsafePointer<Int64>, offsets: UnsafePointer<Int32>, histogram: UnsafeMutablePointer<Int64>
    ) {
        let contiguous = count > 0 && Int(rows[count - 1]) - Int(rows[0]) == count - 1
        for k in 0..<count {
            let row = Int(rows[k])
            if !contiguous && k + prefetchDistance < count {
                let ahead = Int(rows[k + prefetchDistance])
                mlcore_prefetch(bins + ahead * d)
                mlcore_prefetch(pairs + 2 * ahead)
            }
            add(row: row, bins: bins, features: d, pairs: pairs, offsets: offsets, histogram: histogram)
        }
    }

    @inline(__always)
    static func add<B: FixedWidthInteger & UnsignedInteger>(
        row: Int, bins: UnsafePointer<B>, features d: Int, pairs: UnsafePointer<Int64>, offsets: UnsafePointer<Int32>,
        histogram: UnsafeMutablePointer<Int64>
    ) {
        let g = pairs[2 * row], h = pairs[2 * row + 1]
        let binRow = bins + row * d
        var f = 0
        // Four features per step: independent read-modify-writes the CPU can overlap.
        while f + 4 <= d {
            let i0 = 2 * (Int(offsets[f]) + Int(binRow[f]))
            let i1 = 2 * (Int(offsets[f + 1]) + Int(binRow[f + 1]))
            let i2 = 2 * (Int(offsets[f + 2]) + Int(binRow[f + 2]))
            let i3 = 2 * (Int(offsets[f + 3]) + Int(binRow[f + 3]))
            histogram[i0] &+= g; histogram[i0 + 1] &+= h
            histogram[i1] &+= g; histogram[i1 + 1] &+= h
            histogram[i2] &+= g; histogram[i2 + 1] &+= h
            histogram[i3] &+= g; histogram[i3 + 1] &+= h
            f += 4
        }
        while f < d {
            let i = 2 * (Int(offsets[f]) + Int(binRow[f]))
            histogram[i] &+= g; histogram[i + 1] &+= h
            f += 1
        }
    }

    /// The naive oracle: every row, every feature, through `BinnedMatrix.bin(row:feature:)`.
    static func naive(_ matrix: BinnedMatrix, rows: [Int], pairs: [Int64]) -> [Int64] {
        var histogram = [Int64](repeating: 0, count: 2 * matrix.histogramBins)
        for row in rows {
            for f in 0..<matrix.features {
                let i = 2 * (Int(matrix.histogramOffsets[f]) + matrix.bin(row: row, feature: f))
                histogram[i] += pairs[2 * row]
                histogram[i + 1] += pairs[2 * row + 1]
            }
        }
        return histogram
    }
}

extension BinnedMatrix {
    /// Runs `body` with the row-major bins of whichever width this matrix stores.
    @inline(__always)
    func withRowMajor<R>(_ narrow: (UnsafePointer<UInt8>) -> R, _ wide: (UnsafePointer<UInt16>) -> R) -> R {
        switch storage {
        case .narrow(let rm, _): rm.withUnsafeBufferPointer { narrow($0.baseAddress!) } // invariant: binned matrices are non-empty
        case .wide(let rm, _): rm.withUnsafeBufferPointer { wide($0.baseAddress!) } // invariant: binned matrices are non-empty
        }
    }

    /// Adds the given rows' pairs into `histogram` (2 · histogramBins Int64s).
    func accumulate(rows: UnsafePointer<UInt32>, count: Int, pairs: UnsafePointer<Int64>, into histogram: UnsafeMutablePointer<Int64>) {
        histogramOffsets.withUnsafeBufferPointer { offsets in
            // invariant: a matrix with features has offsets
            let o = offsets.baseAddress!
            withRowMajor(
                { HistogramKernel.accumulate(bins: $0, features: features, rows: rows, count: count, pairs: pairs, offsets: o, histogram: histogram) },
                { HistogramKernel.accumulate(bins: $0, features: features, rows: rows, count: count, pairs: pairs, offsets: o, histogram: histogram) })
        }
    }
}
