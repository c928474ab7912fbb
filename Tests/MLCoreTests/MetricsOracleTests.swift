import Foundation
import MLCore
import Testing

// Independent checks: each metric against a plain-loop oracle written from the textbook
// definition (not from the implementation's formula), and invariants that must hold whatever
// the data. Data is seeded (SeededRandom), sizes × seeds.

extension MetricsTests {
    @Suite("naive oracles and invariants") struct Oracles {
        static let sizes = [2, 3, 5, 17, 64]
        static let seeds: [UInt64] = [1, 2, 3, 4, 5]

        /// Binary data with heavily tied integer scores; both classes present with positive weight.
        static func binaryData(
            size n: Int, seed: UInt64, weighted: Bool
        ) -> (labels: [Double], scores: [Double], weights: [Double]?) {
            var rng = SeededRandom(seed: seed &* 7919 &+ UInt64(n))
            var labels = (0..<n).map { _ in Double(Int.random(in: 0...1, using: &rng)) }
            labels[0] = 0
            labels[1] = 1
            let scores = (0..<n).map { _ in Double(Int.random(in: 0...4, using: &rng)) }
            guard weighted else { return (labels, scores, nil) }
            let choices = [0, 0.5, 1, 2.25, 3]
            var weights = (0..<n).map { _ in choices.randomElement(using: &rng) ?? 1 }
            weights[0] = 1.5
            weights[1] = 0.75
            return (labels, scores, weights)
        }

        /// Mann–Whitney: the weighted fraction of (positive, negative) pairs ordered correctly,
        /// ties counting one half. O(n²).
        static func mannWhitneyAUC(_ labels: [Double], _ scores: [Double], _ weights: [Double]?) -> Double {
            var concordant = 0.0, pairs = 0.0
            for i in labels.indices where labels[i] == 1 {
                for j in labels.indices where labels[j] == 0 {
                    let w = (weights?[i] ?? 1) * (weights?[j] ?? 1)
                    pairs += w
                    if scores[i] > scores[j] { concordant += w } else if scores[i] == scores[j] { concordant += w / 2 }
                }
            }
            return concordant / pairs
        }

        @Test("ROC AUC equals the Mann–Whitney pair count, with ties and weights",
              arguments: [false, true])
        func aucIsMannWhitney(weighted: Bool) throws {
            for n in Self.sizes {
                for seed in Self.seeds {
                    let (y, s, w) = Self.binaryData(size: n, seed: seed, weighted: weighted)
                    let auc = try Metrics.rocAUC(labels: y, scores: s, weights: w)
                    expectMetricClose(auc, Self.mannWhitneyAUC(y, s, w), "n=\(n) seed=\(seed)")
                    // Integer scores and dyadic weights make every step exact: Float gives the same bits.
                    let aucFloat = try Metrics.rocAUC(labels: y.floats(), scores: s.floats(), weights: w.floats())
                    #expect(aucFloat == auc, "n=\(n) seed=\(seed)")
                }
            }
        }

        @Test("ROC AUC: sample order is irrelevant, reversing scores gives 1 − AUC, monotone maps keep it")
        func aucInvariants() throws {
            for n in Self.sizes {
                for seed in Self.seeds {
                    let (y, s, w) = Self.binaryData(size: n, seed: seed, weighted: true)
                    let auc = try Metrics.rocAUC(labels: y, scores: s, weights: w)
                    var rng = SeededRandom(seed: seed)
                    let perm = Array(y.indices).shuffled(using: &rng)
                    let permuted = try Metrics.rocAUC(labels: perm.map { y[$0] }, scores: perm.map { s[$0] },
                                                      weights: w.map { w in perm.map { w[$0] } })
                    expectMetricClose(permuted, auc, "permuted n=\(n) seed=\(seed)")
                    expectMetricClose(try Metrics.rocAUC(labels: y, scores: s.map { -$0 }, weights: w), 1 - auc,
                                      "reversed n=\(n) seed=\(seed)")
                    expectMetricClose(try Metrics.rocAUC(labels: y, scores: s.map { exp($0 / 3) - 7 }, weights: w), auc,
                                      "monotone map n=\(n) seed=\(seed)")
                    // Only relative weights matter, even where P·N would under- or overflow.
                    for scale in [1e-200, 1e200] {
                        expectMetricClose(try Metrics.rocAUC(labels: y, scores: s, weights: w.map { $0.map { $0 * scale } }),
                                          auc, "weights × \(scale) n=\(n) seed=\(seed)")
                    }
                }
            }
        }

        @Test("ROC AUC of hand-worked examples: all tied, perfect, inverted, one tied pair")
        func aucByHand() throws {
            #expect(try Metrics.rocAUC(labels: [0, 1, 0, 1.0], scores: [0.3, 0.3, 0.3, 0.3]) == 0.5)
            #expect(try Metrics.rocAUC(labels: [0, 0, 1, 1.0], scores: [0.1, 0.2, 0.8, 0.9]) == 1)
            #expect(try Metrics.rocAUC(labels: [1, 1, 0, 0.0], scores: [0.1, 0.2, 0.8, 0.9]) == 0)
            // sklearn's doc example plus a tie: positives {0.35, 0.8}, negatives {0.1, 0.4, 0.35}.
            // Pairs: 0.35 beats 0.1, ties 0.35, loses to 0.4; 0.8 beats all three → (1 + ½ + 3)/6.
            expectMetricClose(try Metrics.rocAUC(labels: [0, 0, 1, 1, 0.0], scores: [0.1, 0.4, 0.35, 0.8, 0.35]), 4.5 / 6)
        }

        /// Expands each sample into `weight` copies (integer weights).
        static func repeated<T>(_ values: [T], _ weights: [Int], stride: Int = 1) -> [T] {
            var out = [T]()
            for (i, w) in weights.enumerated() {
                for _ in 0..<w { out.append(contentsOf: values[i * stride ..< (i + 1) * stride]) }
            }
            return out
        }

        @Test("integer sample weights equal repeating samples (every weighted metric)")
        func weightsAreRepetitions() throws {
            for seed in Self.seeds {
                var rng = SeededRandom(seed: 1000 + seed)
                let n = 41, k = 4
                let counts = (0..<n).map { _ in Int.random(in: 1...3, using: &rng) }
                let w = counts.map(Double.init)
                var y = (0..<n).map { _ in Double(Int.random(in: 0...1, using: &rng)) }
                y[0] = 0
                y[1] = 1
                let p = (0..<n).map { _ in Double(Int.random(in: 0...1, using: &rng)) }
                let s = (0..<n).map { _ in Double(Int.random(in: -2...2, using: &rng)) }
                let prob = (0..<n).map { _ in Double.random(in: 0...1, using: &rng) }
                let yr = Self.repeated(y, counts), pr = Self.repeated(p, counts)

                expectMetricClose(try Metrics.accuracy(labels: y, predictions: p, weights: w),
                                  try Metrics.accuracy(labels: yr, predictions: pr), "accuracy")
                expectMetricClose(try Metrics.precision(labels: y, predictions: p, weights: w),
                                  try Metrics.precision(labels: yr, predictions: pr), "precision")
                expectMetricClose(try Metrics.recall(labels: y, predictions: p, weights: w),
                                  try Metrics.recall(labels: yr, predictions: pr), "recall")
                expectMetricClose(try Metrics.fBetaScore(labels: y, predictions: p, beta: 0.5, weights: w),
                                  try Metrics.fBetaScore(labels: yr, predictions: pr, beta: 0.5), "F0.5")
                expectMetricClose(try Metrics.balancedAccuracy(labels: y, predictions: p, weights: w),
                                  try Metrics.balancedAccuracy(labels: yr, predictions: pr), "balanced accuracy")
                expectMetricClose(try Metrics.rocAUC(labels: y, scores: s, weights: w),
                                  try Metrics.rocAUC(labels: yr, scores: Self.repeated(s, counts)), "ROC AUC")
                expectMetricClose(try Metrics.logLoss(labels: y, probabilities: prob, weights: w),
                                  try Metrics.logLoss(labels: yr, probabilities: Self.repeated(prob, counts)), "log-loss")

                let target = (0..<n).map { _ in Double.random(in: -5...5, using: &rng) }
                let guess = target.map { $0 + Double.random(in: -1...1, using: &rng) }
                let tr = Self.repeated(target, counts), gr = Self.repeated(guess, counts)
                expectMetricClose(try Metrics.meanSquaredError(labels: target, predictions: guess, weights: w),
                                  try Metrics.meanSquaredError(labels: tr, predictions: gr), "MSE")
                expectMetricClose(try Metrics.meanAbsoluteError(labels: target, predictions: guess, weights: w),
                                  try Metrics.meanAbsoluteError(labels: tr, predictions: gr), "MAE")
                expectMetricClose(try Metrics.r2Score(labels: target, predictions: guess, weights: w),
                                  try Metrics.r2Score(labels: tr, predictions: gr), "R²")

                let yc = (0..<n).map { _ in Double(Int.random(in: 0..<k, using: &rng)) }
                let pc = (0..<n).map { _ in Double(Int.random(in: 0..<k, using: &rng)) }
                let sc = (0..<(n * k)).map { _ in Double(Int.random(in: 0...2, using: &rng)) }
                let pm = (0..<n).flatMap { _ -> [Double] in
                    let raw = (0..<k).map { _ in Double.random(in: 0.05...1, using: &rng) }
                    let sum = raw.reduce(0, +)
                    return raw.map { $0 / sum }
                }
                let ycr = Self.repeated(yc, counts), pcr = Self.repeated(pc, counts)
                expectMetricClose(try Metrics.macroPrecision(labels: yc, predictions: pc, weights: w),
                                  try Metrics.macroPrecision(labels: ycr, predictions: pcr), "macro precision")
                expectMetricClose(try Metrics.macroRecall(labels: yc, predictions: pc, weights: w),
                                  try Metrics.macroRecall(labels: ycr, predictions: pcr), "macro recall")
                expectMetricClose(try Metrics.macroF1Score(labels: yc, predictions: pc, classCount: k, weights: w),
                                  try Metrics.macroF1Score(labels: ycr, predictions: pcr, classCount: k), "macro F1")
                expectMetricClose(try Metrics.topKAccuracy(labels: yc, scores: sc, classCount: k, k: 2, weights: w),
                                  try Metrics.topKAccuracy(labels: ycr, scores: Self.repeated(sc, counts, stride: k),
                                                     classCount: k, k: 2), "top-2")
                expectMetricClose(try Metrics.multiclassLogLoss(labels: yc, probabilities: pm, classCount: k, weights: w),
                                  try Metrics.multiclassLogLoss(labels: ycr, probabilities: Self.repeated(pm, counts, stride: k),
                                                          classCount: k), "multiclass log-loss")
            }
        }

        @Test("top-k accuracy: naive sort with sklearn's tie order (higher class index first)")
        func topKNaive() throws {
            for seed in Self.seeds {
                var rng = SeededRandom(seed: 77 + seed)
                let classes = Int.random(in: 2...7, using: &rng)
                let n = 50
                let y = (0..<n).map { _ in Double(Int.random(in: 0..<classes, using: &rng)) }
                let s = (0..<(n * classes)).map { _ in Double(Int.random(in: 0...2, using: &rng)) }
                for k in 1...classes {
                    var hits = 0
                    for i in 0..<n {
                        let row = Array(s[i * classes ..< (i + 1) * classes])
                        // Descending by (score, class index): a stable ascending argsort, reversed.
                        let ranked = (0..<classes).sorted { (row[$0], $0) > (row[$1], $1) }
                        if ranked.prefix(k).contains(Int(y[i])) { hits += 1 }
                    }
                    expectMetricClose(try Metrics.topKAccuracy(labels: y, scores: s, classCount: classes, k: k),
                                      Double(hits) / Double(n), "seed=\(seed) classes=\(classes) k=\(k)")
                }
                // Top-1 is the accuracy of argmax predictions with ties to the higher index.
                let argmax = (0..<n).map { i -> Double in
                    let row = s[i * classes ..< (i + 1) * classes]
                    let best = row.max() ?? 0
                    return Double((0..<classes).last { row[i * classes + $0] == best } ?? 0)
                }
                expectMetricClose(try Metrics.topKAccuracy(labels: y, scores: s, classCount: classes, k: 1),
                                  try Metrics.accuracy(labels: y, predictions: argmax), "top-1 vs argmax, seed=\(seed)")
            }
        }

        @Test("top-k with every score tied: a hit exactly when label ≥ classCount − k")
        func topKAllTied() throws {
            let y: [Double] = [0, 1, 2, 3, 4]
            let s = [Double](repeating: 0.5, count: 25)
            for k in 1...5 {
                #expect(try Metrics.topKAccuracy(labels: y, scores: s, classCount: 5, k: k) == Double(k) / 5)
            }
            #expect(try Metrics.topKAccuracy(labels: y, scores: s, classCount: 5, k: 9) == 1)
        }

        /// Macro metrics from a full confusion matrix, with F1 in the harmonic-mean form
        /// 2PR/(P+R) (0 when P + R = 0) — a different formula from the implementation's count form.
        @Test("macro precision / recall / F1 against a confusion-matrix oracle")
        func macroNaive() throws {
            for seed in Self.seeds {
                var rng = SeededRandom(seed: 500 + seed)
                let k = 5, n = 37
                let y = (0..<n).map { _ in Double(Int.random(in: 0..<k, using: &rng)) }
                let p = (0..<n).map { _ in Double(Int.random(in: 0..<(k - 1), using: &rng)) }  // class 4 never predicted
                let w = (0..<n).map { _ in Double.random(in: 0...2, using: &rng) }
                var confusion = [[Double]](repeating: [Double](repeating: 0, count: k), count: k)
                for i in 0..<n { confusion[Int(y[i])][Int(p[i])] += w[i] }
                var precisions = [Double](), recalls = [Double](), f1s = [Double]()
                for c in 0..<k {
                    let tp = confusion[c][c]
                    let predicted = (0..<k).reduce(0) { $0 + confusion[$1][c] }
                    let actual = confusion[c].reduce(0, +)
                    let pr = predicted == 0 ? 0 : tp / predicted
                    let rc = actual == 0 ? 0 : tp / actual
                    precisions.append(pr)
                    recalls.append(rc)
                    f1s.append(pr + rc == 0 ? 0 : 2 * pr * rc / (pr + rc))
                }
                let mean = { (v: [Double]) in v.reduce(0, +) / Double(v.count) }
                expectMetricClose(try Metrics.macroPrecision(labels: y, predictions: p, classCount: k, weights: w),
                                  mean(precisions), "precision seed=\(seed)")
                expectMetricClose(try Metrics.macroRecall(labels: y, predictions: p, classCount: k, weights: w),
                                  mean(recalls), "recall seed=\(seed)")
                expectMetricClose(try Metrics.macroF1Score(labels: y, predictions: p, classCount: k, weights: w),
                                  mean(f1s), "F1 seed=\(seed)")
                // .nan drops the never-predicted class from the precision mean.
                expectMetricClose(try Metrics.macroPrecision(labels: y, predictions: p, classCount: k, weights: w,
                                                       zeroDivision: .nan),
                                  mean(Array(precisions.prefix(k - 1))), "precision nan seed=\(seed)")
            }
        }

        @Test("binary identities: balanced accuracy = (TPR + TNR)/2, F at β = 0, 1, ∞")
        func binaryIdentities() throws {
            for n in Self.sizes {
                for seed in Self.seeds {
                    let (y, s, w) = Self.binaryData(size: n, seed: seed, weighted: true)
                    let p = s.map { $0 >= 2 ? 1.0 : 0.0 }
                    let tpr = try Metrics.recall(labels: y, predictions: p, weights: w)
                    let tnr = try Metrics.recall(labels: y.map { 1 - $0 }, predictions: p.map { 1 - $0 }, weights: w)
                    expectMetricClose(try Metrics.balancedAccuracy(labels: y, predictions: p, weights: w), (tpr + tnr) / 2,
                                      "n=\(n) seed=\(seed)")
                    #expect(try Metrics.fBetaScore(labels: y, predictions: p, beta: 0, weights: w)
                        == Metrics.precision(labels: y, predictions: p, weights: w))
                    #expect(try Metrics.fBetaScore(labels: y, predictions: p, beta: .infinity, weights: w) == tpr)
                    #expect(try Metrics.fBetaScore(labels: y, predictions: p, beta: 1, weights: w)
                        == Metrics.f1Score(labels: y, predictions: p, weights: w))
                    #expect(try Metrics.macroFBetaScore(labels: y, predictions: p, beta: .infinity, weights: w)
                        == Metrics.macroRecall(labels: y, predictions: p, weights: w))
                }
            }
        }

        @Test("zero division: no predicted positives gives 0, 1 or NaN as asked")
        func zeroDivision() throws {
            let y: [Double] = [1, 0, 1], p: [Double] = [0, 0, 0]
            #expect(try Metrics.precision(labels: y, predictions: p) == 0)
            #expect(try Metrics.precision(labels: y, predictions: p, zeroDivision: .one) == 1)
            #expect(try Metrics.precision(labels: y, predictions: p, zeroDivision: .nan).isNaN)
            // F is defined (0) here: TP + FN + FP = 2 > 0 even though precision is 0/0.
            #expect(try Metrics.f1Score(labels: y, predictions: p, zeroDivision: .one) == 0)
            // Nothing positive anywhere: F is 0/0 too.
            #expect(try Metrics.f1Score(labels: [0, 0.0], predictions: [0, 0.0], zeroDivision: .one) == 1)
            #expect(try Metrics.recall(labels: [0, 0.0], predictions: [1, 0.0]) == 0)
        }

        @Test("log-loss clips at the input type's epsilon")
        func logLossClipping() throws {
            let ln2 = log(2.0)
            // p = 0 for a positive and p = 1 for a negative both clip to ε.
            expectMetricClose(try Metrics.logLoss(labels: [1, 0.0], probabilities: [0, 1.0]), 52 * ln2)
            expectMetricClose(try Metrics.logLoss(labels: [1, 0 as Float], probabilities: [0, 1 as Float]), 23 * ln2)
            // A certain, correct prediction costs −log(1 − ε) ≈ ε, not 0.
            expectMetricClose(try Metrics.logLoss(labels: [1.0], probabilities: [1.0]), -log1p(-0x1p-52), rtol: 1e-12, atol: 0)
            expectMetricClose(try Metrics.multiclassLogLoss(labels: [2.0], probabilities: [0.5, 0.5, 0], classCount: 3),
                              52 * ln2)
            // Unclipped values: the textbook formula.
            expectMetricClose(try Metrics.logLoss(labels: [1, 0, 1.0], probabilities: [0.9, 0.2, 0.5], weights: [1, 2, 1.0]),
                              -(log(0.9) + 2 * log(0.8) + log(0.5)) / 4)
        }

        @Test("R² conventions: constant labels, perfect predictions, the mean predictor")
        func r2Conventions() throws {
            // 0.1 is not representable: Σ(y − ȳ)² would be a tiny positive number; the exact
            // constant test gives sklearn's documented convention instead.
            #expect(try Metrics.r2Score(labels: [0.1, 0.1, 0.1], predictions: [0.1, 0.2, 0.1]) == 0)
            #expect(try Metrics.r2Score(labels: [0.1, 0.1, 0.1], predictions: [0.1, 0.1, 0.1]) == 1)
            #expect(try Metrics.r2Score(labels: [1, 5, 1.0], predictions: [2, 9, 1.0], weights: [1, 0, 3]) == 0)
            #expect(try Metrics.r2Score(labels: [1, 2, 3, 6.0], predictions: [3, 3, 3, 3.0]) == 0)
            // Plain loop: 1 − SSE/SST.
            var rng = SeededRandom(seed: 99)
            let y = (0..<30).map { _ in Double.random(in: -3...3, using: &rng) }
            let p = y.map { $0 * 0.9 + Double.random(in: -0.5...0.5, using: &rng) }
            let mean = y.reduce(0, +) / 30
            let sse = zip(y, p).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            let sst = y.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            expectMetricClose(try Metrics.r2Score(labels: y, predictions: p), 1 - sse / sst)
            expectMetricClose(try Metrics.rootMeanSquaredError(labels: y, predictions: p), (sse / 30).squareRoot())
        }
    }
}
