/// Training that left float32 arithmetic: named with its round and likely cause instead of a
/// trap in the gradient quantizer or a model of NaN leaves (docs/reliability.md "Faults").
public struct TreeDivergenceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The round (0-based, as the `[round]` of XGBoost's metric lines) whose gradients were not finite.
    public var round: Int
    public var reason: String
    public var likelyCause: String

    public var description: String {
        "training diverged in round \(round): \(reason); likely cause: \(likelyCause)"
    }
}

extension BoostedTreesTrainer {
    /// Throws ``TreeDivergenceError`` when a gradient or hessian of the round is NaN or ±∞ (the
    /// quantizer turns them into fixed-point integers, which has no room for them). Every rank
    /// holds every row's margins, so every rank finds the same answer at the same round.
    func checkGradients(round: Int, gradients: [Float], hessians: [Float], margins: [Float], dataset: TreeDataset,
                        weights: [Float]?) throws(TreeDivergenceError) {
        guard let bad = gradients.indices.first(where: { !gradients[$0].isFinite || !hessians[$0].isFinite }) else { return }
        let count = gradients.indices.reduce(0) { $0 + (gradients[$1].isFinite && hessians[$1].isFinite ? 0 : 1) }
        let outputs = max(1, gradients.count / max(1, dataset.rows))
        let row = bad / outputs
        let reason = "the gradients of \(count) row(s) are not finite (row \(row + 1): gradient \(gradients[bad]), hessian \(hessians[bad]), "
            + "label \(dataset.labels[row]), margin \(margins[bad]))"
        let largestLabel = dataset.labels.reduce(Float(0)) { max($0, abs($1).isNaN ? 0 : abs($1)) }
        let largestWeight = weights?.reduce(Float(0)) { max($0, $1) } ?? 1
        let cause: String
        if largestLabel > 1e18 {
            cause = "labels as large as \(largestLabel) overflow float32 arithmetic (the gradient is prediction − label; squares "
                + "overflow above 1.8e19); scale the labels down (divide by a constant) and the predictions back up"
        } else if largestWeight > 1e18 {
            cause = "instance weights as large as \(largestWeight) overflow float32 arithmetic; scale the weights down"
        } else {
            let largestMargin = margins.reduce(Float(0)) { max($0, abs($1).isNaN ? .infinity : abs($1)) }
            cause = "the predictions grew without bound (largest |margin| \(largestMargin)); lower eta "
                + "(now \(hyperparameters.eta)) or set max_delta_step (e.g. 1), which caps every leaf's step"
        }
        throw TreeDivergenceError(round: round, reason: reason, likelyCause: cause)
    }
}
