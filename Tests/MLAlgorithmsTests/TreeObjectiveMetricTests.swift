import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// The loss each objective's gradient differentiates (in Double), for finite differences.
private func loss(_ objective: TreeObjective, margin m: Double, label y: Double, slope: Double = 1) -> Double {
    switch objective {
    case .squaredError: return 0.5 * (m - y) * (m - y)
    case .squaredLogError: return 0.5 * pow(log1p(m) - log1p(y), 2)
    case .logisticRegression, .binaryLogistic, .binaryLogitRaw:
        return -(y * log(1 / (1 + exp(-m))) + (1 - y) * log(1 - 1 / (1 + exp(-m))))
    case .pseudoHuber: return slope * slope * ((1 + pow((m - y) / slope, 2)).squareRoot() - 1)
    case .gamma: return y * exp(-m) + m
    case .tweedie(let rho): return -y * exp((1 - rho) * m) / (1 - rho) + exp((2 - rho) * m) / (2 - rho)
    case .poisson: return exp(m) - y * m
    default: return .nan
    }
}

@Suite struct TreeObjectiveMetricTests {
    @Test("each objective's gradient and hessian equal central finite differences of its loss",
          arguments: [TreeObjective.squaredError, .squaredLogError, .logisticRegression, .binaryLogistic, .pseudoHuber, .gamma,
                      .tweedie(variancePower: 1.3), .poisson])
    func gradientsByFiniteDifferences(_ objective: TreeObjective) throws {
        let labels: [Double] = objective == .binaryLogistic ? [0, 1] : [0.3, 1.7, 4]
        for y in labels {
            for m in [-0.8, 0.1, 0.9] {
                let (g, h) = objective.gradient(margin: Float(m), label: Float(y), weight: 2, huberSlope: 1, poissonMaxDeltaStep: 0)
                let e = 1e-4
                let fd1 = (loss(objective, margin: m + e, label: y) - loss(objective, margin: m - e, label: y)) / (2 * e)
                let fd2 = (loss(objective, margin: m + e, label: y) - 2 * loss(objective, margin: m, label: y) + loss(objective, margin: m - e, label: y)) / (e * e)
                #expect(abs(Double(g) - 2 * fd1) <= 1e-3 * max(1, abs(2 * fd1)), "\(objective.name) y \(y) m \(m): g \(g) vs \(2 * fd1)")
                if objective != .squaredLogError { // XGBoost's hessian there is a floored approximation
                    #expect(abs(Double(h) - 2 * fd2) <= 2e-2 * max(1, abs(2 * fd2)), "\(objective.name) y \(y) m \(m): h \(h) vs \(2 * fd2)")
                }
            }
        }
    }

    @Test("softmax gradients: p − onehot, hessian 2p(1 − p) (XGBoost's), against finite differences of cross-entropy")
    func softmaxGradients() throws {
        let margins: [Float] = [0.2, -1, 0.7, 0.1]
        var g = [Float](repeating: 0, count: 4), h = g
        margins.withUnsafeBufferPointer { m in
            TreeObjective.multiclassGradients(margins: m.baseAddress!, classes: 4, label: 2, weight: 1, gradients: &g, hessians: &h)
        }
        func ce(_ m: [Double]) -> Double { -m[2] + log(m.map(exp).reduce(0, +)) }
        for k in 0..<4 {
            var plus = margins.map(Double.init), minus = plus
            plus[k] += 1e-5; minus[k] -= 1e-5
            #expect(abs(Double(g[k]) - (ce(plus) - ce(minus)) / 2e-5) < 1e-4)
            let p = exp(Double(margins[k])) / margins.map { exp(Double($0)) }.reduce(0, +)
            #expect(abs(Double(h[k]) - 2 * p * (1 - p)) < 1e-6)
        }
    }

    @Test("every XGBoost metric equals XGBoost's value on the same predictions, weighted and not (metric_reference.json)")
    func metricsAgainstXGBoost() throws {
        let all = try XGBoostFixtures.json("metric_reference.json")
        let cases = try #require(all["cases"] as? [String: [String: Any]])
        var checked = 0
        for (name, entry) in cases.sorted(by: { $0.key < $1.key }) {
            let labels = try #require(entry["labels"] as? [Double]).map(Float.init)
            let weights = try #require(entry["weights"] as? [Double]).map(Float.init)
            let predictions: [Float]
            var outputs = 1
            if let rows = entry["predictions"] as? [[Double]] {
                outputs = rows[0].count
                predictions = rows.flatMap { $0.map(Float.init) }
            } else {
                predictions = try #require(entry["predictions"] as? [Double]).map(Float.init)
            }
            for (variant, w) in [("unweighted", nil as [Float]?), ("weighted", weights)] {
                let expected = try #require(entry[variant] as? [String: Double])
                for (metricName, value) in expected.sorted(by: { $0.key < $1.key }) {
                    if name == "multiclass" && metricName == "auc" { continue } // multiclass AUC is not an XGBoost-container metric here
                    let metric = try #require(TreeMetric(name: metricName), "\(metricName)")
                    let ours = metric.evaluate(predictions: predictions, outputs: outputs, labels: labels, weights: w)
                    #expect(abs(ours - value) <= 1e-6 * max(1, abs(value)), "\(name) \(variant) \(metricName): ours \(ours) vs XGBoost \(value)")
                    checked += 1
                }
            }
        }
        #expect(checked >= 30)
    }

    @Test("the container's scikit-learn metrics equal its values on the same margins (binary, ties, multiclass, regression)")
    func containerMetrics() throws {
        let all = try XGBoostFixtures.json("metric_reference.json")
        let cases = try #require(all["cases"] as? [String: [String: Any]])
        let container = try #require(all["sagemaker_container_metrics"] as? [String: Any])
        for name in ["binary", "binary_ties", "multiclass", "regression"] {
            let entry = try #require(cases[name]), expectations = try #require(container[name] as? [String: Any])
            let values = try #require(expectations["values"] as? [String: Any])
            let labels = try #require(entry["labels"] as? [Double]).map(Float.init)
            var width = 1
            let margins: [Float]
            if let rows = entry["margins"] as? [[Double]] {
                width = rows[0].count
                margins = rows.flatMap { $0.map(Float.init) }
            } else {
                margins = try #require(entry["margins"] as? [Double]).map(Float.init)
            }
            for (metricName, value) in values.sorted(by: { $0.key < $1.key }) {
                guard let expected = value as? Double, let metric = TreeMetric(name: metricName), metric.isContainerMetric else { continue }
                let ours = metric.evaluate(predictions: margins, outputs: width, margins: margins, marginWidth: width, labels: labels, weights: nil)
                #expect(abs(ours - expected) <= 1e-6 * max(1, abs(expected)), "\(name) \(metricName): ours \(ours) vs container \(expected)")
            }
        }
    }

    @Test("per-round lines are XGBoost's, and the container's metric regex reads them")
    func roundLine() throws {
        let evaluation = RoundEvaluation(iteration: 7, values: [("train", "auc", 0.987654321), ("validation", "auc", 0.95)])
        #expect(evaluation.line == "[7]\ttrain-auc:0.98765\tvalidation-auc:0.95000")
        // The container's MetricDefinition regex, with the scraped tab (#011) replaced by a real one.
        let regex = try Regex(".*\\[[0-9]+\\].*\tvalidation-auc:(\\S+)")
        let match = try #require(evaluation.line.firstMatch(of: regex))
        #expect(match.output[1].substring.map(String.init) == "0.95000")
    }
}
