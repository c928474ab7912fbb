import Foundation

/// How the model that is kept, and a binary classifier's decision threshold, are chosen
/// (`binary_classifier_model_selection_criteria`, `f_beta`, `target_recall`, `target_precision`).
///
/// Binary classifiers: every model's threshold is tuned on the calibration rows for the
/// criterion, and the model with the best tuned value is kept (`loss_function`: the lowest
/// objective, threshold left at its default). Multiclass and regression models: the lowest
/// objective. Ties go to the lower model index.
public struct ModelSelection: Sendable, Equatable {
    public enum Criterion: String, Sendable, Equatable, CaseIterable {
        case accuracy
        case fBeta = "f_beta"
        case precisionAtTargetRecall = "precision_at_target_recall"
        case recallAtTargetPrecision = "recall_at_target_precision"
        case lossFunction = "loss_function"

        /// The SDK's older spellings: `f1` is `f_beta` with β = 1, `cross_entropy_loss` is `loss_function`.
        public init(_ word: String) {
            switch word {
            case "f1": self = .fBeta
            case "cross_entropy_loss": self = .lossFunction
            default: self = Criterion(rawValue: word) ?? .accuracy
            }
        }
    }

    public var criterion: Criterion
    public var fBeta: Double
    public var targetRecall: Double
    public var targetPrecision: Double

    public init(criterion: Criterion = .accuracy, fBeta: Double = 1, targetRecall: Double = 0.8, targetPrecision: Double = 0.8) {
        self.criterion = criterion
        self.fBeta = fBeta
        self.targetRecall = targetRecall
        self.targetPrecision = targetPrecision
    }

    /// The criterion's value for a confusion matrix of weights (higher is better), or `nil` when
    /// its target is not met. Not for `loss_function`.
    public func value(truePositive tp: Double, falsePositive fp: Double, falseNegative fn: Double, trueNegative tn: Double) -> Double? {
        let positives = tp + fn
        let precision = tp + fp > 0 ? tp / (tp + fp) : nil
        let recall = positives > 0 ? tp / positives : nil
        switch criterion {
        case .accuracy, .lossFunction:
            let total = tp + fp + fn + tn
            return total > 0 ? (tp + tn) / total : nil
        case .fBeta:
            let b2 = fBeta * fBeta, denominator = (1 + b2) * tp + b2 * fn + fp
            return denominator > 0 ? (1 + b2) * tp / denominator : 0
        case .precisionAtTargetRecall:
            guard let recall, recall >= targetRecall else { return nil }
            return precision ?? 0
        case .recallAtTargetPrecision:
            guard let precision, precision >= targetPrecision else { return nil }
            return recall ?? 0
        }
    }

    public struct Threshold: Sendable, Equatable {
        /// Rows with `score > threshold` are predicted positive.
        public var threshold: Float
        /// The criterion's value there (0 when no threshold meets the target).
        public var value: Double
    }

    /// The threshold on `scores` (probabilities or raw scores) that maximizes the criterion on
    /// these labels (0/1) and weights: every cut between two distinct scores is tried, in one
    /// pass over the rows sorted by score. Of a run of cuts with the same best value the middle
    /// (the higher of two middles) is taken, so the threshold sits inside the best range rather than at its edge. `fallback` is
    /// kept when no cut meets the target.
    public func tuneThreshold(scores: [Float], labels: [Float], weights: [Float]?, fallback: Float) -> Threshold {
        let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        var positives = 0.0, negatives = 0.0
        for i in scores.indices {
            let w = Double(weights?[i] ?? 1)
            if labels[i] == 1 { positives += w } else { negatives += w }
        }
        // Cut 0 predicts nothing positive; cut g predicts the g highest distinct scores positive.
        var cuts: [Float] = []
        var values: [Double?] = []
        var tp = 0.0, fp = 0.0
        func record(_ threshold: Float) {
            cuts.append(threshold)
            values.append(value(truePositive: tp, falsePositive: fp, falseNegative: positives - tp, trueNegative: negatives - fp))
        }
        if let top = order.first { record(scores[top]) }
        var k = 0
        while k < order.count {
            let v = scores[order[k]]
            while k < order.count, scores[order[k]] == v {
                let w = Double(weights?[order[k]] ?? 1)
                if labels[order[k]] == 1 { tp += w } else { fp += w }
                k += 1
            }
            if k < order.count {
                let next = scores[order[k]], mid = next + (v - next) / 2
                record(mid > next && mid < v ? mid : next)
            } else {
                record(v - max(1, abs(v)))
            }
        }
        var best: (first: Int, last: Int, value: Double)?
        for (c, v) in values.enumerated() {
            guard let v else { continue }
            if best == nil || v > best!.value { // invariant: the buffer or result is non-empty / present by construction
                best = (c, c, v)
            } else if v == best!.value, best!.last == c - 1 { // invariant: the buffer or result is non-empty / present by construction
                best!.last = c // invariant: the buffer or result is non-empty / present by construction
            }
        }
        guard let best else { return Threshold(threshold: fallback, value: 0) }
        return Threshold(threshold: cuts[(best.first + best.last) / 2], value: best.value)
    }
}
