import Foundation
import MLCore

/// The evaluation metrics of SageMaker XGBoost (reference §4.4): XGBoost's own, with its
/// definitions (src/metric/elementwise_metric.cu, multiclass_metric.cu, auc.cc), and the ones the
/// container computes itself with scikit-learn.
///
/// Every metric takes predictions in the prediction space (probabilities for logistic objectives,
/// class-probability rows for multi:softprob, class indices for multi:softmax), labels and
/// optional weights.
public enum TreeMetric: Sendable, Equatable, Hashable {
    case rmse, rmsle, mae, mape, mphe, logloss
    /// `error` (threshold 0.5) or `error@t`.
    case error(threshold: Double)
    case merror, mlogloss, auc, aucpr
    case poissonNLogLik, gammaNLogLik, gammaDeviance
    case tweedieNLogLik(Double)
    // Computed by the container with scikit-learn.
    case accuracy, balancedAccuracy, f1, f1Binary, f1Macro, mse, r2
    case precision, precisionMacro, precisionMicro, recall, recallMacro, recallMicro

    /// The names `eval_metric` takes (for messages and the docs).
    public static let documentedNames = [
        "rmse", "rmsle", "mae", "mape", "mphe", "logloss", "error", "error@t", "merror", "mlogloss", "auc", "aucpr",
        "poisson-nloglik", "gamma-nloglik", "gamma-deviance", "tweedie-nloglik", "accuracy", "balanced_accuracy", "f1",
        "f1_binary", "f1_macro", "mse", "r2", "precision", "precision_macro", "precision_micro", "recall", "recall_macro",
        "recall_micro",
    ]

    public init?(name: String) {
        switch name {
        case "rmse": self = .rmse
        case "rmsle": self = .rmsle
        case "mae": self = .mae
        case "mape": self = .mape
        case "mphe": self = .mphe
        case "logloss": self = .logloss
        case "error": self = .error(threshold: 0.5)
        case "merror": self = .merror
        case "mlogloss": self = .mlogloss
        case "auc": self = .auc
        case "aucpr": self = .aucpr
        case "poisson-nloglik": self = .poissonNLogLik
        case "gamma-nloglik": self = .gammaNLogLik
        case "gamma-deviance": self = .gammaDeviance
        case "tweedie-nloglik": self = .tweedieNLogLik(1.5)
        case "accuracy": self = .accuracy
        case "balanced_accuracy": self = .balancedAccuracy
        case "f1": self = .f1
        case "f1_binary": self = .f1Binary
        case "f1_macro": self = .f1Macro
        case "mse": self = .mse
        case "r2": self = .r2
        case "precision": self = .precision
        case "precision_macro": self = .precisionMacro
        case "precision_micro": self = .precisionMicro
        case "recall": self = .recall
        case "recall_macro": self = .recallMacro
        case "recall_micro": self = .recallMicro
        default:
            if name.hasPrefix("error@"), let t = Double(name.dropFirst(6)), t.isFinite {
                self = .error(threshold: t)
            } else if name.hasPrefix("tweedie-nloglik@"), let rho = Double(name.dropFirst(16)), rho > 1, rho < 2 {
                self = .tweedieNLogLik(rho)
            } else {
                return nil
            }
        }
    }

    /// The name as XGBoost prints it in the per-round line (`error@0.7`, `tweedie-nloglik@1.5`).
    public var name: String {
        switch self {
        case .rmse: "rmse"
        case .rmsle: "rmsle"
        case .mae: "mae"
        case .mape: "mape"
        case .mphe: "mphe"
        case .logloss: "logloss"
        case .error(let t): t == 0.5 ? "error" : "error@\(Self.format(t))"
        case .merror: "merror"
        case .mlogloss: "mlogloss"
        case .auc: "auc"
        case .aucpr: "aucpr"
        case .poissonNLogLik: "poisson-nloglik"
        case .gammaNLogLik: "gamma-nloglik"
        case .gammaDeviance: "gamma-deviance"
        case .tweedieNLogLik(let rho): "tweedie-nloglik@\(Self.format(rho))"
        case .accuracy: "accuracy"
        case .balancedAccuracy: "balanced_accuracy"
        case .f1: "f1"
        case .f1Binary: "f1_binary"
        case .f1Macro: "f1_macro"
        case .mse: "mse"
        case .r2: "r2"
        case .precision: "precision"
        case .precisionMacro: "precision_macro"
        case .precisionMicro: "precision_micro"
        case .recall: "recall"
        case .recallMacro: "recall_macro"
        case .recallMicro: "recall_micro"
        }
    }

    static func format(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e9 ? String(Int(x)) : String(x)
    }

    /// Whether larger is better (early stopping's direction; the container's MetricDefinitions).
    public var maximize: Bool {
        switch self {
        case .auc, .aucpr, .accuracy, .balancedAccuracy, .f1, .f1Binary, .f1Macro, .r2,
             .precision, .precisionMacro, .precisionMicro, .recall, .recallMacro, .recallMicro: true
        default: false
        }
    }

    /// Whether the SageMaker container computes it (with scikit-learn, on raw margins, unweighted).
    public var isContainerMetric: Bool {
        switch self {
        case .accuracy, .balancedAccuracy, .f1, .f1Binary, .f1Macro, .mse, .r2, .precision, .precisionMacro, .precisionMicro,
             .recall, .recallMacro, .recallMicro: true
        default: false
        }
    }

    /// The metric of `predictions` (rows × `outputs`, row-major) against `labels`. The
    /// container's metrics read `margins` (rows × `marginWidth`) instead, as the container's
    /// `feval` receives raw margins: a class is the argmax of a margin row, or margin > 0 for
    /// one output; `mse` and `r2` compare the margin itself; weights are not used.
    public func evaluate(predictions: [Float], outputs: Int, margins: [Float]? = nil, marginWidth: Int? = nil,
                         labels: [Float], weights given: [Float]?, huberSlope: Double = 1) -> Double {
        if isContainerMetric {
            return containerScore(margins: margins ?? predictions, width: marginWidth ?? outputs, labels: labels)
        }
        return evaluateWeighted(predictions: predictions, outputs: outputs, labels: labels, weights: given, huberSlope: huberSlope)
    }

    func evaluateWeighted(predictions: [Float], outputs: Int, labels: [Float], weights: [Float]?, huberSlope: Double = 1) -> Double {
        let n = labels.count
        let w: (Int) -> Double = { i in weights.map { Double($0[i]) } ?? 1 }
        var weightSum = 0.0
        for i in 0..<n { weightSum += w(i) }
        func mean(_ loss: (Double, Double) -> Double) -> Double {
            var s = 0.0
            for i in 0..<n { s += w(i) * loss(Double(labels[i]), Double(predictions[i])) }
            return weightSum > 0 ? s / weightSum : .nan
        }
        switch self {
        case .rmse: return mean { y, p in (y - p) * (y - p) }.squareRoot()
        case .rmsle: return mean { y, p in let d = log1p(p) - log1p(y); return d * d }.squareRoot()
        case .mae: return mean { y, p in abs(y - p) }
        case .mape: return mean { y, p in abs((y - p) / y) }
        case .mphe:
            let slope = huberSlope
            return mean { y, p in let z = (p - y) / slope; return slope * slope * ((1 + z * z).squareRoot() - 1) }
        case .logloss:
            return mean { y, p in
                let q = min(max(p, 1e-16), 1 - 1e-16)
                return -(y * log(q) + (1 - y) * log(1 - q))
            }
        case .error(let t): return mean { y, p in p > t ? 1 - y : y }
        case .poissonNLogLik:
            return mean { y, p in let q = max(p, 1e-16); return lgamma(y + 1) + q - log(q) * y }
        case .gammaNLogLik:
            return mean { y, p in y / p + log(p) }
        case .gammaDeviance:
            let s = mean { y, p in
                let q = p + 1e-6, z = y + 1e-6
                let t = z / q
                return t - log(t) - 1
            }
            return 2 * s
        case .tweedieNLogLik(let rho):
            return mean { y, p in
                let a = y * exp((1 - rho) * log(p)) / (1 - rho)
                let b = exp((2 - rho) * log(p)) / (2 - rho)
                return -a + b
            }
        case .merror, .mlogloss:
            var s = 0.0
            for i in 0..<n {
                let y = Int(labels[i])
                if outputs == 1 {
                    // multi:softmax predictions are class indices.
                    s += w(i) * (self == .merror ? (Int(predictions[i]) != y ? 1 : 0) : .nan)
                    continue
                }
                let row = predictions[(i * outputs)..<((i + 1) * outputs)]
                if self == .merror {
                    s += w(i) * (Self.argmax(row) != y ? 1 : 0)
                } else {
                    s += w(i) * -log(max(Double(row[row.startIndex + y]), 1e-16))
                }
            }
            return weightSum > 0 ? s / weightSum : .nan
        case .auc, .aucpr:
            return Self.binaryArea(predictions: predictions, labels: labels, weights: weights, roc: self == .auc)
        case .accuracy, .balancedAccuracy, .f1, .f1Binary, .f1Macro, .mse, .r2, .precision, .precisionMacro, .precisionMicro,
             .recall, .recallMacro, .recallMicro:
            return .nan // invariant: evaluate(…) sends the container's metrics to containerScore
        }
    }

    /// The index of the largest value (the first of equal ones) relative to the slice start.
    public static func argmax(_ row: ArraySlice<Float>) -> Int {
        var best = row.startIndex
        for k in row.indices where row[k] > row[best] { best = k }
        return best - row.startIndex
    }

    /// The container's scikit-learn metrics, through MLCore's scikit-learn-equivalent ones:
    /// unweighted, on raw margins — `mse`/`r2` compare the margin itself; the others compare
    /// classes (a margin row's argmax, or margin > 0 for one output). A metric scikit-learn
    /// would refuse (e.g. binary precision on multiclass labels) is NaN.
    func containerScore(margins: [Float], width: Int, labels: [Float]) -> Double {
        do throws(MetricError) {
            if self == .mse || self == .r2 {
                return self == .mse ? try Metrics.meanSquaredError(labels: labels, predictions: margins)
                    : try Metrics.r2Score(labels: labels, predictions: margins)
            }
            let classes: [Float] = width > 1
                ? (0..<(margins.count / width)).map { Float(Self.argmax(margins[($0 * width)..<(($0 + 1) * width)])) }
                : margins.map { $0 > 0 ? 1 : 0 }
            switch self {
            // Micro-averaged precision and recall of single-label classes are the accuracy.
            case .accuracy, .precisionMicro, .recallMicro: return try Metrics.accuracy(labels: labels, predictions: classes)
            case .balancedAccuracy: return try Metrics.balancedAccuracy(labels: labels, predictions: classes)
            // The container's `f1` is f1_score(average='macro'), for two classes too.
            case .f1, .f1Macro: return try Metrics.macroF1Score(labels: labels, predictions: classes)
            case .precisionMacro: return try Metrics.macroPrecision(labels: labels, predictions: classes)
            case .recallMacro: return try Metrics.macroRecall(labels: labels, predictions: classes)
            case .f1Binary: return try Metrics.f1Score(labels: labels, predictions: classes)
            case .precision: return try Metrics.precision(labels: labels, predictions: classes)
            case .recall: return try Metrics.recall(labels: labels, predictions: classes)
            default: return .nan
            }
        } catch {
            return .nan
        }
    }

    /// XGBoost's binary ROC AUC (trapezoids between distinct scores, normalised by the positive
    /// and negative weight totals) or PR AUC (its interpolated precision–recall area).
    static func binaryArea(predictions: [Float], labels: [Float], weights: [Float]?, roc: Bool) -> Double {
        let order = predictions.indices.sorted { a, b in
            predictions[a] != predictions[b] ? predictions[a] > predictions[b] : a < b
        }
        var totalPos = 0.0, totalNeg = 0.0
        for i in labels.indices {
            let w = weights.map { Double($0[i]) } ?? 1
            totalPos += w * Double(labels[i])
            totalNeg += w * (1 - Double(labels[i]))
        }
        guard totalPos > 0, totalNeg > 0 else { return .nan }
        func delta(_ fpPrev: Double, _ fp: Double, _ tpPrev: Double, _ tp: Double) -> Double {
            if roc { return abs(fpPrev - fp) * (tpPrev + tp) * 0.5 }
            let prPrev = tpPrev / totalPos, pr = tp / totalPos
            var a = 1.0, b = 0.0
            if tp != tpPrev {
                let h = (fp - fpPrev) / (tp - tpPrev)
                a = h + 1
                b = (fpPrev - h * tpPrev) / totalPos
            }
            if b != 0 { return (pr - prPrev - b / a * (log(a * pr + b) - log(a * prPrev + b))) / a }
            return (pr - prPrev) / a
        }
        var tp = 0.0, fp = 0.0, tpPrev = 0.0, fpPrev = 0.0, area = 0.0
        for (k, i) in order.enumerated() {
            if k > 0 && predictions[i] != predictions[order[k - 1]] {
                area += delta(fpPrev, fp, tpPrev, tp)
                tpPrev = tp
                fpPrev = fp
            }
            let w = weights.map { Double($0[i]) } ?? 1
            tp += w * Double(labels[i])
            fp += w * (1 - Double(labels[i]))
        }
        area += delta(fpPrev, fp, tpPrev, tp)
        return roc ? area / (fp * tp) : area
    }
}
