import Foundation

/// A labels-outside-the-domain or shape problem the trees refuse before training.
public struct TreeDataError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// XGBoost's objectives (reference §4.4): the gradient and hessian of the loss with respect to
/// the margin, the transform from margin to prediction, the label domain and the initial score.
///
/// Formulas follow XGBoost's `src/objective/regression_loss.h`, `regression_obj.cu`,
/// `multiclass_obj.cu` and `hinge.cu`, including their constants (the softmax hessian's factor
/// 2, the hessian floor 1e-16, Poisson's `max_delta_step` 0.7 inside the hessian).
public enum TreeObjective: Sendable, Equatable, Hashable {
    case squaredError
    case squaredLogError
    case logisticRegression
    case pseudoHuber
    case absoluteError
    case gamma
    case tweedie(variancePower: Double)
    case poisson
    case binaryLogistic
    case binaryLogitRaw
    case binaryHinge
    case multiSoftmax
    case multiSoftprob

    /// Every objective name the SageMaker container validates (rank and survival included, so
    /// that they are refused with a reason rather than as unknown words).
    public static let containerNames = [
        "binary:logistic", "binary:logitraw", "binary:hinge", "count:poisson", "multi:softmax", "multi:softprob",
        "rank:pairwise", "rank:ndcg", "rank:map", "reg:linear", "reg:squarederror", "reg:logistic", "reg:gamma",
        "reg:pseudohubererror", "reg:squaredlogerror", "reg:absoluteerror", "reg:tweedie", "survival:aft", "survival:cox",
    ]

    /// The objective of an XGBoost name (`reg:linear` is `reg:squarederror`'s old name); `nil`
    /// for rank, survival and unknown names.
    public init?(name: String) {
        switch name {
        case "reg:squarederror", "reg:linear": self = .squaredError
        case "reg:squaredlogerror": self = .squaredLogError
        case "reg:logistic": self = .logisticRegression
        case "reg:pseudohubererror": self = .pseudoHuber
        case "reg:absoluteerror": self = .absoluteError
        case "reg:gamma": self = .gamma
        case "reg:tweedie": self = .tweedie(variancePower: 1.5)
        case "count:poisson": self = .poisson
        case "binary:logistic": self = .binaryLogistic
        case "binary:logitraw": self = .binaryLogitRaw
        case "binary:hinge": self = .binaryHinge
        case "multi:softmax": self = .multiSoftmax
        case "multi:softprob": self = .multiSoftprob
        default: return nil
        }
    }

    /// XGBoost's name, as written in its model files.
    public var name: String {
        switch self {
        case .squaredError: "reg:squarederror"
        case .squaredLogError: "reg:squaredlogerror"
        case .logisticRegression: "reg:logistic"
        case .pseudoHuber: "reg:pseudohubererror"
        case .absoluteError: "reg:absoluteerror"
        case .gamma: "reg:gamma"
        case .tweedie: "reg:tweedie"
        case .poisson: "count:poisson"
        case .binaryLogistic: "binary:logistic"
        case .binaryLogitRaw: "binary:logitraw"
        case .binaryHinge: "binary:hinge"
        case .multiSoftmax: "multi:softmax"
        case .multiSoftprob: "multi:softprob"
        }
    }

    public var isMulticlass: Bool { self == .multiSoftmax || self == .multiSoftprob }
    public var isBinary: Bool { self == .binaryLogistic || self == .binaryLogitRaw || self == .binaryHinge }
    /// Objectives whose margin is a log (their base score is a mean, transformed by log).
    var usesLogLink: Bool {
        switch self {
        case .gamma, .tweedie, .poisson: true
        default: false
        }
    }

    /// The metric XGBoost prints when `eval_metric` is not given.
    public var defaultMetric: TreeMetric {
        switch self {
        case .squaredError: .rmse
        case .squaredLogError: .rmsle
        case .logisticRegression: .rmse
        case .pseudoHuber: .mphe
        case .absoluteError: .mae
        case .gamma: .gammaNLogLik
        case .tweedie(let rho): .tweedieNLogLik(rho)
        case .poisson: .poissonNLogLik
        case .binaryLogistic: .logloss
        case .binaryLogitRaw: .auc
        case .binaryHinge: .error(threshold: 0.5)
        case .multiSoftmax, .multiSoftprob: .mlogloss
        }
    }

    /// A label the objective cannot learn from (named with its row), or `nil` when all are valid.
    public func checkLabels(_ labels: UnsafeBufferPointer<Float>, numClass: Int) -> TreeDataError? {
        for (i, y) in labels.enumerated() {
            let ok: Bool
            let rule: String
            switch self {
            case .binaryLogistic, .binaryLogitRaw, .binaryHinge:
                ok = y == 0 || y == 1; rule = "0 or 1 for \(name)"
            case .logisticRegression:
                ok = y >= 0 && y <= 1; rule = "in [0, 1] for reg:logistic"
            case .poisson:
                ok = y >= 0 && y.isFinite; rule = "≥ 0 for count:poisson"
            case .tweedie:
                ok = y >= 0 && y.isFinite; rule = "≥ 0 for reg:tweedie"
            case .gamma:
                ok = y > 0 && y.isFinite; rule = "> 0 for reg:gamma"
            case .squaredLogError:
                ok = y > -1 && y.isFinite; rule = "> −1 for reg:squaredlogerror"
            case .multiSoftmax, .multiSoftprob:
                ok = y >= 0 && y < Float(numClass) && y == y.rounded(); rule = "a whole number in [0, \(numClass - 1)] (num_class = \(numClass))"
            case .squaredError, .pseudoHuber, .absoluteError:
                ok = y.isFinite; rule = "a finite number"
            }
            if !ok { return TreeDataError("label \(y) of row \(i + 1) is invalid: labels must be \(rule)") }
        }
        return nil
    }

    /// The margin of a base score given in the prediction space (XGBoost's `ProbToMargin`).
    public func margin(ofBaseScore p: Double) -> Double {
        switch self {
        case .binaryLogistic, .logisticRegression:
            let q = min(max(p, 1e-16), 1 - 1e-16)
            return log(q / (1 - q))
        case .gamma, .tweedie, .poisson:
            return log(max(p, 1e-16))
        default:
            return p
        }
    }

    /// The prediction of a margin (XGBoost's `PredTransform` for one output).
    @inline(__always)
    public func transform(_ margin: Float) -> Float {
        switch self {
        case .binaryLogistic, .logisticRegression: 1 / (1 + exp(-margin))
        case .gamma, .tweedie, .poisson: exp(margin)
        case .binaryHinge: margin > 0 ? 1 : 0
        default: margin
        }
    }

    /// Gradient and hessian of one row's loss at `margin` (single-output objectives), both
    /// multiplied by the row's weight. `maxDeltaStep` is Poisson's own (0.7 unless set).
    @inline(__always)
    func gradient(margin: Float, label: Float, weight: Float, huberSlope: Float, poissonMaxDeltaStep: Float) -> (Float, Float) {
        let m = margin, y = label
        switch self {
        case .squaredError:
            return ((m - y) * weight, weight)
        case .squaredLogError:
            let p = max(m, -1 + 1e-6)
            let g = (log1p(p) - log1p(y)) / (p + 1)
            let h = max((-log1p(p) + log1p(y) + 1) / ((p + 1) * (p + 1)), 1e-6)
            return (g * weight, h * weight)
        case .logisticRegression, .binaryLogistic, .binaryLogitRaw:
            let p = 1 / (1 + exp(-m))
            return ((p - y) * weight, max(p * (1 - p), 1e-16) * weight)
        case .pseudoHuber:
            let z = m - y
            let slope2 = huberSlope * huberSlope
            let scaleSqrt = (1 + z * z / slope2).squareRoot()
            return (z / scaleSqrt * weight, slope2 / ((slope2 + z * z) * scaleSqrt) * weight)
        case .absoluteError:
            let d = m - y
            return ((d > 0 ? 1 : d < 0 ? -1 : 0) * weight, weight)
        case .gamma:
            let e = exp(-m)
            return ((1 - y * e) * weight, y * e * weight)
        case .tweedie(let rho):
            let r = Float(rho)
            let a = exp((1 - r) * m), b = exp((2 - r) * m)
            return ((-y * a + b) * weight, (-y * (1 - r) * a + (2 - r) * b) * weight)
        case .poisson:
            return ((exp(m) - y) * weight, exp(m + poissonMaxDeltaStep) * weight)
        case .binaryHinge:
            let s: Float = y > 0.5 ? 1 : -1
            return m * s < 1 ? (-s * weight, weight) : (0, Float.leastNormalMagnitude * weight)
        case .multiSoftmax, .multiSoftprob:
            // invariant: multiclass gradients go through multiclassGradients
            preconditionFailure("multiclass objectives take every class's margin at once")
        }
    }

    /// Softmax gradients of one row: `margins` and `out` hold `classes` values each; `out` gets
    /// (gradient, hessian) pairs.
    @inline(__always)
    static func multiclassGradients(margins: UnsafePointer<Float>, classes: Int, label: Int, weight: Float,
                                    gradients: UnsafeMutablePointer<Float>, hessians: UnsafeMutablePointer<Float>) {
        var top = -Float.infinity
        for k in 0..<classes { top = max(top, margins[k]) }
        var sum: Float = 0
        for k in 0..<classes { sum += exp(margins[k] - top) }
        for k in 0..<classes {
            let p = exp(margins[k] - top) / sum
            gradients[k] = (k == label ? p - 1 : p) * weight
            hessians[k] = max(2 * p * (1 - p), 1e-16) * weight
        }
    }
}
