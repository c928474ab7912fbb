import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// Random rows with missing values (NaN) and a few repeated values, and random weights.
func randomTreeRows(rows: Int, features: Int, missing: Double, seed: UInt64) -> (Matrix<Float>, [Float], [Float]) {
    var r = RandomStream(seed: seed)
    var x = Matrix<Float>(rows: rows, columns: features)
    var y = [Float](repeating: 0, count: rows), w = y
    for i in 0..<rows {
        for j in 0..<features {
            let u = r.nextDouble()
            // Some features take few distinct values, so distinct-value bins are exercised too.
            x[i, j] = u < missing ? .nan : (j % 3 == 0 ? Float(Int(r.nextDouble() * 7)) : Float(r.standardNormal()))
        }
        y[i] = Float(r.standardNormal()) + (x[i, 1].isNaN ? 1 : x[i, 1])
        w[i] = Float(0.5 + r.nextDouble())
    }
    return (x, y, w)
}

@Suite struct BoostedTreesKernelTests {
    @Test("cuts: every present value's bin holds it (bound above, previous bound not above); missing values get the missing bin")
    func binningInvariants() throws {
        let (x, _, w) = randomTreeRows(rows: 3000, features: 5, missing: 0.1, seed: 1)
        for maxBin in [4, 16, 256] {
            let matrix = BinnedMatrix(.dense(x), maxBin: maxBin, weights: w, threads: 2)
            for f in 0..<5 {
                let cuts = Array(matrix.cuts.cuts(f))
                #expect(cuts.count <= maxBin)
                #expect(zip(cuts, cuts.dropFirst()).allSatisfy { $0 < $1 })
                for i in 0..<3000 {
                    let v = x[i, f], b = matrix.bin(row: i, feature: f)
                    if v.isNaN {
                        #expect(b == cuts.count)
                    } else {
                        #expect(v < cuts[b] && (b == 0 || !(v < cuts[b - 1])))
                    }
                }
            }
            #expect(matrix.hasMissing.allSatisfy { $0 })
        }
    }

    @Test("cuts: weighted quantiles put about equal weight in each bin of a continuous feature")
    func weightedQuantiles() throws {
        var r = RandomStream(seed: 3)
        let n = 20_000
        let x = try Matrix(rows: n, columns: 1, elements: (0..<n).map { _ in Float(r.standardNormal()) })
        // Rows above 0 weigh 3: the bins there must be 3× narrower in count.
        let w = (0..<n).map { x[$0, 0] > 0 ? Float(3) : 1 }
        let matrix = BinnedMatrix(.dense(x), maxBin: 8, weights: w, threads: 1)
        var mass = [Double](repeating: 0, count: 8)
        for i in 0..<n { mass[matrix.bin(row: i, feature: 0)] += Double(w[i]) }
        let total = mass.reduce(0, +)
        for m in mass { #expect(abs(m / total - 1.0 / 8) < 0.01) }
    }

    @Test("the bin lookup table equals binary search for every value, including ±0, extremes and values between bounds")
    func lookupEqualsBinarySearch() throws {
        var r = RandomStream(seed: 4)
        var bounds = (0..<200).map { _ in Float(r.standardNormal() * 10) }.sorted()
        bounds = Array(Set(bounds)).sorted() + [1e30]
        var probes: [Float] = [0, -0.0, -Float.greatestFiniteMagnitude, .greatestFiniteMagnitude, Float.leastNonzeroMagnitude * 1000, -Float.leastNonzeroMagnitude * 1000]
        for _ in 0..<20_000 { probes.append(Float(r.standardNormal() * 12)) }
        probes += bounds
        bounds.withUnsafeBufferPointer { b in
            let lookup = BinLookup(bounds: b.baseAddress!, count: b.count)
            for v in probes { #expect(lookup.bin(v) == FeatureCuts.upperBound(b.baseAddress!, b.count, v), "value \(v)") }
        }
    }

    @Test("histogram kernel equals the naive loop for all rows, a scattered subset and both bin widths")
    func histogramAgainstNaive() throws {
        let (x, y, _) = randomTreeRows(rows: 2500, features: 7, missing: 0.15, seed: 5)
        // 255 value bins + the missing bin fit a byte; 1000 do not.
        for maxBin in [255, 1000] {
            let matrix = BinnedMatrix(.dense(x), maxBin: maxBin, weights: nil, threads: 2)
            #expect(matrix.isNarrow == (maxBin == 255))
            let g = y.map { $0 - 0.3 }, h = y.map { _ in Float(1) }
            let q = g.withUnsafeBufferPointer { gp in h.withUnsafeBufferPointer { hp in
                QuantizedGradients(gradients: gp.baseAddress!, hessians: hp.baseAddress!, stride: 1, rows: 2500,
                                   gradientExponent: 40, hessianExponent: 40, threads: 2)
            } }
            for rows in [Array(0..<2500), stride(from: 3, to: 2500, by: 7).map { $0 }] {
                var fast = [Int64](repeating: 0, count: 2 * matrix.histogramBins)
                let indices = rows.map { UInt32($0) }
                indices.withUnsafeBufferPointer { r in q.pairs.withUnsafeBufferPointer { p in fast.withUnsafeMutableBufferPointer { out in
                    matrix.accumulate(rows: r.baseAddress!, count: r.count, pairs: p.baseAddress!, into: out.baseAddress!)
                } } }
                #expect(fast == HistogramKernel.naive(matrix, rows: rows, pairs: q.pairs))
            }
        }
    }

    @Test("split finding equals a brute-force search over every threshold and missing direction, with L1, L2, min_child_weight and max_delta_step")
    func splitAgainstBruteForce() throws {
        let (x, y, w) = randomTreeRows(rows: 400, features: 6, missing: 0.2, seed: 7)
        let matrix = BinnedMatrix(.dense(x), maxBin: 32, weights: w, threads: 1)
        let g = zip(y, w).map { ($0 - 0.2) * $1 }, h = w
        let q = g.withUnsafeBufferPointer { gp in h.withUnsafeBufferPointer { hp in
            QuantizedGradients(gradients: gp.baseAddress!, hessians: hp.baseAddress!, stride: 1, rows: 400,
                               gradientExponent: QuantizedGradients.exponent(largest: 8, rows: 400),
                               hessianExponent: QuantizedGradients.exponent(largest: 2, rows: 400), threads: 1)
        } }
        for rules in [SplitRules(), SplitRules(lambda: 5, alpha: 2, maxDeltaStep: 0, minChildWeight: 10),
                      SplitRules(lambda: 0.5, alpha: 0, maxDeltaStep: 0.3, minChildWeight: 0)] {
            let rows = Array(0..<400)
            let expected = SplitEvaluator.bruteForce(matrix, rows: rows, pairs: q.pairs, quantization: q, rules: rules, features: Array(0..<6))
            let histogram = HistogramKernel.naive(matrix, rows: rows, pairs: q.pairs)
            var totalG: Int64 = 0, totalH: Int64 = 0
            for r in rows { totalG += q.pairs[2 * r]; totalH += q.pairs[2 * r + 1] }
            var best = SplitCandidate()
            histogram.withUnsafeBufferPointer { hp in
                for f in 0..<6 {
                    best.consider(SplitEvaluator.best(feature: f, histogram: hp.baseAddress!, offset: Int(matrix.histogramOffsets[f]),
                                                      bins: matrix.cuts.binCount(f), totalG: totalG, totalH: totalH, quantization: q, rules: rules))
                }
            }
            #expect(best == expected)
            #expect(best.isFound && best.lossChange > 0)
        }
    }

    @Test("a tree grown on the rows routes every training row to the leaf its bins lead to, and trees are identical for 1 and 3 threads")
    func growerRoutingAndThreads() throws {
        let (x, y, _) = randomTreeRows(rows: 5000, features: 6, missing: 0.1, seed: 9)
        let data = TreeDataset(features: .dense(x), labels: y)
        let hp = try XGBoostHyperparameters(strings: ["num_round": "3", "max_depth": "4", "eta": "0.5"])
        let one = try BoostedTreesTrainer(hyperparameters: hp, threads: 1).fit(train: data).model
        let three = try BoostedTreesTrainer(hyperparameters: hp, threads: 3).fit(train: data).model
        #expect(one == three)
        // The training margins (kept by routing rows by bin) equal the model's float predictions.
        let trained = try BoostedTreesTrainer(hyperparameters: hp, threads: 2).fit(train: data)
        let final = try #require(trained.history.last?.values.first?.value)
        let rmse = TreeMetric.rmse.evaluate(predictions: try trained.model.predict(.dense(x)), outputs: 1, labels: y, weights: nil)
        #expect(final == rmse)
    }
}
