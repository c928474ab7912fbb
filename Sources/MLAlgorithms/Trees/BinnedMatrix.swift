import MLCore

/// The training rows as bin indices, stored twice: row by row (the histogram kernel reads a
/// row's every feature at once) and feature by feature (partitioning a node and updating
/// predictions read one feature of many rows). One byte a bin when every feature fits in 256
/// bins (value bins + its missing bin), two otherwise.
public struct BinnedMatrix: Sendable {
    public let rows: Int
    public let features: Int
    public let cuts: FeatureCuts
    /// Whether each feature had a missing value in training.
    public let hasMissing: [Bool]
    /// Start of each feature's bins in a histogram; `histogramBins` in all.
    public let histogramOffsets: [Int32]
    public let histogramBins: Int
    let storage: Storage

    enum Storage: Sendable {
        case narrow(rowMajor: [UInt8], columnMajor: [UInt8])
        case wide(rowMajor: [UInt16], columnMajor: [UInt16])
    }

    public var isNarrow: Bool { if case .narrow = storage { true } else { false } }

    /// Bins `features` (dense or sparse; an absent sparse entry is missing, a stored 0 is the
    /// value 0) with `maxBin` value bins at most per feature, weighted by `weights` if given.
    public init(_ x: Features, maxBin: Int, weights: [Float]?, threads: Int) {
        let n = x.rows, d = x.columns
        let columns = ColumnValues(x, threads: threads)
        let cuts: FeatureCuts = if let weights {
            weights.withUnsafeBufferPointer { w in
                let wp = SharedPointer(w.baseAddress!) // invariant: weights has one entry per row (checked by the caller)
                return FeatureCuts.build(rows: n, features: d, maxBin: maxBin, weighted: true, threads: threads) { f, keys, ws in
                    columns.forEachPresent(f) { row, v in
                        keys.append(FeatureCuts.orderedKey(v))
                        ws.append(wp[row])
                    }
                }
            }
        } else {
            FeatureCuts.build(rows: n, features: d, maxBin: maxBin, weighted: false, threads: threads) { f, keys, _ in
                columns.forEachPresent(f) { _, v in keys.append(FeatureCuts.orderedKey(v)) }
            }
        }
        self.init(x, cuts: cuts, columns: columns, threads: threads)
    }

    /// Bins `x` against given cuts (a validation set against the training cuts).
    public init(_ x: Features, cuts: FeatureCuts, threads: Int) {
        self.init(x, cuts: cuts, columns: ColumnValues(x, threads: threads), threads: threads)
    }

    private init(_ x: Features, cuts: FeatureCuts, columns: ColumnValues, threads: Int) {
        let n = x.rows, d = x.columns
        rows = n
        features = d
        self.cuts = cuts
        var offsets: [Int32] = []
        var total = 0
        for f in 0..<d {
            offsets.append(Int32(total))
            total += cuts.binCount(f) + 1
        }
        histogramOffsets = offsets
        histogramBins = total
        let missing = PartialResults<Bool>(count: d, placeholder: false)
        // The largest bin stored is the missing bin where a feature has missing values, else the last value bin.
        if (0..<d).allSatisfy({ cuts.binCount($0) + (columns.hasMissing($0) ? 1 : 0) <= 256 }) {
            let (rowMajor, columnMajor) = Self.fill(UInt8.self, columns: columns, cuts: cuts, rows: n, features: d, missing: missing, threads: threads)
            storage = .narrow(rowMajor: rowMajor, columnMajor: columnMajor)
        } else {
            let (rowMajor, columnMajor) = Self.fill(UInt16.self, columns: columns, cuts: cuts, rows: n, features: d, missing: missing, threads: threads)
            storage = .wide(rowMajor: rowMajor, columnMajor: columnMajor)
        }
        hasMissing = missing.values
    }

    /// Column-major bins first (one feature per block, each value binned once), then the
    /// row-major copy by a blocked transpose.
    private static func fill<B: FixedWidthInteger & UnsignedInteger & Sendable>(
        _: B.Type, columns: ColumnValues, cuts: FeatureCuts, rows n: Int, features d: Int, missing: PartialResults<Bool>, threads: Int
    ) -> ([B], [B]) {
        var columnMajor = [B](repeating: 0, count: n * d)
        var rowMajor = [B](repeating: 0, count: n * d)
        columnMajor.withUnsafeMutableBufferPointer { cm in
            let out = SharedMutablePointer(cm.baseAddress!) // invariant: n·d > 0 when called with data
            cuts.values.withUnsafeBufferPointer { bounds in
                let bp = SharedPointer(bounds.baseAddress!) // invariant: every feature has ≥ 1 bound or is all-missing
                parallelFor(blocks: d, threads: threads) { f in
                    let column = out.base + f * n
                    let count = cuts.binCount(f)
                    let missingBin = B(truncatingIfNeeded: count)
                    // Everything starts missing: sparse columns then overwrite their present entries.
                    for i in 0..<n { column[i] = missingBin }
                    if count > 0 {
                        let lookup = BinLookup(bounds: bp.base + cuts.offsets[f], count: count)
                        columns.forEachPresent(f) { row, v in column[row] = B(truncatingIfNeeded: lookup.bin(v)) }
                    }
                    missing.set(f, columns.hasMissing(f))
                }
            }
        }
        // Transpose in row blocks so each block's rows stay in cache.
        let blockRows = 4096
        columnMajor.withUnsafeBufferPointer { cm in
            rowMajor.withUnsafeMutableBufferPointer { rm in
                let src = SharedPointer(cm.baseAddress!), dst = SharedMutablePointer(rm.baseAddress!) // invariant: n·d > 0
                parallelFor(blocks: (n + blockRows - 1) / blockRows, threads: threads) { b in
                    let lo = b * blockRows, hi = min(n, lo + blockRows)
                    for f in 0..<d {
                        let column = src.base + f * n
                        for i in lo..<hi { dst.base[i * d + f] = column[i] }
                    }
                }
            }
        }
        return (rowMajor, columnMajor)
    }

    /// The bin of `row` in `feature`, from the column-major copy.
    @inline(__always)
    public func bin(row: Int, feature: Int) -> Int {
        switch storage {
        case .narrow(_, let cm): Int(cm[feature * rows + row])
        case .wide(_, let cm): Int(cm[feature * rows + row])
        }
    }
}

/// Feature values by column for binning: a dense matrix read with a stride, or a sparse one
/// transposed once (counting sort by column).
struct ColumnValues: Sendable {
    enum Source: Sendable {
        /// Column-major: column `f` is `values[f·rows..<(f+1)·rows]`.
        case dense([Float])
        case sparse(offsets: [Int], rows: [Int32], values: [Float])
    }
    let source: Source
    let rows: Int
    let columns: Int
    /// Whether each column has a missing entry (NaN, or absent from a sparse row).
    let missing: [Bool]

    init(_ x: Features, threads: Int) {
        rows = x.rows
        columns = x.columns
        switch x {
        case .dense(let m):
            // One blocked transpose, so every later per-feature pass reads memory in order.
            let d = m.columns, n = m.rows
            var columnMajor = [Float](repeating: 0, count: n * d)
            let flags = PartialResults<Bool>(count: d, placeholder: false)
            m.withUnsafeBufferPointer { buffer in
                columnMajor.withUnsafeMutableBufferPointer { out in
                    guard let src = buffer.baseAddress, let dst = out.baseAddress else { return }
                    let sp = SharedPointer(src), dp = SharedMutablePointer(dst)
                    let blockRows = 2048
                    parallelFor(blocks: (n + blockRows - 1) / blockRows, threads: threads) { b in
                        let lo = b * blockRows, hi = min(n, lo + blockRows)
                        for i in lo..<hi {
                            let row = sp.base + i * d
                            for f in 0..<d { dp.base[f * n + i] = row[f] }
                        }
                    }
                    parallelFor(blocks: d, threads: threads) { f in
                        let column = dp.base + f * n
                        var any = false
                        for i in 0..<n where column[i].isNaN { any = true; break }
                        flags.set(f, any)
                    }
                }
            }
            source = .dense(columnMajor)
            missing = flags.values
        case .sparse(let s):
            var counts = [Int](repeating: 0, count: s.columns + 1)
            var nanColumns = [Bool](repeating: false, count: s.columns)
            for c in s.columnIndices { counts[Int(c) + 1] += 1 }
            for c in 0..<s.columns { counts[c + 1] += counts[c] }
            var next = counts
            var rowsOut = [Int32](repeating: 0, count: s.nonzeroCount)
            var valuesOut = [Float](repeating: 0, count: s.nonzeroCount)
            for r in 0..<s.rows {
                for k in s.rowOffsets[r]..<s.rowOffsets[r + 1] {
                    let c = Int(s.columnIndices[k])
                    rowsOut[next[c]] = Int32(r)
                    valuesOut[next[c]] = s.values[k]
                    if s.values[k].isNaN { nanColumns[c] = true }
                    next[c] += 1
                }
            }
            source = .sparse(offsets: counts, rows: rowsOut, values: valuesOut)
            missing = (0..<s.columns).map { c in nanColumns[c] || counts[c + 1] - counts[c] < s.rows }
        }
    }

    func hasMissing(_ f: Int) -> Bool { missing[f] }

    /// Calls `body(row, value)` for every present (non-NaN) value of column `f`, rows ascending.
    @inline(__always)
    func forEachPresent(_ f: Int, _ body: (Int, Float) -> Void) {
        switch source {
        case .dense(let values):
            values.withUnsafeBufferPointer { buffer in
                guard let p = buffer.baseAddress else { return }
                let column = p + f * rows
                for i in 0..<rows {
                    let v = column[i]
                    if !v.isNaN { body(i, v) }
                }
            }
        case .sparse(let offsets, let rowIndices, let values):
            for k in offsets[f]..<offsets[f + 1] where !values[k].isNaN { body(Int(rowIndices[k]), values[k]) }
        }
    }
}

/// The bin of a value in one feature without a binary search: a table indexed by the top 16
/// bits of the value's ordered key gives the first bin that can hold it, and a short scan
/// (usually no step) finishes. Equal to ``FeatureCuts/upperBound(_:_:_:)`` for every value.
struct BinLookup {
    let bounds: UnsafePointer<Float>
    let count: Int
    var table: [UInt16]

    init(bounds: UnsafePointer<Float>, count: Int) {
        self.bounds = bounds
        self.count = count
        // table[t] = the bin of the smallest value whose key's top 16 bits are t.
        var table = [UInt16](repeating: 0, count: 1 << 16)
        var bin = 0
        for t in 0..<(1 << 16) {
            let smallest = FeatureCuts.value(ofKey: UInt32(t) << 16)
            // NaN bit patterns (both ends of the key range) hold no values; they must not move `bin`.
            while !smallest.isNaN && bin < count - 1 && !(bounds[bin] > smallest) { bin += 1 }
            table[t] = UInt16(bin)
        }
        self.table = table
    }

    @inline(__always) func bin(_ v: Float) -> Int {
        var b = Int(table[Int(FeatureCuts.orderedKey(v) >> 16)])
        while b < count - 1 && !(bounds[b] > v) { b += 1 }
        return b
    }
}
