import Foundation

/// What distinguishes one of the models trained side by side (`num_models`): its learning rate
/// and schedule, `wd` and `l1`. The optimizer and everything else are shared.
public struct LinearModelVariant: Sendable, Equatable {
    public var learningRate: Double
    public var weightDecay: Double
    public var l1: Double
    /// `nil` when `use_lr_scheduler` is false; its `initial` is ``learningRate``.
    public var schedule: LearningRateSchedule?

    public init(learningRate: Double, weightDecay: Double, l1: Double, schedule: LearningRateSchedule?) {
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.l1 = l1
        self.schedule = schedule
    }

    /// The rate of the update after `updates` updates.
    public func rate(afterUpdates updates: Int) -> Double { schedule?.rate(afterUpdates: updates) ?? learningRate }

    /// The learning-rate multipliers, `wd` values and `l1` values the search walks through, in
    /// the order models take them (model 0 is the first of each: the single-model defaults).
    /// SageMaker's logged best models used rates 0.1 (with `adam`) and `wd` 1e-4; this grid
    /// spans both sides of those.
    public static let learningRateFactors: [Double] = [1, 10, 0.1, 3]
    public static let weightDecays: [Double] = [0, 1e-4, 1e-3, 1e-2]
    public static let l1Values: [Double] = [0, 1e-4]

    /// `count` variants of `base`: model `i` takes digit `i` of a mixed-radix count over the
    /// dimensions left `auto` — the learning rate fastest, then `wd`, then `l1` — so 32 models
    /// cover 4 rates × 4 `wd` × 2 `l1` once. Beyond the grid the combinations repeat; the
    /// repeats still differ, since each model's initial weights are drawn separately.
    public static func grid(count: Int, base: LinearModelVariant, varyLearningRate: Bool, varyWeightDecay: Bool, varyL1: Bool)
        -> [LinearModelVariant] {
        let rates = varyLearningRate ? learningRateFactors : [1]
        let decays = varyWeightDecay ? weightDecays : [base.weightDecay]
        let l1s = varyL1 ? l1Values : [base.l1]
        return (0..<max(1, count)).map { i in
            var v = base
            let r = i % rates.count, w = (i / rates.count) % decays.count, l = (i / (rates.count * decays.count)) % l1s.count
            v.learningRate = base.learningRate * rates[r]
            v.schedule?.initial = v.learningRate
            v.weightDecay = decays[w]
            v.l1 = l1s[l]
            return v
        }
    }

    /// The hyperparameters of this model, as SageMaker's "Best model found for hyperparameters"
    /// line prints them (JSON, keys sorted).
    public func hyperparameterJSON(optimizer: String) -> String {
        var pairs: [(String, String)] = [
            ("l1", String(l1)), ("learning_rate", String(learningRate)), ("optimizer", "\"\(optimizer)\""), ("wd", String(weightDecay)),
        ]
        if let schedule {
            pairs += [("lr_scheduler_factor", String(schedule.factor)), ("lr_scheduler_minimum_lr", String(schedule.minimum)),
                      ("lr_scheduler_step", String(schedule.step))]
        }
        return "{" + pairs.sorted { $0.0 < $1.0 }.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }
}
