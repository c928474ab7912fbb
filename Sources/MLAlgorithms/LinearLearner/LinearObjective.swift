import Foundation
import MLCore

/// σ(z) = 1/(1 + e^{−z}), evaluated so that neither branch overflows.
@inline(__always)
func sigmoid(_ z: Double) -> Double {
    z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
}

/// The loss a linear model minimizes (`loss`), per example with score `s = x·W + b`, label `y`
/// and residual `r = s − y`:
///
/// | objective | `loss` | labels | ℓ | ∂ℓ/∂s |
/// | --- | --- | --- | --- | --- |
/// | `logistic` | `logistic` | 0/1 | `log(1 + eˢ) − y·s` | `σ(s) − y` |
/// | `hinge` | `hinge_loss` | 0/1 (as ±1) | `max(0, margin − ŷ·s)`, `ŷ = 2y − 1` | `−ŷ` inside the margin, else 0 |
/// | `softmax` | `softmax_loss` | 0…K−1 | `log Σⱼ e^{sⱼ} − s_y` | `softmax(s)ⱼ − [j = y]` |
/// | `squared` | `squared_loss` | real | `r²/2` | `r` |
/// | `absolute` | `absolute_loss` | real | `|r|` | `sign(r)` |
/// | `epsilonInsensitiveSquared` | `eps_insensitive_squared_loss` | real | `max(0, |r| − ε)²/2` | `sign(r)·max(0, |r| − ε)` |
/// | `epsilonInsensitiveAbsolute` | `eps_insensitive_absolute_loss` | real | `max(0, |r| − ε)` | `sign(r)` outside ε, else 0 |
/// | `quantile` | `quantile_loss` | real | `max(τ·(y − s), (τ − 1)·(y − s))` | `−τ` below the label, `1 − τ` above, 0 on it |
/// | `huber` | `huber_loss` | real | `r²/2` for `|r| ≤ δ`, else `δ·(|r| − δ/2)` | `clamp(r, −δ, δ)` |
///
/// Both log-losses are computed in their numerically stable forms (`max(s, 0) + log1p(e^{−|s|})`,
/// log-sum-exp shifted by the maximum), so no score overflows. At a kink (the hinge, |r| = 0
/// or ε, the quantile's label) the subgradient taken is the one in the table.
public enum LinearObjective: Sendable, Equatable, Hashable {
    case logistic
    case hinge(margin: Double)
    case softmax(classes: Int)
    case squared
    case absolute
    case epsilonInsensitiveSquared(epsilon: Double)
    case epsilonInsensitiveAbsolute(epsilon: Double)
    case quantile(Double)
    case huber(delta: Double)

    /// Score columns per model: 1, or the class count.
    public var outputs: Int {
        if case .softmax(let k) = self { return k }
        return 1
    }

    /// SageMaker's `loss` value.
    public var lossName: String {
        switch self {
        case .logistic: "logistic"
        case .hinge: "hinge_loss"
        case .softmax: "softmax_loss"
        case .squared: "squared_loss"
        case .absolute: "absolute_loss"
        case .epsilonInsensitiveSquared: "eps_insensitive_squared_loss"
        case .epsilonInsensitiveAbsolute: "eps_insensitive_absolute_loss"
        case .quantile: "quantile_loss"
        case .huber: "huber_loss"
        }
    }

    /// The name of the `<channel> <name> <loss>=` metric line of the objective (SageMaker's
    /// regexes match any `\S+_objective`).
    public var metricName: String {
        switch self {
        case .logistic: "binary_classification_cross_entropy_objective"
        case .softmax: "multiclass_cross_entropy_objective"
        case .squared: "mse_objective"
        default: lossName + "_objective"
        }
    }

    /// Whether the labels are classes (0/1 or 0…K−1) rather than real numbers.
    public var isClassification: Bool {
        switch self {
        case .logistic, .hinge, .softmax: true
        default: false
        }
    }

    /// Whether a classifier's `score` is a probability (σ(s) or the softmax) rather than the
    /// raw score (hinge: SageMaker says its score "is not a probability").
    public var scoresAreProbabilities: Bool {
        switch self {
        case .logistic, .softmax: true
        default: false
        }
    }

    /// The reported objective is `reportScale × ℓ`: 2 for the squared losses, so the regression
    /// objective is the mean squared error SageMaker names `mse`; 1 for the others.
    public var reportScale: Double {
        switch self {
        case .squared, .epsilonInsensitiveSquared: 2
        default: 1
        }
    }

    /// The loss as training sees it when labels are standardized by `labelScale` (σ_y): ε and δ
    /// are in label units, so they shrink by σ_y with the labels. The quantile and the hinge's
    /// margin (classification never scales labels) are unchanged.
    public func inScaledLabelSpace(_ labelScale: Double) -> LinearObjective {
        switch self {
        case .epsilonInsensitiveSquared(let e): .epsilonInsensitiveSquared(epsilon: e / labelScale)
        case .epsilonInsensitiveAbsolute(let e): .epsilonInsensitiveAbsolute(epsilon: e / labelScale)
        case .huber(let d): .huber(delta: d / labelScale)
        default: self
        }
    }

    /// The power of σ_y by which a loss computed in standardized label space is multiplied to
    /// be in label units: 2 for the squared-type losses (huber included: its δ scales too), 1
    /// for the absolute-type ones.
    public var labelUnitPower: Double {
        switch self {
        case .squared, .epsilonInsensitiveSquared, .huber: 2
        default: 1
        }
    }

    /// ℓ and ∂ℓ/∂s of one example of a one-output objective (not softmax).
    @inline(__always)
    public func lossAndSlope(score s: Double, label y: Double) -> (loss: Double, slope: Double) {
        switch self {
        case .logistic:
            let e = exp(-abs(s))
            return (max(s, 0) - y * s + log1p(e), (s >= 0 ? 1 / (1 + e) : e / (1 + e)) - y)
        case .hinge(let margin):
            let sign = 2 * y - 1, slack = margin - sign * s
            return slack > 0 ? (slack, -sign) : (0, 0)
        case .squared:
            let r = s - y
            return (r * r / 2, r)
        case .absolute:
            let r = s - y
            return (abs(r), r > 0 ? 1 : (r < 0 ? -1 : 0))
        case .epsilonInsensitiveSquared(let epsilon):
            let r = s - y, excess = abs(r) - epsilon
            return excess > 0 ? (excess * excess / 2, r > 0 ? excess : -excess) : (0, 0)
        case .epsilonInsensitiveAbsolute(let epsilon):
            let r = s - y, excess = abs(r) - epsilon
            return excess > 0 ? (excess, r > 0 ? 1 : -1) : (0, 0)
        case .quantile(let tau):
            let u = y - s
            return u > 0 ? (tau * u, -tau) : (u < 0 ? ((tau - 1) * u, 1 - tau) : (0, 0))
        case .huber(let delta):
            let r = s - y
            return abs(r) <= delta ? (r * r / 2, r) : (delta * (abs(r) - delta / 2), r > 0 ? delta : -delta)
        case .softmax:
            fatalError("lossAndSlope is for one-output objectives")  // invariant: callers route softmax through its own K-column branch
        }
    }

    /// ℓ of one example from its scores (`scores.count == outputs`), for evaluation.
    public func loss(scores: UnsafeBufferPointer<Float>, label y: Double) -> Double {
        if case .softmax = self {
            var m = -Double.infinity
            for v in scores { m = max(m, Double(v)) }
            var total = 0.0
            for v in scores { total += exp(Double(v) - m) }
            return m + log(total) - Double(scores[Int(y)])
        }
        return lossAndSlope(score: Double(scores[0]), label: y).loss
    }

    /// A label that this objective cannot take.
    public struct LabelError: Error, Equatable, Sendable, CustomStringConvertible {
        public let row: Int
        public let label: Double
        public let rule: String
        public var description: String { "row \(row): label \(label) is invalid: \(rule)" }
    }

    /// The rule `y` breaks, or `nil`.
    @inline(__always)
    func labelProblem(_ y: Double) -> String? {
        switch self {
        case .logistic, .hinge: return y == 0 || y == 1 ? nil : "binary labels are 0 or 1"
        case .softmax(let classes):
            return y >= 0 && y < Double(classes) && y == y.rounded() ? nil : "multiclass labels are 0 … \(classes - 1)"
        default: return y.isFinite ? nil : "regression labels are finite"
        }
    }
}
