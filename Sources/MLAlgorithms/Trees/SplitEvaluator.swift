/// The regularized gain and weight of XGBoost's `TrainParam` (src/tree/param.h): `lambda`,
/// `alpha`, `max_delta_step`, `min_child_weight`.
public struct SplitRules: Sendable, Equatable {
    public var lambda: Double
    public var alpha: Double
    public var maxDeltaStep: Double
    public var minChildWeight: Double
    public var gamma: Double

    public init(lambda: Double = 1, alpha: Double = 0, maxDeltaStep: Double = 0, minChildWeight: Double = 1, gamma: Double = 0) {
        self.lambda = lambda
        self.alpha = alpha
        self.maxDeltaStep = maxDeltaStep
        self.minChildWeight = minChildWeight
        self.gamma = gamma
    }

    @inline(__always) func thresholdL1(_ g: Double) -> Double {
        g > alpha ? g - alpha : (g < -alpha ? g + alpha : 0)
    }

    /// The optimal weight of a node with sums (G, H).
    @inline(__always) public func weight(_ g: Double, _ h: Double) -> Double {
        if h < minChildWeight || h <= 0 { return 0 }
        var w = -thresholdL1(g) / (h + lambda)
        if maxDeltaStep != 0 && abs(w) > maxDeltaStep { w = maxDeltaStep * (w < 0 ? -1 : 1) }
        return w
    }

    /// The loss reduction a node with sums (G, H) contributes (XGBoost's `CalcGain`).
    @inline(__always) public func gain(_ g: Double, _ h: Double) -> Double {
        if h < minChildWeight || h <= 0 { return 0 }
        if maxDeltaStep == 0 {
            let t = alpha == 0 ? g : thresholdL1(g)
            return t * t / (h + lambda)
        }
        let w = weight(g, h)
        let ret = -(2 * g * w + (h + lambda) * w * w)
        return alpha == 0 ? ret : ret + alpha * abs(w)
    }
}

/// A node's best split: feature, the last bin that goes left, where missing values go, the
/// loss change and each side's exact sums.
struct SplitCandidate: Sendable, Equatable {
    var lossChange: Double = 0
    var feature: Int = -1
    var bin: Int = 0
    var defaultLeft = false
    var leftG: Int64 = 0, leftH: Int64 = 0
    var rightG: Int64 = 0, rightH: Int64 = 0

    var isFound: Bool { feature >= 0 }

    /// XGBoost's `SplitEntry::Update`: a candidate replaces the best when it gains strictly more,
    /// or as much with a lower feature index.
    mutating func consider(_ other: SplitCandidate) {
        guard other.isFound else { return }
        if !isFound || other.lossChange > lossChange || (other.lossChange == lossChange && other.feature < feature) {
            self = other
        }
    }
}

/// A node's weight bounds under monotone constraints (XGBoost's `TreeEvaluator`): every weight
/// of the node's subtree is clamped into them. The root's are Float's whole range.
struct WeightBounds: Sendable, Equatable {
    var lower: Float = -.greatestFiniteMagnitude
    var upper: Float = .greatestFiniteMagnitude

    @inline(__always) func clamp(_ w: Float) -> Float { w < lower ? lower : (w > upper ? upper : w) }
}

extension SplitRules {
    /// The weight XGBoost uses under monotone constraints: the plain weight as a Float, clamped.
    @inline(__always) func weight(_ g: Double, _ h: Double, within bounds: WeightBounds) -> Float {
        bounds.clamp(Float(weight(g, h)))
    }

    /// The loss reduction of a node given its weight, in Float as XGBoost computes it under
    /// monotone constraints: −(2·G·w + (H + λ)·w²).
    @inline(__always) func gain(_ g: Double, _ h: Double, givenWeight w: Float) -> Float {
        guard h > 0 else { return 0 }
        return -(2 * Float(g) * w + (Float(h) + Float(lambda)) * (w * w))
    }
}

/// How a candidate split's loss change is computed; `-infinity` forbids the split.
protocol SplitGain {
    func change(lg: Double, lh: Double, rg: Double, rh: Double) -> Double
}

/// The plain gain: both children's gains less the parent's, in Double.
struct PlainGain: SplitGain {
    let rules: SplitRules
    let parentGain: Double

    @inline(__always) func change(lg: Double, lh: Double, rg: Double, rh: Double) -> Double {
        rules.gain(lg, lh) + rules.gain(rg, rh) - parentGain
    }
}

/// XGBoost's gain under monotone constraints: the children's weights clamped to the node's
/// bounds, the gain given those weights, in Float; a split whose weights go against the
/// feature's direction (1: left ≤ right, −1: left ≥ right) is forbidden.
struct MonotoneGain: SplitGain {
    let rules: SplitRules
    let constraint: Int
    let bounds: WeightBounds
    /// The node's own gain, from when it was created (under its parent's bounds).
    let rootGain: Float

    @inline(__always) func change(lg: Double, lh: Double, rg: Double, rh: Double) -> Double {
        let wl = rules.weight(lg, lh, within: bounds), wr = rules.weight(rg, rh, within: bounds)
        if (constraint > 0 && wl > wr) || (constraint < 0 && wl < wr) { return -.infinity }
        let gain = rules.gain(lg, lh, givenWeight: wl) + rules.gain(rg, rh, givenWeight: wr)
        return Double(gain - rootGain)
    }
}

enum SplitEvaluator {
    /// The best split of one feature of a node: a forward scan (missing values right) and, when
    /// the node has missing values in this feature, a backward scan (missing values left), in
    /// XGBoost's order, keeping a candidate only when it gains strictly more.
    static func best(feature f: Int, histogram: UnsafePointer<Int64>, offset: Int, bins: Int,
                     totalG: Int64, totalH: Int64, quantization q: QuantizedGradients, rules: SplitRules) -> SplitCandidate {
        let parentGain = rules.gain(q.gradient(totalG), q.hessian(totalH))
        return best(feature: f, histogram: histogram, offset: offset, bins: bins, totalG: totalG, totalH: totalH,
                    quantization: q, minChildWeight: rules.minChildWeight, gain: PlainGain(rules: rules, parentGain: parentGain))
    }

    /// The scan with any gain rule (specialized for each, so the plain one pays nothing).
    @inline(__always)
    static func best<Gain: SplitGain>(feature f: Int, histogram: UnsafePointer<Int64>, offset: Int, bins: Int,
                                      totalG: Int64, totalH: Int64, quantization q: QuantizedGradients,
                                      minChildWeight minChild: Double, gain: Gain) -> SplitCandidate {
        var best = SplitCandidate()
        guard bins > 0 else { return best }
        let h = histogram + 2 * offset
        let missingG = h[2 * bins], missingH = h[2 * bins + 1]
        // Forward: bins 0...i left, the rest and missing right.
        var lg: Int64 = 0, lh: Int64 = 0
        for i in 0..<bins {
            lg &+= h[2 * i]; lh &+= h[2 * i + 1]
            let rg = totalG &- lg, rh = totalH &- lh
            let lhd = q.hessian(lh), rhd = q.hessian(rh)
            guard lhd >= minChild && rhd >= minChild else { continue }
            let change = gain.change(lg: q.gradient(lg), lh: lhd, rg: q.gradient(rg), rh: rhd)
            if change > best.lossChange || (!best.isFound && change > -.infinity) {
                best = SplitCandidate(lossChange: change, feature: f, bin: i, defaultLeft: false, leftG: lg, leftH: lh, rightG: rg, rightH: rh)
            }
        }
        // Backward: bins i... right, the lower bins and missing left; i = 0 sends only the
        // missing values left (bin −1: no value bin goes left).
        if missingH != 0 || missingG != 0 {
            var rg: Int64 = 0, rh: Int64 = 0
            for i in stride(from: bins - 1, through: 0, by: -1) {
                rg &+= h[2 * i]; rh &+= h[2 * i + 1]
                let lg = totalG &- rg, lh = totalH &- rh
                let lhd = q.hessian(lh), rhd = q.hessian(rh)
                guard lhd >= minChild && rhd >= minChild else { continue }
                let change = gain.change(lg: q.gradient(lg), lh: lhd, rg: q.gradient(rg), rh: rhd)
                if change > best.lossChange || (!best.isFound && change > -.infinity) {
                    best = SplitCandidate(lossChange: change, feature: f, bin: i - 1, defaultLeft: true, leftG: lg, leftH: lh, rightG: rg, rightH: rh)
                }
            }
        }
        return best
    }

    /// The oracle: every threshold and both missing directions, by brute force over the rows.
    /// `gain` (left G, H, right G, H → loss change, −∞ forbidden) defaults to the plain gain.
    static func bruteForce(_ matrix: BinnedMatrix, rows: [Int], pairs: [Int64], quantization q: QuantizedGradients,
                           rules: SplitRules, features: [Int], gain: ((Double, Double, Double, Double) -> Double)? = nil) -> SplitCandidate {
        var totalG: Int64 = 0, totalH: Int64 = 0
        for r in rows { totalG += pairs[2 * r]; totalH += pairs[2 * r + 1] }
        let parentGain = rules.gain(q.gradient(totalG), q.hessian(totalH))
        let change = gain ?? { lg, lh, rg, rh in rules.gain(lg, lh) + rules.gain(rg, rh) - parentGain }
        var best = SplitCandidate()
        for f in features {
            let count = matrix.cuts.binCount(f)
            var missing = false
            for r in rows where matrix.bin(row: r, feature: f) == count { missing = true }
            // The fast scan's order: thresholds up with missing right, then down with missing left.
            let orders: [(Bool, [Int])] = [(false, Array(0..<count))] + (missing ? [(true, Array((-1..<(count - 1)).reversed()))] : [])
            for (defaultLeft, thresholds) in orders {
                for threshold in thresholds {
                    var lg: Int64 = 0, lh: Int64 = 0
                    for r in rows {
                        let b = matrix.bin(row: r, feature: f)
                        if b == count ? defaultLeft : b <= threshold { lg += pairs[2 * r]; lh += pairs[2 * r + 1] }
                    }
                    let rg = totalG - lg, rh = totalH - lh
                    guard q.hessian(lh) >= rules.minChildWeight, q.hessian(rh) >= rules.minChildWeight else { continue }
                    let change = change(q.gradient(lg), q.hessian(lh), q.gradient(rg), q.hessian(rh))
                    if change > best.lossChange || (!best.isFound && change > -.infinity) {
                        best = SplitCandidate(lossChange: change, feature: f, bin: threshold, defaultLeft: defaultLeft,
                                              leftG: lg, leftH: lh, rightG: rg, rightH: rh)
                    }
                }
            }
        }
        return best
    }
}
