import Foundation

/// How parameters move given their gradient, as `torch.optim` moves them (weight decay is the
/// L2 term added to the gradient, not AdamW's decoupled decay). Every parameter, gradient and
/// optimizer state is one flat buffer, so a step is one pass over it.
public enum Optimizer: Sendable, Codable, Hashable {
    /// `torch.optim.SGD`: `g ← g + wd·p`; with momentum `b ← μ·b + (1 − dampening)·g` (the
    /// first step `b ← g`), then `g ← g + μ·b` (Nesterov) or `g ← b`; `p ← p − lr·g`.
    case sgd(learningRate: Float, momentum: Float = 0, dampening: Float = 0, nesterov: Bool = false, weightDecay: Float = 0)
    /// `torch.optim.Adam`: bias-corrected first and second moments,
    /// `p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)`.
    case adam(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0)
    /// `torch.optim.RMSprop`: `v ← α·v + (1 − α)·g²`, `p ← p − lr·g/(√v + ε)` (or through a
    /// momentum buffer `b ← μ·b + g/(√v + ε)`).
    case rmsProp(learningRate: Float, alpha: Float = 0.99, epsilon: Float = 1e-8, momentum: Float = 0, weightDecay: Float = 0)

    public var learningRate: Float {
        switch self {
        case .sgd(let lr, _, _, _, _), .adam(let lr, _, _, _, _), .rmsProp(let lr, _, _, _, _): lr
        }
    }

    /// Refuses settings `torch.optim` refuses, naming the setting.
    public func validate() throws(NetworkError) {
        func check(_ name: String, _ v: Float, _ ok: Bool, _ rule: String) throws(NetworkError) {
            guard ok, v.isFinite else { throw .invalidSetting(name: name, value: "\(v)", rule: rule) }
        }
        try check("learning_rate", learningRate, learningRate >= 0, "must be ≥ 0")
        switch self {
        case let .sgd(_, momentum, dampening, nesterov, wd):
            try check("momentum", momentum, momentum >= 0, "must be ≥ 0")
            try check("dampening", dampening, true, "must be finite")
            try check("weight_decay", wd, wd >= 0, "must be ≥ 0")
            if nesterov, momentum <= 0 || dampening != 0 {
                throw .invalidSetting(name: "nesterov", value: "true", rule: "needs momentum > 0 and dampening 0")
            }
        case let .adam(_, b1, b2, eps, wd):
            try check("beta_1", b1, b1 >= 0 && b1 < 1, "must be in [0, 1)")
            try check("beta_2", b2, b2 >= 0 && b2 < 1, "must be in [0, 1)")
            try check("epsilon", eps, eps >= 0, "must be ≥ 0")
            try check("weight_decay", wd, wd >= 0, "must be ≥ 0")
        case let .rmsProp(_, alpha, eps, momentum, wd):
            try check("alpha", alpha, alpha >= 0, "must be ≥ 0")
            try check("epsilon", eps, eps >= 0, "must be ≥ 0")
            try check("momentum", momentum, momentum >= 0, "must be ≥ 0")
            try check("weight_decay", wd, wd >= 0, "must be ≥ 0")
        }
    }

    /// One step over the flat buffers at learning rate `learningRate` (the schedule's value).
    public func step(parameters: inout [Float], gradients: [Float], state: inout State, learningRate lr: Float) {
        let n = parameters.count
        if state.first.count != n { state.first = [Float](repeating: 0, count: n) }
        state.steps += 1
        let t = state.steps
        switch self {
        case let .sgd(_, momentum, dampening, nesterov, wd):
            parameters.withUnsafeMutableBufferPointer { p in
                gradients.withUnsafeBufferPointer { g in
                    state.first.withUnsafeMutableBufferPointer { b in
                        for i in 0..<n {
                            var d = g[i]
                            if wd != 0 { d += wd * p[i] }
                            if momentum != 0 {
                                b[i] = t == 1 ? d : momentum * b[i] + (1 - dampening) * d
                                d = nesterov ? d + momentum * b[i] : b[i]
                            }
                            p[i] -= lr * d
                        }
                    }
                }
            }
        case let .adam(_, b1, b2, eps, wd):
            if state.second.count != n { state.second = [Float](repeating: 0, count: n) }
            // In Double as torch computes these scalars in Python, then used in Float.
            let c1 = 1 - Foundation.pow(Double(b1), Double(t)), c2 = 1 - Foundation.pow(Double(b2), Double(t))
            let stepSize = Float(Double(lr) / c1), c2Root = Float(c2.squareRoot())
            parameters.withUnsafeMutableBufferPointer { p in
                gradients.withUnsafeBufferPointer { g in
                    state.first.withUnsafeMutableBufferPointer { m in
                        state.second.withUnsafeMutableBufferPointer { v in
                            for i in 0..<n {
                                var d = g[i]
                                if wd != 0 { d += wd * p[i] }
                                m[i] += (d - m[i]) * (1 - b1)
                                v[i] = v[i] * b2 + (1 - b2) * d * d
                                let denom = v[i].squareRoot() / c2Root + eps
                                p[i] -= stepSize * m[i] / denom
                            }
                        }
                    }
                }
            }
        case let .rmsProp(_, alpha, eps, momentum, wd):
            if state.second.count != n { state.second = [Float](repeating: 0, count: n) }
            parameters.withUnsafeMutableBufferPointer { p in
                gradients.withUnsafeBufferPointer { g in
                    state.first.withUnsafeMutableBufferPointer { b in
                        state.second.withUnsafeMutableBufferPointer { v in
                            for i in 0..<n {
                                var d = g[i]
                                if wd != 0 { d += wd * p[i] }
                                v[i] = v[i] * alpha + (1 - alpha) * d * d
                                let avg = v[i].squareRoot() + eps
                                if momentum > 0 {
                                    b[i] = momentum * b[i] + d / avg
                                    p[i] -= lr * b[i]
                                } else {
                                    p[i] -= lr * d / avg
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The learning rate over time: PyTorch's `StepLR` and `MultiStepLR`, counted in scheduler
/// steps (the trainer steps it once per epoch, or per mini-batch when told to).
public enum LearningRateDecay: Sendable, Codable, Hashable {
    case constant
    /// Multiply by `factor` every `every` scheduler steps.
    case step(every: Int, factor: Float)
    /// Multiply by `factor` at each milestone.
    case multiStep(milestones: [Int], factor: Float)

    /// The learning rate after `t` scheduler steps, starting from `base`. Computed in Double by
    /// repeated multiplication, as PyTorch's chainable schedulers do.
    public func rate(base: Float, after t: Int) -> Float {
        var lr = Double(base)
        switch self {
        case .constant: break
        case let .step(every, factor):
            if every > 0 { for _ in 0..<(t / every) { lr *= Double(factor) } }
        case let .multiStep(milestones, factor):
            for m in milestones where m <= t { lr *= Double(factor) }
        }
        return Float(lr)
    }

    public func validate() throws(NetworkError) {
        switch self {
        case .constant: return
        case let .step(every, factor):
            guard every > 0 else { throw .invalidSetting(name: "lr_scheduler_step", value: "\(every)", rule: "must be positive") }
            guard factor > 0, factor.isFinite else { throw .invalidSetting(name: "lr_scheduler_factor", value: "\(factor)", rule: "must be positive") }
        case let .multiStep(milestones, factor):
            guard milestones.allSatisfy({ $0 > 0 }) else {
                throw .invalidSetting(name: "lr_scheduler_step", value: "\(milestones)", rule: "milestones must be positive")
            }
            guard factor > 0, factor.isFinite else { throw .invalidSetting(name: "lr_scheduler_factor", value: "\(factor)", rule: "must be positive") }
        }
    }
}

extension Optimizer {
    /// An optimizer's state: the step count and up to two flat buffers shaped like the parameters
    /// (SGD's momentum; Adam's first and second moments; RMSProp's momentum and square average).
    public struct State: Sendable, Codable, Hashable {
        public var steps: Int = 0
        public var first: [Float] = []
        public var second: [Float] = []
        public init() {}
    }
}
