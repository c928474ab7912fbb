import MLCore

/// The bin boundaries of every feature: XGBoost's `HistogramCuts`.
///
/// Feature `f` has `binCount(f)` value bins with upper bounds `cuts[f]` (ascending; the last is
/// above the largest training value). A value `v` falls in the first bin whose bound is greater
/// than `v`, so a split "bins ≤ i go left" is XGBoost's split condition `v < cuts[f][i]`. A
/// missing value (NaN, an empty CSV cell, an entry absent from a sparse row) has its own bin,
/// `binCount(f)`, after the value bins.
public struct FeatureCuts: Sendable, Equatable {
    /// Upper bounds of the value bins, feature by feature.
    public let values: [Float]
    /// `values[offsets[f]..<offsets[f + 1]]` are feature `f`'s bounds.
    public let offsets: [Int]
    /// The smallest training value of each feature (NaN when the feature has none).
    public let minimums: [Float]

    public init(values: [Float], offsets: [Int], minimums: [Float]) {
        self.values = values
        self.offsets = offsets
        self.minimums = minimums
    }

    public var features: Int { offsets.count - 1 }
    /// Value bins of feature `f` (its missing bin is this index).
    @inline(__always) public func binCount(_ f: Int) -> Int { offsets[f + 1] - offsets[f] }
    public func cuts(_ f: Int) -> ArraySlice<Float> { values[offsets[f]..<offsets[f + 1]] }
    /// The most bins (value bins + the missing bin) any feature has.
    public var widestFeature: Int { (0..<features).map { binCount($0) + 1 }.max() ?? 1 }

    /// The bin of `v` in feature `f`: the first bound above `v`; the missing bin for NaN.
    @inline(__always)
    public func bin(_ v: Float, feature f: Int) -> Int {
        let start = offsets[f], count = offsets[f + 1] - start
        guard !v.isNaN else { return count }
        return values.withUnsafeBufferPointer { Self.upperBound($0.baseAddress! + start, count, v) } // invariant: non-empty storage
    }

    /// Index of the first of `count` ascending bounds greater than `v` (`count - 1` at most:
    /// values above the last bound, seen only at prediction time, share the last bin).
    @inline(__always)
    static func upperBound(_ bounds: UnsafePointer<Float>, _ count: Int, _ v: Float) -> Int {
        var low = 0, size = count
        while size > 0 {
            let half = size >> 1
            let middle = low + half
            // Branch-free halving: the compiler turns this into a conditional move.
            let greater = bounds[middle] > v
            low = greater ? low : middle + 1
            size = greater ? half : size - half - 1
        }
        return min(low, max(0, count - 1))
    }
}

extension FeatureCuts {
    /// Weighted quantile bounds with at most `maxBin` value bins per feature.
    ///
    /// Each feature's present values are sorted exactly (a radix sort on the float's bit
    /// pattern); a feature with at most `maxBin` distinct values gets one bin per value; otherwise
    /// the bounds are the values at weighted ranks `i·W/maxBin`, deduplicated. The result depends
    /// only on the data, never on the thread count. `value(row, f)` returns NaN for missing.
    public static func build(rows: Int, features: Int, maxBin: Int, weighted: Bool, threads: Int,
                             column: @Sendable (_ feature: Int, _ into: inout [UInt32], _ weights: inout [Float]) -> Void) -> FeatureCuts {
        let perFeature = PartialResults<([Float], Float)>(count: features, placeholder: ([], .nan))
        parallelFor(blocks: features, threads: threads, makeScratch: { QuantileScratch() }) { f, scratch in
            scratch.keys.removeAll(keepingCapacity: true)
            scratch.weights.removeAll(keepingCapacity: true)
            column(f, &scratch.keys, &scratch.weights)
            perFeature.set(f, scratch.bounds(maxBin: maxBin, weighted: weighted))
        }
        var values: [Float] = []
        var offsets = [0]
        var minimums: [Float] = []
        for f in 0..<features {
            let (bounds, minimum) = perFeature.values[f]
            values += bounds
            offsets.append(values.count)
            minimums.append(minimum)
        }
        return FeatureCuts(values: values, offsets: offsets, minimums: minimums)
    }

    /// A float's bits mapped so that unsigned order is numeric order.
    @inline(__always) static func orderedKey(_ v: Float) -> UInt32 {
        let bits = (v == 0 ? Float(0) : v).bitPattern // −0 and +0 are one value
        return bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
    }

    @inline(__always) static func value(ofKey key: UInt32) -> Float {
        Float(bitPattern: key & 0x8000_0000 != 0 ? key & 0x7FFF_FFFF : ~key)
    }
}

/// Per-thread buffers of the quantile computation.
struct QuantileScratch {
    var keys: [UInt32] = []
    var weights: [Float] = []
    var sortedKeys: [UInt32] = []
    var sortedWeights: [Float] = []

    /// Sorts `keys` (with `weights` when weighted) and returns the bounds and the minimum.
    mutating func bounds(maxBin: Int, weighted: Bool) -> ([Float], Float) {
        let n = keys.count
        guard n > 0 else { return ([], .nan) }
        radixSort(weighted: weighted)
        // Distinct values and their weights.
        var distinct: [UInt32] = []
        var mass: [Double] = []
        var total = 0.0
        keys.withUnsafeBufferPointer { k in
            weights.withUnsafeBufferPointer { w in
                for i in 0..<n {
                    let weight = weighted ? Double(w[i]) : 1
                    total += weight
                    if let last = distinct.last, last == k[i] {
                        mass[mass.count - 1] += weight
                    } else {
                        distinct.append(k[i])
                        mass.append(weight)
                    }
                }
            }
        }
        let minimum = FeatureCuts.value(ofKey: distinct[0])
        let maximum = FeatureCuts.value(ofKey: distinct[distinct.count - 1])
        var bounds: [Float] = []
        if distinct.count <= maxBin {
            for j in 1..<distinct.count { bounds.append(FeatureCuts.value(ofKey: distinct[j])) }
        } else {
            // The value at each weighted rank i·W/maxBin: the first distinct value whose
            // preceding weight reaches the rank.
            var before = 0.0
            var j = 0
            for i in 1..<maxBin {
                let rank = Double(i) * total / Double(maxBin)
                while j < distinct.count && before + mass[j] <= rank {
                    before += mass[j]
                    j += 1
                }
                let candidate = j < distinct.count ? j : distinct.count - 1
                guard candidate > 0 else { continue }
                let v = FeatureCuts.value(ofKey: distinct[candidate])
                if bounds.last.map({ v > $0 }) ?? true { bounds.append(v) }
            }
        }
        // The last bound lies above every training value, as XGBoost's does.
        bounds.append(maximum + abs(maximum) + 1e-5)
        return (bounds, minimum)
    }

    /// LSD radix sort of `keys` (and `weights`) by 8-bit digits, skipping digits all keys share.
    mutating func radixSort(weighted: Bool) {
        let n = keys.count
        if sortedKeys.count < n {
            sortedKeys = [UInt32](repeating: 0, count: n)
            if weighted { sortedWeights = [Float](repeating: 0, count: n) }
        }
        var counts = [Int](repeating: 0, count: 256 * 4)
        keys.withUnsafeBufferPointer { k in
            counts.withUnsafeMutableBufferPointer { c in
                for i in 0..<n {
                    let key = k[i]
                    c[Int(key & 0xFF)] += 1
                    c[256 + Int((key >> 8) & 0xFF)] += 1
                    c[512 + Int((key >> 16) & 0xFF)] += 1
                    c[768 + Int(key >> 24)] += 1
                }
            }
        }
        for digit in 0..<4 {
            let shift = UInt32(digit * 8)
            if counts[(digit * 256)..<(digit * 256 + 256)].contains(n) { continue } // one bucket: nothing moves
            var start = [Int](repeating: 0, count: 256)
            var running = 0
            for b in 0..<256 {
                start[b] = running
                running += counts[digit * 256 + b]
            }
            keys.withUnsafeBufferPointer { src in
                sortedKeys.withUnsafeMutableBufferPointer { dst in
                    weights.withUnsafeBufferPointer { ws in
                        sortedWeights.withUnsafeMutableBufferPointer { wd in
                            start.withUnsafeMutableBufferPointer { s in
                                for i in 0..<n {
                                    let key = src[i]
                                    let b = Int((key >> shift) & 0xFF)
                                    let at = s[b]
                                    s[b] = at + 1
                                    dst[at] = key
                                    if weighted { wd[at] = ws[i] }
                                }
                            }
                        }
                    }
                }
            }
            swap(&keys, &sortedKeys)
            if weighted { swap(&weights, &sortedWeights) }
        }
    }
}
