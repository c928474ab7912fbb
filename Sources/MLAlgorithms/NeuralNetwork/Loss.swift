import Foundation

/// The training objective on the network's output, averaged over the mini-batch as PyTorch's
/// `reduction="mean"` does.
public enum Loss: Sendable, Codable, Hashable {
    /// Softmax and cross-entropy fused on logits (PyTorch's `CrossEntropyLoss`), computed with
    /// the log-sum-exp shift so no logit overflows. Targets: one class index per row. With label
    /// smoothing ε the target is `(1 − ε)·onehot + ε/K`.
    case softmaxCrossEntropy(labelSmoothing: Float)
    /// Sigmoid and binary cross-entropy fused on logits (`BCEWithLogitsLoss`), stable for any
    /// logit: `max(z, 0) − z·t + log(1 + e^−|z|)`. Targets: one 0…1 value per output.
    case binaryCrossEntropyWithLogits
    /// `BCEWithLogitsLoss(pos_weight=w)`: each output's positive term weighted by `w[k]`,
    /// `w·t·softplus(−z) + (1 − t)·softplus(z)` — multi-label training with classes weighted by
    /// how rare their positives are.
    case weightedBinaryCrossEntropyWithLogits(positiveWeights: [Float])
    /// Binary cross-entropy on probabilities (`BCELoss`), logs clamped at −100 as PyTorch does.
    case binaryCrossEntropy
    /// Mean squared error (`MSELoss`). Targets: one value per output.
    case meanSquaredError

    /// Softmax cross-entropy without label smoothing.
    public static var crossEntropy: Loss { .softmaxCrossEntropy(labelSmoothing: 0) }

    /// Target values per row for a network with `outputs` outputs.
    public func targetWidth(outputs: Int) -> Int {
        if case .softmaxCrossEntropy = self { return 1 }
        return outputs
    }

    /// Whether the targets are class indices (and accuracy is meaningful).
    public var isClassification: Bool {
        if case .softmaxCrossEntropy = self { return true }
        return false
    }

    /// Whether the outputs are independent labels on logits (multi-label classification): the
    /// accuracy counts each (row, label) decision at probability 0.5.
    public var isMultiLabel: Bool {
        switch self {
        case .binaryCrossEntropyWithLogits, .weightedBinaryCrossEntropyWithLogits: true
        default: false
        }
    }

    /// Checks the settings and that every target fits (class indices in `0..<outputs`, binary
    /// targets in [0, 1], finite values), naming the first bad row.
    public func validate(targets: [Float], outputs: Int) throws(NetworkError) {
        switch self {
        case .softmaxCrossEntropy(let eps):
            guard eps >= 0, eps <= 1 else {
                throw .invalidSetting(name: "label_smoothing", value: "\(eps)", rule: "must be in [0, 1]")
            }
            for (i, t) in targets.enumerated() where !(t >= 0 && t < Float(outputs) && t.rounded() == t) {
                throw .invalidInput(reason: "row \(i): label \(t) is not a class index in 0..<\(outputs)")
            }
        case .weightedBinaryCrossEntropyWithLogits(let weights):
            guard weights.count == outputs else {
                throw .invalidSetting(name: "positive_weights", value: "\(weights.count) values", rule: "one per output (\(outputs))")
            }
            for (k, w) in weights.enumerated() where !(w >= 0 && w.isFinite) {
                throw .invalidSetting(name: "positive_weights", value: "\(w) for output \(k)", rule: "must be finite and ≥ 0")
            }
            for (i, t) in targets.enumerated() where !(t >= 0 && t <= 1) {
                throw .invalidInput(reason: "row \(i / max(1, outputs)): target \(t) is outside [0, 1]")
            }
        case .binaryCrossEntropy, .binaryCrossEntropyWithLogits:
            for (i, t) in targets.enumerated() where !(t >= 0 && t <= 1) {
                throw .invalidInput(reason: "row \(i / max(1, outputs)): target \(t) is outside [0, 1]")
            }
        case .meanSquaredError:
            for (i, t) in targets.enumerated() where !t.isFinite {
                throw .invalidInput(reason: "row \(i / max(1, outputs)): target \(t) is not finite")
            }
        }
    }

    /// The summed per-row losses of `rows` rows of `width` outputs, and `scale ×` their gradient
    /// with respect to the outputs written to `gradient`; `correct` counts rows whose arg-max is
    /// the label (classification), or (row, output) pairs whose decision at probability 0.5
    /// matches a target ≥ 0.5 (multi-label). Per-row loss is the mean over the row's outputs for the
    /// element-wise losses, so `sum / rows` is PyTorch's mean.
    func evaluate(_ outputs: UnsafePointer<Float>, targets: UnsafePointer<Float>, rows: Int, width: Int, scale: Float,
                  gradient: UnsafeMutablePointer<Float>?) -> (loss: Double, correct: Int) {
        var total = 0.0, correct = 0
        switch self {
        case .softmaxCrossEntropy(let eps):
            for r in 0..<rows {
                let z = outputs + r * width, label = Int(targets[r])
                var m = -Float.infinity, arg = 0
                for k in 0..<width where z[k] > m { m = z[k]; arg = k }
                if arg == label { correct += 1 }
                var s = 0.0, sumZ = 0.0
                for k in 0..<width { s += Foundation.exp(Double(z[k] - m)); sumZ += Double(z[k] - m) }
                let logSum = Foundation.log(s)
                // −log p_label·(1 − ε) − ε/K·Σ log p_k, with log p_k = z_k − m − logSum.
                let nll = logSum - Double(z[label] - m)
                let smooth = logSum - sumZ / Double(width)
                total += (1 - Double(eps)) * nll + Double(eps) * smooth
                if let g = gradient?.advanced(by: r * width) {
                    let uniform = eps / Float(width)
                    for k in 0..<width {
                        let p = Float(Foundation.exp(Double(z[k] - m) - logSum))
                        g[k] = scale * (p - uniform - (k == label ? 1 - eps : 0))
                    }
                }
            }
        case .binaryCrossEntropyWithLogits:
            let inv = 1 / Float(width)
            for r in 0..<rows {
                var rowLoss = 0.0
                for k in 0..<width {
                    let z = outputs[r * width + k], t = targets[r * width + k]
                    rowLoss += Double(max(z, 0) - z * t) + Foundation.log1p(Foundation.exp(-Double(abs(z))))
                    if (z >= 0) == (t >= 0.5) { correct += 1 }
                    if let g = gradient {
                        let s: Float = z >= 0 ? 1 / (1 + Foundation.exp(-z)) : Foundation.exp(z) / (1 + Foundation.exp(z))
                        g[r * width + k] = scale * inv * (s - t)
                    }
                }
                total += rowLoss / Double(width)
            }
        case .weightedBinaryCrossEntropyWithLogits(let weights):
            let inv = 1 / Float(width)
            for r in 0..<rows {
                var rowLoss = 0.0
                for k in 0..<width {
                    let z = outputs[r * width + k], t = targets[r * width + k], w = weights[k]
                    // softplus(z) = max(z, 0) + log(1 + e^−|z|), softplus(−z) = softplus(z) − z.
                    let softplus = Double(max(z, 0)) + Foundation.log1p(Foundation.exp(-Double(abs(z))))
                    rowLoss += Double(w * t) * (softplus - Double(z)) + Double(1 - t) * softplus
                    if (z >= 0) == (t >= 0.5) { correct += 1 }
                    if let g = gradient {
                        let s: Float = z >= 0 ? 1 / (1 + Foundation.exp(-z)) : Foundation.exp(z) / (1 + Foundation.exp(z))
                        // d/dz = σ(z)·(w·t + 1 − t) − w·t.
                        g[r * width + k] = scale * inv * (s * (w * t + 1 - t) - w * t)
                    }
                }
                total += rowLoss / Double(width)
            }
        case .binaryCrossEntropy:
            let inv = 1 / Float(width)
            for r in 0..<rows {
                var rowLoss = 0.0
                for k in 0..<width {
                    let p = outputs[r * width + k], t = targets[r * width + k]
                    let logP = max(Foundation.log(Double(p)), -100), log1mP = max(Foundation.log(1 - Double(p)), -100)
                    rowLoss -= Double(t) * logP + (1 - Double(t)) * log1mP
                    // PyTorch's BCELoss backward: (p − t) / max(p(1 − p), 1e-12).
                    gradient?[r * width + k] = scale * inv * (p - t) / max((1 - p) * p, 1e-12)
                }
                total += rowLoss / Double(width)
            }
        case .meanSquaredError:
            let inv = 1 / Float(width)
            for r in 0..<rows {
                var rowLoss = 0.0
                for k in 0..<width {
                    let d = outputs[r * width + k] - targets[r * width + k]
                    rowLoss += Double(d) * Double(d)
                    gradient?[r * width + k] = scale * inv * 2 * d
                }
                total += rowLoss / Double(width)
            }
        }
        return (total, correct)
    }
}

extension Loss {
    /// Rows of `rows × width` logits whose target class (softmax cross-entropy only) is among the
    /// `k` largest outputs: MXNet's `top_k_accuracy`. A tie with the k-th value counts as a hit
    /// only if fewer than `k` outputs are strictly larger.
    func topKHits(_ outputs: UnsafePointer<Float>, targets: UnsafePointer<Float>, rows: Int, width: Int, k: Int) -> Int {
        guard k > 0, isClassification else { return 0 }
        var hits = 0
        for r in 0..<rows {
            let z = outputs + r * width, label = Int(targets[r])
            let v = z[label]
            var larger = 0
            for j in 0..<width where z[j] > v { larger += 1 }
            if larger < k { hits += 1 }
        }
        return hits
    }
}
