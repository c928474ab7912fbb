import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// Golden trajectories from torch.optim (float64), made by
/// `Tests/MLAlgorithmsTests/Fixtures/make_optimizer_trajectories.py`.
private struct Trajectories: Decodable {
    struct Run: Decodable { var losses: [Double]; var parameters: [[Double]] }
    var torch: String
    var x: [[Double]]
    var y: [Double]
    var w0: [Double]
    var b0: Double
    var learning_rate: Double
    var weight_decay: Double
    var bias_lr_mult: Double
    var factor: Double
    var step: Int
    var trajectories: [String: Run]
}

private func loadTrajectories() throws -> Trajectories {
    let base = try #require(Bundle.module.resourceURL)
    let url = base.appendingPathComponent("Fixtures/optimizer_trajectories.json")
    return try JSONDecoder().decode(Trajectories.self, from: Data(contentsOf: url))
}

private func close(_ a: Double, _ b: Double, rtol: Double = 1e-10, atol: Double = 1e-12) -> Bool {
    abs(a - b) <= atol + rtol * max(abs(a), abs(b))
}

@Suite struct LinearOptimizerTests {
    /// Ten full-batch steps of logistic regression reproduce torch's losses and parameters.
    @Test(arguments: ["sgd", "adam", "rmsprop"])
    func matchesTorchTrajectory(name: String) throws {
        let f = try loadTrajectories()
        let run = try #require(f.trajectories[name])
        let rule: OptimizerRule = switch name {
        case "sgd": .sgd(momentum: 0.9)
        case "adam": .adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
        default: .rmsprop(alpha: 0.99, epsilon: 1e-8)
        }
        let layout = LinearParameterLayout(features: f.w0.count, outputs: 1)
        let optimizer = LinearOptimizer(rule: rule, layout: layout, weightDecay: f.weight_decay,
                                        biasLearningRateMultiplier: f.bias_lr_mult, biasWeightDecayMultiplier: 0)
        let schedule = LearningRateSchedule(initial: f.learning_rate, factor: f.factor, step: f.step)
        let x = try Matrix(f.x)
        var parameters = f.w0 + [f.b0]
        var state = OptimizerState<Double>(rule: rule, count: layout.count)
        var scratch = Matrix<Double>(rows: 0, columns: 0)
        for t in 0..<run.losses.count {
            var gradient = [Double](repeating: 0, count: layout.count)
            let (loss, weight) = try LinearObjective.logistic.accumulate(
                features: x, labels: f.y, weights: nil, parameters: parameters, layout: layout,
                gradient: &gradient, scratch: &scratch)
            #expect(close(loss / weight, run.losses[t]), "\(name) step \(t): loss \(loss / weight) vs torch \(run.losses[t])")
            let mean = gradient.map { $0 / weight }
            try optimizer.step(parameters: &parameters, gradient: mean, learningRate: schedule.rate(afterUpdates: t), state: &state)
            let expected = run.parameters[t]
            #expect(zip(parameters, expected).allSatisfy { close($0, $1) }, "\(name) step \(t): \(parameters) vs torch \(expected)")
        }
    }

    /// Adam's bias-corrected first step moves every coordinate by the learning rate, whatever the
    /// gradient's size.
    @Test func adamFirstStepIsTheLearningRate() throws {
        let layout = LinearParameterLayout(features: 3, outputs: 1)
        let rule = OptimizerRule.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-12)
        var parameters: [Double] = [0, 0, 0, 0]
        var state = OptimizerState<Double>(rule: rule, count: 4)
        try LinearOptimizer(rule: rule, layout: layout).step(
            parameters: &parameters, gradient: [1e-6, -3, 250, 0.5], learningRate: 0.01, state: &state)
        // |g|/(|g| + ε): within 1e-6 of 1 even for g = 1e-6 with ε = 1e-12.
        #expect(zip(parameters, [-0.01, 0.01, -0.01, -0.01]).allSatisfy { close($0, $1, rtol: 2e-6) })
    }

    /// The L1 proximal step zeroes weights within η·l1 of zero, shrinks the rest by η·l1, and
    /// leaves the bias alone.
    @Test func l1ProximalStep() throws {
        let layout = LinearParameterLayout(features: 4, outputs: 1)
        let optimizer = LinearOptimizer(rule: .sgd(momentum: 0), layout: layout, l1: 2)
        var parameters: [Double] = [0.5, -0.05, 0.08, -3, 0.01]
        var state = OptimizerState<Double>(rule: optimizer.rule, count: 5)
        try optimizer.step(parameters: &parameters, gradient: [0, 0, 0, 0, 0], learningRate: 0.05, state: &state)
        #expect(zip(parameters, [0.4, 0, 0, -2.9, 0.01]).allSatisfy { close($0, $1) })
    }

    /// State saved mid-run and restored continues exactly (checkpoint and resume).
    @Test func resumingFromSavedStateIsExact() throws {
        let layout = LinearParameterLayout(features: 2, outputs: 1)
        let rule = OptimizerRule.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
        let optimizer = LinearOptimizer(rule: rule, layout: layout, weightDecay: 0.1)
        let gradients: [[Float]] = (0..<6).map { t in [Float(t) - 2.5, 1 / Float(t + 1), 0.25 * Float(t)] }
        var straight: [Float] = [0.5, -0.5, 0.1]
        var state = OptimizerState<Float>(rule: rule, count: 3)
        for g in gradients { try optimizer.step(parameters: &straight, gradient: g, learningRate: 0.05, state: &state) }

        var resumed: [Float] = [0.5, -0.5, 0.1]
        var first = OptimizerState<Float>(rule: rule, count: 3)
        for g in gradients[0..<3] { try optimizer.step(parameters: &resumed, gradient: g, learningRate: 0.05, state: &first) }
        var restored = try JSONDecoder().decode(OptimizerState<Float>.self, from: JSONEncoder().encode(first))
        for g in gradients[3...] { try optimizer.step(parameters: &resumed, gradient: g, learningRate: 0.05, state: &restored) }
        #expect(resumed.map(\.bitPattern) == straight.map(\.bitPattern))
        #expect(restored == state)
    }

    @Test func scheduleStepsDownToItsMinimum() {
        let s = LearningRateSchedule(initial: 0.1, factor: 0.5, step: 10, minimum: 0.02)
        #expect([0, 9, 10, 19, 20, 30, 1000].map { s.rate(afterUpdates: $0) } == [0.1, 0.1, 0.05, 0.05, 0.025, 0.02, 0.02])
    }

    @Test func shapeMismatchThrows() {
        let layout = LinearParameterLayout(features: 2, outputs: 1)
        let optimizer = LinearOptimizer(rule: .sgd(momentum: 0.9), layout: layout)
        var parameters: [Double] = [0, 0, 0]
        var state = OptimizerState<Double>(rule: optimizer.rule, count: 3)
        #expect(throws: ShapeError.self) {
            try optimizer.step(parameters: &parameters, gradient: [1, 2], learningRate: 0.1, state: &state)
        }
    }
}
