import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// Seeded test data from MLCore's own random streams.
private struct Seeded {
    var stream: RandomStream
    init(state: UInt64) { stream = RandomStream(seed: state) }
    mutating func next() -> UInt64 { stream.next() }
    mutating func unit() -> Double { stream.nextDouble() }
    mutating func symmetric(_ scale: Double) -> Double { (2 * unit() - 1) * scale }
}

private struct Problem<T: BLASScalar> {
    var x: Matrix<T>
    var labels: [T]
    var weights: [T]?
    var parameters: [T]
    var layout: LinearParameterLayout
}

private func problem<T: BLASScalar>(_ objective: LinearObjective, rows: Int, features: Int, weighted: Bool, seed: UInt64,
                                    scale: Double = 1, as: T.Type = T.self) throws -> Problem<T> {
    var g = Seeded(state: seed)
    let k = objective.outputs
    let layout = LinearParameterLayout(features: features, outputs: k)
    let x = try Matrix<T>(rows: rows, columns: features, elements: (0..<(rows * features)).map { _ in T(g.symmetric(1)) })
    let labels: [T] = (0..<rows).map { _ in
        switch objective {
        case .logistic: T(Double(g.next() % 2))
        case .softmax(let c): T(Double(g.next() % UInt64(c)))
        case .squared: T(g.symmetric(3))
        }
    }
    let weights: [T]? = weighted ? (0..<rows).map { _ in T(0.5 + g.unit()) } : nil
    let parameters = (0..<layout.count).map { _ in T(g.symmetric(scale)) }
    return Problem(x: x, labels: labels, weights: weights, parameters: parameters, layout: layout)
}

/// The naive oracle: per row, per output, plain loops in Double straight from the formulas.
private func naive<T: BLASScalar>(_ objective: LinearObjective, _ p: Problem<T>) -> (loss: Double, gradient: [Double]) {
    let d = p.layout.features, k = p.layout.outputs
    var loss = 0.0
    var gradient = [Double](repeating: 0, count: p.layout.count)
    for i in 0..<p.x.rows {
        var s = [Double](repeating: 0, count: k)
        for j in 0..<k {
            s[j] = Double(p.parameters[p.layout.biasOffset + j])
            for f in 0..<d { s[j] += Double(p.x[i, f]) * Double(p.parameters[f * k + j]) }
        }
        let w = Double(p.weights?[i] ?? 1), y = Double(p.labels[i])
        var r = [Double](repeating: 0, count: k)
        switch objective {
        case .logistic:
            loss += w * (log(1 + exp(s[0])) - y * s[0])
            r[0] = w * (1 / (1 + exp(-s[0])) - y)
        case .softmax:
            let total = s.reduce(0) { $0 + exp($1) }
            loss += w * (log(total) - s[Int(y)])
            for j in 0..<k { r[j] = w * (exp(s[j]) / total - (j == Int(y) ? 1 : 0)) }
        case .squared:
            loss += w * (s[0] - y) * (s[0] - y) / 2
            r[0] = w * (s[0] - y)
        }
        for j in 0..<k {
            for f in 0..<d { gradient[f * k + j] += Double(p.x[i, f]) * r[j] }
            gradient[p.layout.biasOffset + j] += r[j]
        }
    }
    return (loss, gradient)
}

private func evaluate<T: BLASScalar>(_ objective: LinearObjective, _ p: Problem<T>) throws -> (loss: Double, weight: Double, gradient: [T]) {
    var gradient = [T](repeating: 0, count: p.layout.count)
    var scratch = Matrix<T>(rows: 0, columns: 0)
    let (loss, weight) = try objective.accumulate(features: p.x, labels: p.labels, weights: p.weights, parameters: p.parameters,
                                                  layout: p.layout, gradient: &gradient, scratch: &scratch)
    return (loss, weight, gradient)
}

private func close(_ a: Double, _ b: Double, rtol: Double, atol: Double) -> Bool {
    abs(a - b) <= atol + rtol * max(abs(a), abs(b))
}

private let objectives: [LinearObjective] = [.logistic, .softmax(classes: 4), .squared]

@Suite struct LinearObjectiveTests {
    @Test(arguments: objectives, [false, true])
    func matchesTheNaiveOracle(objective: LinearObjective, weighted: Bool) throws {
        for (rows, features) in [(1, 1), (7, 3), (64, 10)] {
            let p: Problem<Double> = try problem(objective, rows: rows, features: features, weighted: weighted, seed: UInt64(rows * 31 + features))
            let (loss, weight, gradient) = try evaluate(objective, p)
            let oracle = naive(objective, p)
            #expect(close(loss, oracle.loss, rtol: 1e-12, atol: 1e-12), "loss \(loss) vs \(oracle.loss)")
            #expect(close(weight, p.weights.map { $0.reduce(0, +) } ?? Double(rows), rtol: 1e-12, atol: 0))
            #expect(zip(gradient, oracle.gradient).allSatisfy { close($0, $1, rtol: 1e-10, atol: 1e-12) })

            // Float: the same within single-precision tolerances.
            let pf = Problem<Float>(x: p.x.map { $0 }.floatMatrix(), labels: p.labels.map(Float.init), weights: p.weights?.map(Float.init),
                                    parameters: p.parameters.map(Float.init), layout: p.layout)
            let f = try evaluate(objective, pf)
            #expect(close(f.loss, oracle.loss, rtol: 1e-5, atol: 1e-5))
            #expect(zip(f.gradient, oracle.gradient).allSatisfy { close(Double($0), $1, rtol: 1e-4, atol: 1e-5) })
        }
    }

    /// Central differences of the summed loss, in Double, against the analytic gradient.
    @Test(arguments: objectives)
    func gradientMatchesFiniteDifferences(objective: LinearObjective) throws {
        let p: Problem<Double> = try problem(objective, rows: 20, features: 5, weighted: true, seed: 99)
        let (_, _, gradient) = try evaluate(objective, p)
        let h = 1e-6
        for j in 0..<p.layout.count {
            var plus = p, minus = p
            plus.parameters[j] += h
            minus.parameters[j] -= h
            let numeric = (try evaluate(objective, plus).loss - evaluate(objective, minus).loss) / (2 * h)
            #expect(close(gradient[j], numeric, rtol: 1e-6, atol: 1e-7), "parameter \(j): \(gradient[j]) vs \(numeric)")
        }
    }

    /// `accumulate` adds: two halves give the sums of the whole (the shape of a micro-shard reduction).
    @Test(arguments: objectives)
    func accumulatesAcrossCalls(objective: LinearObjective) throws {
        let p: Problem<Double> = try problem(objective, rows: 40, features: 6, weighted: true, seed: 5)
        let whole = try evaluate(objective, p)
        var gradient = [Double](repeating: 0, count: p.layout.count)
        var scratch = Matrix<Double>(rows: 0, columns: 0)
        var loss = 0.0, weight = 0.0
        for range in [0..<13, 13..<40] {
            let part = try objective.accumulate(
                features: p.x.rows(range), labels: Array(p.labels[range]), weights: p.weights.map { Array($0[range]) },
                parameters: p.parameters, layout: p.layout, gradient: &gradient, scratch: &scratch)
            loss += part.loss
            weight += part.weight
        }
        #expect(close(loss, whole.loss, rtol: 1e-12, atol: 1e-12) && close(weight, whole.weight, rtol: 1e-12, atol: 0))
        #expect(zip(gradient, whole.gradient).allSatisfy { close($0, $1, rtol: 1e-12, atol: 1e-12) })
    }

    /// Scores of ±1000 overflow a naive exp: the stable forms stay finite and exact in the limit.
    @Test func hugeScoresStayFinite() throws {
        for objective in [LinearObjective.logistic, .softmax(classes: 3)] {
            var p: Problem<Float> = try problem(objective, rows: 16, features: 2, weighted: false, seed: 3, scale: 1000)
            p.x = try Matrix(rows: 16, columns: 2, elements: (0..<32).map { Float($0 % 3) - 1 })
            let r = try evaluate(objective, p)
            #expect(r.loss.isFinite && r.gradient.allSatisfy(\.isFinite))
        }
    }

    @Test func badLabelsAndShapesThrow() throws {
        var p: Problem<Double> = try problem(.logistic, rows: 4, features: 2, weighted: false, seed: 1)
        p.labels[2] = 0.5
        #expect(throws: LinearObjective.LabelError(row: 2, label: 0.5, rule: "binary labels are 0 or 1")) { _ = try evaluate(.logistic, p) }
        var q: Problem<Double> = try problem(.softmax(classes: 3), rows: 4, features: 2, weighted: false, seed: 1)
        q.labels[1] = 3
        #expect(throws: LinearObjective.LabelError.self) { _ = try evaluate(.softmax(classes: 3), q) }
        q.labels[1] = 1
        q.parameters.removeLast()
        #expect(throws: ShapeError.self) { _ = try evaluate(.softmax(classes: 3), q) }
    }
}

extension Matrix where T == Double {
    fileprivate func floatMatrix() -> Matrix<Float> {
        // invariant: same element count by construction
        try! Matrix<Float>(rows: rows, columns: columns, elements: elements.map(Float.init))
    }
}
