import Foundation
import MLCore

/// The update rule, with its constants.
///
/// The rules are PyTorch's `torch.optim` ones, so trajectories can be checked against it step by
/// step: L2 weight decay is added to the gradient (not decoupled), Adam is bias-corrected with ε
/// outside the square root, RMSProp keeps a running mean of squared gradients (no momentum, not
/// centred). SageMaker documents the names and defaults but not the formulas.
public enum OptimizerRule: Sendable, Equatable {
    /// `v ← μ·v + g; w ← w − η·v` (first step `v = g`).
    case sgd(momentum: Double)
    /// `m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; w ← w − η·m̂/(√v̂ + ε)`, `m̂, v̂` bias-corrected.
    case adam(beta1: Double, beta2: Double, epsilon: Double)
    /// `v ← αv + (1−α)g²; w ← w − η·g/(√v + ε)`.
    case rmsprop(alpha: Double, epsilon: Double)
}

/// Everything an optimizer carries between steps, in flat buffers laid out like the parameters:
/// checkpointed and restored whole, so a resumed run continues bit for bit.
public struct OptimizerState<T: BLASScalar>: Sendable, Equatable, Codable {
    /// Updates applied so far.
    public var step: Int
    /// Momentum (SGD) or the first moment (Adam); empty when unused.
    public var first: [T]
    /// The second moment (Adam, RMSProp); empty when unused.
    public var second: [T]

    public init(rule: OptimizerRule, count: Int) {
        step = 0
        switch rule {
        case .sgd(let momentum):
            first = momentum > 0 ? [T](repeating: 0, count: count) : []
            second = []
        case .adam:
            first = [T](repeating: 0, count: count)
            second = [T](repeating: 0, count: count)
        case .rmsprop:
            first = []
            second = [T](repeating: 0, count: count)
        }
    }
}

/// A linear model's optimizer: the rule plus SageMaker's regularization and bias options, for
/// one model or several side by side (``LinearParameterLayout/models``), each with its own
/// learning rate, `wd` and `l1`.
///
/// Per parameter, the learning rate is `η` (× `bias_lr_mult` for the bias) and the L2 penalty
/// `wd` (× `bias_wd_mult` for the bias); after the rule's update, `l1` is applied to the weights
/// (never the bias) as a proximal step, `w ← sign(w)·max(|w| − η·l1, 0)`, which sets small
/// weights exactly to zero as the L1 optimum does (a subgradient step would only oscillate).
public struct LinearOptimizer: Sendable, Equatable {
    public var rule: OptimizerRule
    /// Per model.
    public var weightDecays: [Double]
    public var l1s: [Double]
    public var biasLearningRateMultiplier: Double
    public var biasWeightDecayMultiplier: Double
    public let layout: LinearParameterLayout

    public init(
        rule: OptimizerRule, layout: LinearParameterLayout, weightDecay: Double = 0, l1: Double = 0,
        biasLearningRateMultiplier: Double = 1, biasWeightDecayMultiplier: Double = 0
    ) {
        self.init(rule: rule, layout: layout, weightDecays: [Double](repeating: weightDecay, count: layout.models),
                  l1s: [Double](repeating: l1, count: layout.models),
                  biasLearningRateMultiplier: biasLearningRateMultiplier, biasWeightDecayMultiplier: biasWeightDecayMultiplier)
    }

    public init(rule: OptimizerRule, layout: LinearParameterLayout, weightDecays: [Double], l1s: [Double],
                biasLearningRateMultiplier: Double = 1, biasWeightDecayMultiplier: Double = 0) {
        self.rule = rule
        self.layout = layout
        self.weightDecays = weightDecays
        self.l1s = l1s
        self.biasLearningRateMultiplier = biasLearningRateMultiplier
        self.biasWeightDecayMultiplier = biasWeightDecayMultiplier
    }

    /// Applies one update with learning rate `learningRate` (every model) and the mean gradient `gradient`.
    public func step<T: BLASScalar>(
        parameters: inout [T], gradient: [T], learningRate: Double, state: inout OptimizerState<T>
    ) throws(ShapeError) {
        try step(parameters: &parameters, gradient: gradient, learningRates: [Double](repeating: learningRate, count: layout.models),
                 state: &state)
    }

    /// Applies one update, model `m` with learning rate `learningRates[m]`.
    public func step<T: BLASScalar>(
        parameters: inout [T], gradient: [T], learningRates: [Double], state: inout OptimizerState<T>
    ) throws(ShapeError) {
        let n = layout.count, models = layout.models
        guard parameters.count == n, gradient.count == n, learningRates.count == models, weightDecays.count == models,
              l1s.count == models, state.first.isEmpty || state.first.count == n, state.second.isEmpty || state.second.count == n
        else {
            throw .mismatch(operation: "LinearOptimizer.step",
                            left: "\(parameters.count) parameters, \(gradient.count) gradients, \(learningRates.count) rates",
                            right: "\(n) in the layout, \(models) models")
        }
        try step(range: 0..<n, parameters: &parameters, gradient: gradient, learningRates: learningRates, state: &state)
    }

    /// One update of the parameters `range` of the layout only: `parameters`, `gradient` and
    /// `state`'s moments hold just that slice (a parameter-server shard's). Every element gets
    /// the bits the whole-buffer step gives it — the update is elementwise.
    public func step<T: BLASScalar>(
        range: Range<Int>, parameters: inout [T], gradient: [T], learningRates: [Double], state: inout OptimizerState<T>
    ) throws(ShapeError) {
        let models = layout.models
        guard range.lowerBound >= 0, range.upperBound <= layout.count, parameters.count == range.count, gradient.count == range.count,
              learningRates.count == models, weightDecays.count == models, l1s.count == models,
              state.first.isEmpty || state.first.count == range.count, state.second.isEmpty || state.second.count == range.count
        else {
            throw .mismatch(operation: "LinearOptimizer.step",
                            left: "\(parameters.count) parameters, \(gradient.count) gradients, \(learningRates.count) rates for \(range)",
                            right: "\(layout.count) in the layout, \(models) models")
        }
        state.step += 1
        let t = Double(state.step)
        // Adam's bias corrections, once per step rather than per parameter.
        var correction1 = 1.0, correction2 = 1.0
        if case .adam(let beta1, let beta2, _) = rule {
            correction1 = 1 - pow(beta1, t)
            correction2 = 1 - pow(beta2, t)
        }
        let columns = layout.columns, outputs = layout.outputs, biasOffset = layout.biasOffset
        // Per column: a model's outputs share its rate and penalties.
        let columnRate = (0..<columns).map { learningRates[$0 / outputs] }
        let columnDecay = (0..<columns).map { weightDecays[$0 / outputs] }
        let columnL1 = (0..<columns).map { l1s[$0 / outputs] }
        let lo = range.lowerBound
        var column = (lo >= biasOffset ? lo - biasOffset : lo) % columns
        for i in range {
            let isBias = i >= biasOffset
            if i == biasOffset { column = 0 }
            let lr = columnRate[column] * (isBias ? biasLearningRateMultiplier : 1)
            let wd = columnDecay[column] * (isBias ? biasWeightDecayMultiplier : 1)
            let at = i - lo
            var w = Double(parameters[at])
            let g = Double(gradient[at]) + wd * w
            switch rule {
            case .sgd(let momentum):
                if momentum > 0 {
                    let v = state.step == 1 ? g : momentum * Double(state.first[at]) + g
                    state.first[at] = T(v)
                    w -= lr * v
                } else {
                    w -= lr * g
                }
            case .adam(let beta1, let beta2, let epsilon):
                let m = beta1 * Double(state.first[at]) + (1 - beta1) * g
                let v = beta2 * Double(state.second[at]) + (1 - beta2) * g * g
                state.first[at] = T(m)
                state.second[at] = T(v)
                let mHat = m / correction1, vHat = v / correction2
                w -= lr * mHat / (vHat.squareRoot() + epsilon)
            case .rmsprop(let alpha, let epsilon):
                let v = alpha * Double(state.second[at]) + (1 - alpha) * g * g
                state.second[at] = T(v)
                w -= lr * g / (v.squareRoot() + epsilon)
            }
            let l1 = columnL1[column]
            if !isBias && l1 > 0 {
                w = w.sign == .minus ? -max(-w - lr * l1, 0) : max(w - lr * l1, 0)
            }
            parameters[at] = T(w)
            column += 1
            if column == columns { column = 0 }
        }
    }
}

/// SageMaker's step schedule: the learning rate is multiplied by `factor` every `step` updates
/// and never goes below `minimum` — `η_t = max(η₀·factor^⌊t/step⌋, minimum)`.
public struct LearningRateSchedule: Sendable, Equatable {
    public var initial: Double
    public var factor: Double
    public var step: Int
    public var minimum: Double

    public init(initial: Double, factor: Double = 1, step: Int = 1, minimum: Double = 0) {
        self.initial = initial
        self.factor = factor
        self.step = max(1, step)
        self.minimum = minimum
    }

    /// The rate for the update after `updates` updates.
    public func rate(afterUpdates updates: Int) -> Double {
        max(initial * pow(factor, Double(updates / step)), minimum)
    }
}
