import Foundation
import MLCore

/// Scores and metrics of a raw-space linear model on a channel, named as SageMaker's Linear
/// Learner prints them (reference §4.1 "Metric names actually printed").
///
/// The objective is the training loss with the same class and example weights, in label
/// units (the squared losses doubled, so `squared_loss` reports the mean squared error). Quality metrics weigh rows by their example weights only (not by class weights).
enum LinearEvaluation {
    /// Raw scores `X·W + b` (before the sigmoid or softmax), rows × outputs.
    static func scores(model: LinearModel, features: Features) throws -> Matrix<Float> {
        var out = Matrix<Float>(rows: features.rows, columns: model.layout.outputs)
        try model.layout.scores(features, parameters: model.parameters, into: &out)
        return out
    }

    /// Model `model`'s `outputs` columns of scores of several models side by side.
    static func columns(of scores: Matrix<Float>, model: Int, outputs: Int) -> Matrix<Float> {
        if scores.columns == outputs { return scores }
        var out = Matrix<Float>(rows: scores.rows, columns: outputs)
        let c = scores.columns, first = model * outputs
        scores.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                for i in 0..<scores.rows {
                    for j in 0..<outputs { o[i * outputs + j] = s[i * c + first + j] }
                }
            }
        }
        return out
    }

    /// The weighted mean objective of raw-space `scores` against the dataset's labels: the
    /// loss in label units (× ``LinearObjective/reportScale``), each row weighted by its
    /// example weight and, for classifiers, its class weight.
    static func objective(_ objective: LinearObjective, scores: Matrix<Float>, dataset: LinearDataset, classWeights: [Double]) -> Double {
        let n = dataset.rows, k = scores.columns
        var loss = 0.0, total = 0.0
        scores.withUnsafeBufferPointer { s in
            for i in 0..<n {
                let y = Double(dataset.labels[i])
                var w = Double(dataset.weights?[i] ?? 1)
                if objective.isClassification { w *= classWeights[Int(y)] }
                loss += w * objective.loss(scores: UnsafeBufferPointer(rebasing: s[(i * k)..<(i * k + k)]), label: y)
                total += w
            }
        }
        return total > 0 ? objective.reportScale * loss / total : 0
    }

    /// The objective and the accuracy-type metric reported every epoch.
    static func epochMetrics(settings: LinearLearnerSettings, scores: Matrix<Float>, dataset: LinearDataset,
                             classWeights: [Double], threshold: Float) throws -> [MetricValue] {
        let channel = dataset.channel
        var out = [MetricValue(channel: channel, name: settings.objective.metricName, kind: .loss,
                               value: objective(settings.objective, scores: scores, dataset: dataset, classWeights: classWeights))]
        switch settings.predictorType {
        case .binaryClassifier, .multiclassClassifier:
            let name = settings.predictorType == .binaryClassifier ? "binary_classification_accuracy" : "multiclass_accuracy"
            let predicted = LinearModel.labels(fromScores: scores, threshold: threshold,
                                               probabilities: settings.objective.scoresAreProbabilities)
            let accuracy = try Metrics.accuracy(labels: dataset.labels, predictions: predicted, weights: dataset.weights)
            out.append(MetricValue(channel: channel, name: name, kind: .score, value: accuracy))
        case .regressor:
            break
        }
        return out
    }

    /// Everything SageMaker reports for the final model on a channel.
    static func finalMetrics(settings: LinearLearnerSettings, scores: Matrix<Float>, dataset: LinearDataset,
                             classWeights: [Double], threshold: Float) throws -> [MetricValue] {
        let channel = dataset.channel, y = dataset.labels, w = dataset.weights
        func metric(_ name: String, _ kind: MetricKind, _ value: Double) -> MetricValue {
            MetricValue(channel: channel, name: name, kind: kind, value: value)
        }
        let full = settings.objective
        var out = [metric(full.metricName, .loss, objective(full, scores: scores, dataset: dataset, classWeights: classWeights))]
        let predicted = LinearModel.labels(fromScores: scores, threshold: threshold, probabilities: full.scoresAreProbabilities)
        let beta = String(format: "%.3f", settings.selection.fBeta)
        switch settings.predictorType {
        case .binaryClassifier:
            out.append(metric("binary_classification_accuracy", .score, try Metrics.accuracy(labels: y, predictions: predicted, weights: w)))
            out.append(metric("binary_f_\(beta)", .score, try Metrics.fBetaScore(labels: y, predictions: predicted, beta: settings.selection.fBeta, weights: w)))
            out.append(metric("precision", .score, try Metrics.precision(labels: y, predictions: predicted, weights: w)))
            out.append(metric("recall", .score, try Metrics.recall(labels: y, predictions: predicted, weights: w)))
            // AUC needs both classes; a channel with one class simply has no AUC.
            if let auc = try? Metrics.rocAUC(labels: y, scores: scores.elements, weights: w) {
                out.append(metric("roc_auc_score", .score, auc))
            }
        case .multiclassClassifier:
            let k = settings.classCount
            out.append(metric("multiclass_accuracy", .score, try Metrics.accuracy(labels: y, predictions: predicted, weights: w)))
            out.append(metric("multiclass_top_k_accuracy_\(settings.accuracyTopK)", .score,
                              try Metrics.topKAccuracy(labels: y, scores: scores, k: settings.accuracyTopK, weights: w)))
            out.append(metric("dcg", .score, discountedCumulativeGain(scores: scores, labels: y, weights: w)))
            out.append(metric("macro_recall", .score, try Metrics.macroRecall(labels: y, predictions: predicted, classCount: k, weights: w)))
            out.append(metric("macro_precision", .score, try Metrics.macroPrecision(labels: y, predictions: predicted, classCount: k, weights: w)))
            out.append(metric("macro_f_\(beta)", .score,
                              try Metrics.macroFBetaScore(labels: y, predictions: predicted, beta: settings.selection.fBeta, classCount: k, weights: w)))
            out.append(metric("multiclass_balanced_accuracy", .score, try Metrics.balancedAccuracy(labels: y, predictions: predicted, weights: w)))
            // SageMaker tags this one <score> although it is a loss (reference §4.1).
            out.append(metric("multiclass_log_loss", .score,
                              objective(full, scores: scores, dataset: dataset, classWeights: [Double](repeating: 1, count: k))))
        case .regressor:
            let s = scores.elements
            let mse = try Metrics.meanSquaredError(labels: y, predictions: s, weights: w)
            out.append(metric("mse", .loss, mse))
            out.append(metric("rmse", .loss, mse.squareRoot()))
            out.append(metric("absolute_loss", .loss, try Metrics.meanAbsoluteError(labels: y, predictions: s, weights: w)))
        }
        return out
    }

    /// Mean of `1 / log₂(1 + rank)` of the true class, rank 1 being the highest score (ties
    /// ranked in the true class's favour) — the one-relevant-item DCG SageMaker reports for
    /// multiclass models (its formula is not documented; this is the standard one).
    static func discountedCumulativeGain(scores: Matrix<Float>, labels: [Float], weights: [Float]?) -> Double {
        let k = scores.columns
        var sum = 0.0, total = 0.0
        scores.withUnsafeBufferPointer { s in
            for i in 0..<scores.rows {
                let y = Int(labels[i]), sy = s[i * k + y]
                var rank = 1
                for j in 0..<k where s[i * k + j] > sy { rank += 1 }
                let w = Double(weights?[i] ?? 1)
                sum += w / log2(Double(1 + rank))
                total += w
            }
        }
        return total > 0 ? sum / total : 0
    }
}
