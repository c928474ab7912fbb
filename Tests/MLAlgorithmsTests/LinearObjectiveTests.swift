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

private func problem<T: BLASScalar>(_ objective: LinearObjective, rows: Int, features: Int, models: Int = 1, weighted: Bool, seed: UInt64,
                                    scale: Double = 1, as: T.Type = T.self) throws -> Problem<T> {
    var g = Seeded(state: seed)
    let layout = LinearParameterLayout(features: features, outputs: objective.outputs, models: models)
    // About a third of the entries are zero, so the sparse form has something to skip.
    let x = try Matrix<T>(rows: rows, columns: features, elements: (0..<(rows * features)).map { _ in
        g.unit() < 0.3 ? 0 : T(g.symmetric(1))
    })
    let labels: [T] = (0..<rows).map { _ in
        switch objective {
        case .logistic, .hinge: T(Double(g.next() % 2))
        case .softmax(let c): T(Double(g.next() % UInt64(c)))
        default: T(g.symmetric(3))
        }
    }
    let weights: [T]? = weighted ? (0..<rows).map { _ in T(0.5 + g.unit()) } : nil
    let parameters = (0..<layout.count).map { _ in T(g.symmetric(scale)) }
    return Problem(x: x, labels: labels, weights: weights, parameters: parameters, layout: layout)
}

/// ℓ(s, y) and ∂ℓ/∂s of the one-output losses, written from their definitions piece by piece
/// (independently of `LinearObjective.lossAndSlope`).
private func reference(_ objective: LinearObjective, s: Double, y: Double) -> (Double, Double) {
    let r = s - y
    switch objective {
    case .logistic: return (log(1 + exp(s)) - y * s, 1 / (1 + exp(-s)) - y)
    case .hinge(let margin):
        let t = y == 1 ? 1.0 : -1.0
        return t * s < margin ? (margin - t * s, -t) : (0, 0)
    case .squared: return (0.5 * r * r, r)
    case .absolute: return (abs(r), r > 0 ? 1 : -1)
    case .epsilonInsensitiveSquared(let e):
        if r > e { return (0.5 * (r - e) * (r - e), r - e) }
        if r < -e { return (0.5 * (r + e) * (r + e), r + e) }
        return (0, 0)
    case .epsilonInsensitiveAbsolute(let e):
        if r > e { return (r - e, 1) }
        if r < -e { return (-r - e, -1) }
        return (0, 0)
    case .quantile(let tau):
        return y > s ? (tau * (y - s), -tau) : ((1 - tau) * (s - y), 1 - tau)
    case .huber(let delta):
        if abs(r) <= delta { return (0.5 * r * r, r) }
        return (delta * abs(r) - 0.5 * delta * delta, r > 0 ? delta : -delta)
    case .softmax: fatalError("softmax has several outputs")
    }
}

/// The naive oracle: per row, per model, per output, plain loops in Double straight from the formulas.
private func naive<T: BLASScalar>(_ objective: LinearObjective, _ p: Problem<T>) -> (losses: [Double], gradient: [Double]) {
    let d = p.layout.features, k = p.layout.outputs, c = p.layout.columns
    var losses = [Double](repeating: 0, count: p.layout.models)
    var gradient = [Double](repeating: 0, count: p.layout.count)
    for i in 0..<p.x.rows {
        for m in 0..<p.layout.models {
            var s = [Double](repeating: 0, count: k)
            for j in 0..<k {
                s[j] = Double(p.parameters[p.layout.biasOffset + m * k + j])
                for f in 0..<d { s[j] += Double(p.x[i, f]) * Double(p.parameters[f * c + m * k + j]) }
            }
            let w = Double(p.weights?[i] ?? 1), y = Double(p.labels[i])
            var r = [Double](repeating: 0, count: k)
            if case .softmax = objective {
                let total = s.reduce(0) { $0 + exp($1) }
                losses[m] += w * (log(total) - s[Int(y)])
                for j in 0..<k { r[j] = w * (exp(s[j]) / total - (j == Int(y) ? 1 : 0)) }
            } else {
                let (loss, slope) = reference(objective, s: s[0], y: y)
                losses[m] += w * loss
                r[0] = w * slope
            }
            for j in 0..<k {
                for f in 0..<d { gradient[f * c + m * k + j] += Double(p.x[i, f]) * r[j] }
                gradient[p.layout.biasOffset + m * k + j] += r[j]
            }
        }
    }
    return (losses, gradient)
}

private func evaluate<T: BLASScalar>(_ objective: LinearObjective, _ p: Problem<T>, sparse: Bool = false) throws
    -> (loss: Double, losses: [Double], weight: Double, gradient: [T]) {
    var gradient = [T](repeating: 0, count: p.layout.count)
    var scratch = Matrix<T>(rows: 0, columns: 0)
    var losses = [Double](repeating: 0, count: p.layout.models)
    let weight: Double
    if sparse {
        weight = try objective.accumulate(sparse: p.x.sparse(), labels: p.labels, weights: p.weights, parameters: p.parameters,
                                          layout: p.layout, gradient: &gradient, scratch: &scratch, modelLosses: &losses)
    } else {
        weight = try objective.accumulate(features: p.x, labels: p.labels, weights: p.weights, parameters: p.parameters,
                                          layout: p.layout, gradient: &gradient, scratch: &scratch, modelLosses: &losses)
    }
    return (losses.reduce(0, +), losses, weight, gradient)
}

private func close(_ a: Double, _ b: Double, rtol: Double, atol: Double) -> Bool {
    abs(a - b) <= atol + rtol * max(abs(a), abs(b))
}

private let objectives: [LinearObjective] = [
    .logistic, .hinge(margin: 1), .hinge(margin: 0.5), .softmax(classes: 4), .squared, .absolute,
    .epsilonInsensitiveSquared(epsilon: 0.3), .epsilonInsensitiveAbsolute(epsilon: 0.3), .quantile(0.2), .quantile(0.9),
    .huber(delta: 1), .huber(delta: 0.25),
]

@Suite struct LinearObjectiveTests {
    @Test(arguments: objectives, [false, true])
    func matchesTheNaiveOracle(objective: LinearObjective, weighted: Bool) throws {
        for (rows, features, models) in [(1, 1, 1), (7, 3, 1), (64, 10, 1), (33, 6, 3)] {
            let p: Problem<Double> = try problem(objective, rows: rows, features: features, models: models, weighted: weighted,
                                                 seed: UInt64(rows * 31 + features))
            let oracle = naive(objective, p)
            for sparse in [false, true] {
                let (_, losses, weight, gradient) = try evaluate(objective, p, sparse: sparse)
                #expect(zip(losses, oracle.losses).allSatisfy { close($0, $1, rtol: 1e-12, atol: 1e-12) }, "losses \(losses) vs \(oracle.losses)")
                #expect(close(weight, p.weights.map { $0.reduce(0, +) } ?? Double(rows), rtol: 1e-12, atol: 0))
                #expect(zip(gradient, oracle.gradient).allSatisfy { close($0, $1, rtol: 1e-10, atol: 1e-12) })
            }

            // Float: the same within single-precision tolerances.
            let pf = Problem<Float>(x: p.x.map { $0 }.floatMatrix(), labels: p.labels.map(Float.init), weights: p.weights?.map(Float.init),
                                    parameters: p.parameters.map(Float.init), layout: p.layout)
            for sparse in [false, true] {
                let f = try evaluate(objective, pf, sparse: sparse)
                #expect(zip(f.losses, oracle.losses).allSatisfy { close($0, $1, rtol: 1e-5, atol: 1e-5) })
                #expect(zip(f.gradient, oracle.gradient).allSatisfy { close(Double($0), $1, rtol: 1e-4, atol: 1e-5) })
            }
        }
    }

    /// Models side by side are independent: each one's loss and gradient are what it has alone.
    @Test(arguments: objectives)
    func modelsSideBySideAreIndependent(objective: LinearObjective) throws {
        let p: Problem<Double> = try problem(objective, rows: 25, features: 4, models: 3, weighted: true, seed: 17)
        let together = try evaluate(objective, p)
        for m in 0..<3 {
            let alone = Problem(x: p.x, labels: p.labels, weights: p.weights, parameters: p.layout.parameters(ofModel: m, in: p.parameters),
                                layout: p.layout.single)
            let r = try evaluate(objective, alone)
            #expect(close(r.loss, together.losses[m], rtol: 1e-12, atol: 1e-12))
            let mine = p.layout.parameters(ofModel: m, in: together.gradient)
            #expect(zip(mine, r.gradient).allSatisfy { close($0, $1, rtol: 1e-12, atol: 1e-12) })
        }
    }

    /// Central differences of the summed loss, in Double, against the analytic gradient.
    @Test(arguments: objectives)
    func gradientMatchesFiniteDifferences(objective: LinearObjective) throws {
        let p: Problem<Double> = try problem(objective, rows: 20, features: 5, models: 2, weighted: true, seed: 99)
        let (_, _, _, gradient) = try evaluate(objective, p)
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
        for objective in [LinearObjective.logistic, .softmax(classes: 3), .hinge(margin: 1), .huber(delta: 1)] {
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
        #expect(throws: LinearObjective.LabelError.self) { _ = try evaluate(.hinge(margin: 1), p) }
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

extension Matrix {
    /// The CSR form: the non-zero entries only.
    fileprivate func sparse() -> SparseMatrix<T> {
        var out = SparseMatrix<T>(columns: columns)
        for i in 0..<rows {
            let nonzero = (0..<columns).filter { self[i, $0] != 0 }
            out.appendRow(indices: nonzero.map { Int32($0) }, values: nonzero.map { self[i, $0] })
        }
        return out
    }
}
