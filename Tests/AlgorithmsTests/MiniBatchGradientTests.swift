import MLCore
import Testing
@testable import Algorithms

private func data(rows: Int, features: Int, classes: Int, outputs: Int, seed: UInt64) throws -> (Matrix<Float>, [Float], [Float], [Float]) {
    var state = seed
    func next() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        // Mixed magnitudes make float addition order-sensitive, which is what this test needs.
        let u = Float(state >> 40) / Float(1 << 24)
        return (u - 0.5) * (state & 1 == 0 ? 1 : 1000)
    }
    let x = try Matrix(rows: rows, columns: features, elements: (0..<(rows * features)).map { _ in next() })
    let labels = (0..<rows).map { i in Float(i % classes) }
    let weights = (0..<rows).map { _ in abs(next()) / 100 + 0.5 }
    let layout = LinearParameterLayout(features: features, outputs: outputs)
    let parameters = (0..<layout.count).map { _ in next() / 1000 }
    return (x, labels, weights, parameters)
}

@Suite struct MiniBatchGradientTests {
    /// The determinism contract: 1, 2, 3 and 8 threads give the same bits.
    @Test(arguments: [LinearObjective.logistic, .softmax(classes: 5), .squared])
    func bitIdenticalForAnyThreadCount(objective: LinearObjective) throws {
        let classes = objective.outputs == 1 ? 2 : objective.outputs
        let (x, labels, weights, parameters) = try data(rows: 1537, features: 23, classes: classes, outputs: objective.outputs, seed: 11)
        let layout = LinearParameterLayout(features: 23, outputs: objective.outputs)
        let kernel = MiniBatchGradient(microShardRows: 64)
        let reference = try kernel.compute(objective, features: x, labels: labels, weights: weights,
                                           parameters: parameters, layout: layout, threads: 1)
        for threads in [2, 3, 8] {
            let r = try kernel.compute(objective, features: x, labels: labels, weights: weights,
                                       parameters: parameters, layout: layout, threads: threads)
            #expect(r.loss.bitPattern == reference.loss.bitPattern, "\(threads) threads")
            #expect(r.meanGradient.map(\.bitPattern) == reference.meanGradient.map(\.bitPattern), "\(threads) threads")
        }
    }

    /// The micro-shard sum equals one pass over the whole batch (up to rounding).
    @Test func agreesWithOnePass() throws {
        let (x, labels, weights, parameters) = try data(rows: 500, features: 7, classes: 2, outputs: 1, seed: 3)
        let layout = LinearParameterLayout(features: 7, outputs: 1)
        let r = try MiniBatchGradient(microShardRows: 32).compute(.logistic, features: x, labels: labels, weights: weights,
                                                                  parameters: parameters, layout: layout, threads: 2)
        var gradient = [Float](repeating: 0, count: layout.count)
        var scratch = Matrix<Float>(rows: 0, columns: 0)
        let (loss, weight) = try LinearObjective.logistic.accumulate(
            features: x, labels: labels, weights: weights, parameters: parameters, layout: layout, gradient: &gradient, scratch: &scratch)
        #expect(abs(r.loss - loss) <= 1e-9 * abs(loss) + 1e-9)
        #expect(abs(r.weight - weight) <= 1e-12 * weight)
        for (a, b) in zip(r.meanGradient, gradient.map({ Float(Double($0) / weight) })) {
            #expect(abs(a - b) <= 1e-4 * max(abs(a), abs(b)) + 1e-6)
        }
    }

    /// A bad label is reported with its row in the batch, the same for every thread count.
    @Test func labelErrorsNameTheBatchRow() throws {
        var (x, labels, _, parameters) = try data(rows: 300, features: 4, classes: 2, outputs: 1, seed: 5)
        labels[201] = 7
        labels[260] = 9
        let layout = LinearParameterLayout(features: 4, outputs: 1)
        for threads in [1, 3] {
            #expect(throws: LinearObjective.LabelError(row: 201, label: 7, rule: "binary labels are 0 or 1")) {
                _ = try MiniBatchGradient(microShardRows: 50).compute(.logistic, features: x, labels: labels, weights: nil,
                                                                      parameters: parameters, layout: layout, threads: threads)
            }
        }
        x = Matrix(rows: 0, columns: 4)
        let empty = try MiniBatchGradient().compute(.logistic, features: x, labels: [], weights: nil,
                                                    parameters: parameters, layout: layout, threads: 2)
        #expect(empty.weight == 0 && empty.meanGradient.allSatisfy { $0 == 0 })
    }
}
