import Foundation
import MLCore

/// Rows for the trees: features (dense or sparse; NaN or absent = missing), one label per row,
/// optional weights.
public struct TreeDataset: Sendable {
    public var features: Features
    public var labels: [Float]
    public var weights: [Float]?

    public init(features: Features, labels: [Float], weights: [Float]? = nil) {
        self.features = features
        self.labels = labels
        self.weights = weights
    }

    public var rows: Int { features.rows }

    func check(_ name: String, featureCount: Int?, objective: TreeObjective, numClass: Int) throws(TreeDataError) {
        guard rows > 0 else { throw TreeDataError("the \(name) data has no rows") }
        guard labels.count == rows else { throw TreeDataError("the \(name) data has \(rows) rows but \(labels.count) labels") }
        if let featureCount, features.columns != featureCount {
            throw TreeDataError("the \(name) data has \(features.columns) features; the train data has \(featureCount)")
        }
        if let weights {
            guard weights.count == rows else { throw TreeDataError("the \(name) data has \(rows) rows but \(weights.count) weights") }
            if let bad = weights.firstIndex(where: { !($0 >= 0 && $0.isFinite) }) {
                throw TreeDataError("the \(name) data's weight \(weights[bad]) of row \(bad + 1) is invalid: weights must be finite and ≥ 0")
            }
        }
        if let error = labels.withUnsafeBufferPointer({ objective.checkLabels($0, numClass: numClass) }) {
            throw TreeDataError("the \(name) data's " + error.message)
        }
    }
}

/// One round's metric values, per data set, in the order XGBoost prints them.
public struct RoundEvaluation: Sendable, Equatable {
    public var iteration: Int
    /// (data set, metric, value), data sets in the order given (train, then validation).
    public var values: [(data: String, metric: String, value: Double)]

    public static func == (a: RoundEvaluation, b: RoundEvaluation) -> Bool {
        a.iteration == b.iteration && a.values.count == b.values.count
            && zip(a.values, b.values).allSatisfy { $0.data == $1.data && $0.metric == $1.metric && $0.value == $1.value }
    }

    /// The line XGBoost's `EvaluationMonitor` prints: `[3]\ttrain-auc:0.97000\tvalidation-auc:0.95000`.
    public var line: String {
        "[\(iteration)]" + values.map { "\t\($0.data)-\($0.metric):" + String(format: "%.5f", $0.value) }.joined()
    }
}

/// Trains XGBoost-compatible boosted trees with the histogram method.
///
/// The model depends only on the data, the hyperparameters and the seed: histograms are exact
/// integer sums and every random draw comes from `RandomStream(seed, path: [round, …])`, so the
/// same trees come out for any `threads`, and a run resumed from a checkpoint ends with the same
/// model as one that was never interrupted.
public struct BoostedTreesTrainer: Sendable {
    public let hyperparameters: XGBoostHyperparameters
    public let threads: Int
    /// Where the ranks run (`nil`, or one rank: this process's threads). With several ranks every
    /// rank holds all the rows and builds the histograms of its contiguous share of each tree's
    /// rows; the integer histograms are summed across the ranks, so the trees are the same bits
    /// as one process's (`reg:absoluteerror`, whose leaves are medians of rows, is refused).
    public var group: (any WorkerGroup)?

    public init(hyperparameters: XGBoostHyperparameters, threads: Int? = nil) {
        self.hyperparameters = hyperparameters
        self.threads = max(1, threads ?? hyperparameters.nthread ?? ComputeContext.defaultThreadCount())
    }

    public struct Result: Sendable {
        public var model: BoostedTreesModel
        public var history: [RoundEvaluation]
        /// Whether training stopped for a cancellation (the model has the rounds finished so far).
        public var cancelled: Bool
        public var bestIteration: Int?
        public var binningSeconds: Double
        public var roundSeconds: Double
    }

    /// Trains on `train`, printing metrics for `train` and `validation` every round (the
    /// container's evals), continuing `resumingFrom` (a checkpoint's model) for the remaining
    /// rounds. `checkpoint` receives the model after every round. `trainMonitor`, when given, is
    /// what the metrics call "train" instead of the rows trained on (k-fold: the container
    /// reports the whole train channel for every fold).
    public func fit(train: TreeDataset, validation: TreeDataset? = nil, evaluateTrain: Bool = true, trainMonitor: TreeDataset? = nil,
                    resumingFrom resumed: BoostedTreesModel? = nil, cancellation: CancellationFlag? = nil,
                    events: (RoundEvaluation) -> Void = { _ in },
                    checkpoint: (BoostedTreesModel, Int) throws -> Void = { _, _ in }) throws -> Result {
        guard let group, group.size > 1 else {
            return try fit(train: train, validation: validation, evaluateTrain: evaluateTrain, trainMonitor: trainMonitor,
                           resumingFrom: resumed, cancellation: cancellation, comm: nil, events: events, checkpoint: checkpoint)
        }
        return try withoutActuallyEscaping(events) { events in
            try withoutActuallyEscaping(checkpoint) { checkpoint in
                // Only rank 0 calls them (so never two threads at once), and only while `run` waits;
                // the box lets go of them before this scope ends (the ranks' threads may outlive it).
                let calls = UncheckedCalls(events: events, checkpoint: checkpoint)
                defer { calls.release() }
                let trainer = self
                return try group.run { comm in
                    try trainer.fit(train: train, validation: validation, evaluateTrain: evaluateTrain, trainMonitor: trainMonitor,
                                    resumingFrom: resumed, cancellation: cancellation, comm: comm,
                                    events: { if comm.rank == 0 { calls.events?($0) } },
                                    checkpoint: { model, round in if comm.rank == 0 { try calls.checkpoint?(model, round) } })
                }
            }
        }
    }

    /// ``fit(train:validation:evaluateTrain:trainMonitor:resumingFrom:cancellation:events:checkpoint:)``
    /// as one rank of `comm` (`nil`: the only one).
    func fit(train: TreeDataset, validation: TreeDataset?, evaluateTrain: Bool, trainMonitor: TreeDataset?,
             resumingFrom resumed: BoostedTreesModel?, cancellation: CancellationFlag?, comm: (any Communicator)?,
             events: (RoundEvaluation) -> Void, checkpoint: (BoostedTreesModel, Int) throws -> Void) throws -> Result {
        let ranked = comm.map { $0.size > 1 } ?? false
        let reductionFailure = ReductionFailure()
        if ranked, hyperparameters.objective == .absoluteError {
            throw TreeDataError("objective reg:absoluteerror does not train across several processes (its leaves are medians of each "
                                + "leaf's rows, which no rank holds all of); train it in one process")
        }
        let hp = hyperparameters
        let objective = hp.objective
        let numClass = hp.numClass
        let outputs = objective.isMulticlass ? numClass : 1
        try train.check("train", featureCount: nil, objective: objective, numClass: numClass)
        let d = train.features.columns
        try validation?.check("validation", featureCount: d, objective: objective, numClass: numClass)
        try trainMonitor?.check("train", featureCount: d, objective: objective, numClass: numClass)
        if let resumed, resumed.featureCount != d || resumed.outputs != outputs || resumed.objective != objective
            || resumed.numParallelTree != hp.numParallelTree {
            throw TreeDataError("the checkpoint's model (\(resumed.featureCount) features, \(resumed.objective.name), "
                                + "num_parallel_tree \(resumed.numParallelTree)) does not match this job")
        }
        try hp.checkConstraints(featureCount: d)
        let n = train.rows
        let clock = ContinuousClock()
        let binStart = clock.now
        let weights = Self.effectiveWeights(train, objective: objective, scalePosWeight: hp.scalePosWeight)
        let matrix = BinnedMatrix(train.features, maxBin: hp.maxBin, weights: train.weights, threads: threads)
        let binningSeconds = Self.seconds(binStart.duration(to: clock.now))

        // Rounded to Float, as model files store them, so a model read back (a checkpoint) has
        // exactly the base it was trained with.
        let baseScores = resumed?.baseScores ?? (hp.baseScore.map { [$0] }
            ?? Self.estimateBaseScores(train, weights: weights, objective: objective, numClass: numClass)).map { Double(Float($0)) }
        var model = resumed ?? BoostedTreesModel(objective: objective, numClass: numClass, featureCount: d, baseScores: baseScores)
        model.huberSlope = hp.huberSlope
        model.numParallelTree = hp.numParallelTree
        // Margins so far: the base, plus the resumed trees (Float sums in tree order, as the
        // model predicts, so resuming reproduces the uninterrupted margins exactly).
        var trainMargins = try model.margins(train.features, threads: threads)
        var validationMargins = try validation.map { v throws(TreeDataError) in try model.margins(v.features, threads: threads) }
        var monitorMargins = try trainMonitor.map { v throws(TreeDataError) in try model.margins(v.features, threads: threads) }
        var history: [RoundEvaluation] = []
        let rules = SplitRules(lambda: hp.lambda, alpha: hp.alpha, maxDeltaStep: hp.maxDeltaStep,
                               minChildWeight: hp.minChildWeight, gamma: hp.gamma)
        let parallelTrees = hp.numParallelTree
        // XGBoost divides the learning rate among a round's parallel trees.
        let eta = hp.eta / Double(parallelTrees)
        var grower = TreeGrower(matrix: matrix, rules: rules, eta: eta, maxDepth: hp.maxDepth, threads: threads,
                                features: [], reduce: Self.histogramReduction(comm, failure: reductionFailure),
                                maxLeaves: hp.maxLeaves, lossguide: hp.lossguide)
        grower.distributed = ranked
        grower.levelShare = hp.colsampleByLevel
        grower.nodeShare = hp.colsampleByNode
        grower.seed = hp.seed
        // Constraints past the given entries are 0; all-zero constraints are none at all.
        grower.monotone = hp.monotoneConstraints.contains(where: { $0 != 0 })
            ? hp.monotoneConstraints + Array(repeating: 0, count: d - hp.monotoneConstraints.count) : []
        grower.interactionSets = hp.interactionConstraints
        var gradients = [Float](repeating: 0, count: n * outputs)
        var hessians = [Float](repeating: 0, count: n * outputs)
        // The best round so far travels in the model's attributes, so a resumed run continues
        // early stopping exactly where the checkpoint left it.
        var best: (iteration: Int, score: Double)? = resumed.flatMap { m in m.bestIteration.flatMap { i in m.bestScore.map { (i, $0) } } }
        let stoppingMetric = hp.earlyStoppingMetric
        var cancelled = false
        var stopped = false
        let allRows = (0..<n).map { UInt32($0) }
        let roundStart = clock.now
        for round in model.rounds..<hp.numRound {
            var stop = cancellation?.isCancelled == true
            if ranked, let comm {
                // Every rank stops at the same round, or a rank would wait alone in a reduction.
                var flag = [stop ? 1.0 : 0.0]
                try comm.allReduceSum(&flag)
                stop = flag[0] > 0
            }
            if stop { cancelled = true; break }
            computeGradients(margins: trainMargins, dataset: train, weights: weights, outputs: outputs,
                             gradients: &gradients, hessians: &hessians)
            try checkGradients(round: round, gradients: gradients, hessians: hessians, margins: trainMargins, dataset: train, weights: weights)
            // Per output, `num_parallel_tree` trees on the same gradients, each with its own row
            // and column samples (its own random path), in XGBoost's order: group-major.
            for k in 0..<outputs {
                let q = quantize(gradients: gradients, hessians: hessians, output: k, outputs: outputs, rows: n)
                var grown: [TreeGrower.Result] = []
                for p in 0..<parallelTrees {
                    let path = Self.treePath(round: round, output: k, parallel: p)
                    let rows = hp.subsample < 1 ? sampleRows(n: n, path: path) : allRows
                    var treeGrower = grower
                    treeGrower.features = sampleFeatures(d: d, path: path)
                    treeGrower.samplingPath = path
                    var tree = treeGrower.grow(rows: ranked ? Self.share(of: rows, comm: comm) : rows, gradients: q)
                    if let error = reductionFailure.take() { throw error }
                    if objective == .absoluteError {
                        refitMedianLeaves(&tree, dataset: train, weights: weights, margins: trainMargins, eta: eta)
                    }
                    grown.append(tree)
                }
                // Margins move only after the round's trees are grown (reg:absoluteerror's leaf
                // refit reads the margins of the round's start, as XGBoost's does).
                for tree in grown {
                    // A rank's grown tree lists its own rows only: walk every row through it instead.
                    apply(tree, to: &trainMargins, output: k, outputs: outputs, matrix: matrix, sampled: ranked || tree.rows.count < n)
                    if let validation, validationMargins != nil {
                        Self.addTree(tree.tree, features: validation.features, to: &validationMargins!, output: k, outputs: outputs, threads: threads)
                    }
                    if let trainMonitor, monitorMargins != nil {
                        Self.addTree(tree.tree, features: trainMonitor.features, to: &monitorMargins!, output: k, outputs: outputs, threads: threads)
                    }
                    model.trees.append(tree.tree)
                    model.treeGroups.append(k)
                }
            }
            // Metrics: train (when asked), then validation, each metric in order.
            var evaluation = RoundEvaluation(iteration: round, values: [])
            let trainSet = trainMonitor.flatMap { m in monitorMargins.map { (m, $0) } } ?? (train, trainMargins)
            let sets: [(String, TreeDataset, [Float])] = (evaluateTrain ? [("train", trainSet.0, trainSet.1)] : [])
                + (validation.flatMap { v in validationMargins.map { [("validation", v, $0)] } } ?? [])
            for (name, data, margins) in sets {
                // XGBoost's EvalTransform: metrics of multi:softmax see class probabilities too.
                var evaluated = model
                if objective == .multiSoftmax { evaluated.objective = .multiSoftprob }
                let predictions = evaluated.transform(margins: margins)
                for metric in hp.evalMetrics {
                    let value = metric.evaluate(predictions: predictions, outputs: evaluated.predictionWidth, margins: margins,
                                                marginWidth: outputs, labels: data.labels, weights: data.weights, huberSlope: hp.huberSlope)
                    evaluation.values.append((name, metric.name, value))
                }
            }
            if !evaluation.values.isEmpty {
                history.append(evaluation)
                events(evaluation)
            }
            if let rounds = hp.earlyStoppingRounds, validation != nil, let metric = stoppingMetric,
               let score = evaluation.values.last(where: { $0.data == "validation" && $0.metric == metric.name })?.value {
                if best == nil || (metric.maximize ? score > best!.score : score < best!.score) { // invariant: best checked non-nil first
                    best = (round, score)
                }
                // invariant: best was set just above
                model.bestIteration = best!.iteration
                model.bestScore = best!.score // invariant: as above
                if round - best!.iteration >= rounds { // invariant: as above
                    try checkpoint(model, round + 1)
                    stopped = true
                    break
                }
            }
            try checkpoint(model, round + 1)
        }
        _ = stopped
        if let best, hp.earlyStoppingRounds != nil, !cancelled {
            // Keep the best iteration's trees: every prediction (ours or XGBoost's) is then the best model's.
            let kept = (best.iteration + 1) * model.treesPerRound
            model.trees = Array(model.trees.prefix(kept))
            model.treeGroups = Array(model.treeGroups.prefix(kept))
            model.bestIteration = best.iteration
            model.bestScore = best.score
        }
        return Result(model: model, history: history, cancelled: cancelled, bestIteration: best?.iteration,
                      binningSeconds: binningSeconds, roundSeconds: Self.seconds(roundStart.duration(to: clock.now)))
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Weights with `scale_pos_weight` applied to positive rows of binary objectives.
    static func effectiveWeights(_ data: TreeDataset, objective: TreeObjective, scalePosWeight: Double) -> [Float]? {
        guard objective.isBinary || objective == .logisticRegression, scalePosWeight != 1 else { return data.weights }
        let s = Float(scalePosWeight)
        return data.labels.indices.map { i in (data.weights?[i] ?? 1) * (data.labels[i] == 1 ? s : 1) }
    }

    /// XGBoost's intercept when `base_score` is not given: the weighted mean of the labels (the
    /// weighted median for reg:absoluteerror), 0.5 for hinge; for multiclass objectives one
    /// margin per class, the centred logarithms of the classes' weighted frequencies (what
    /// XGBoost 3 fits: the softmax's maximum-likelihood intercept).
    static func estimateBaseScores(_ data: TreeDataset, weights: [Float]?, objective: TreeObjective, numClass: Int) -> [Double] {
        switch objective {
        case .multiSoftmax, .multiSoftprob:
            var mass = [Double](repeating: 0, count: numClass)
            for i in data.labels.indices { mass[Int(data.labels[i])] += Double(weights?[i] ?? 1) }
            let total = mass.reduce(0, +)
            let logs = mass.map { log(max($0 / max(total, 1e-300), 1e-16)) }
            let centre = logs.reduce(0, +) / Double(numClass)
            return logs.map { $0 - centre }
        default:
            return [estimateBaseScore(data, weights: weights, objective: objective)]
        }
    }

    static func estimateBaseScore(_ data: TreeDataset, weights: [Float]?, objective: TreeObjective) -> Double {
        switch objective {
        case .multiSoftmax, .multiSoftprob, .binaryHinge: return 0.5
        case .absoluteError:
            return weightedMedian(values: data.labels.map(Double.init), weights: data.labels.indices.map { Double(weights?[$0] ?? 1) })
        default:
            var sum = 0.0, total = 0.0
            for i in data.labels.indices {
                let w = Double(weights?[i] ?? 1)
                sum += w * Double(data.labels[i])
                total += w
            }
            let mean = total > 0 ? sum / total : 0.5
            switch objective {
            case .binaryLogistic, .binaryLogitRaw, .logisticRegression: return min(max(mean, 1e-6), 1 - 1e-6)
            case .gamma, .tweedie, .poisson: return max(mean, 1e-6)
            default: return mean
            }
        }
    }

    static func weightedMedian(values: [Double], weights: [Double]) -> Double {
        let order = values.indices.sorted { values[$0] < values[$1] }
        let total = weights.reduce(0, +)
        guard total > 0, !order.isEmpty else { return 0 }
        var running = 0.0
        for i in order {
            running += weights[i]
            if running >= total / 2 { return values[i] }
        }
        return values[order[order.count - 1]]
    }

    func computeGradients(margins: [Float], dataset: TreeDataset, weights: [Float]?, outputs: Int,
                          gradients: inout [Float], hessians: inout [Float]) {
        let n = dataset.rows
        let objective = hyperparameters.objective
        let slope = Float(hyperparameters.huberSlope)
        let poissonStep = Float(hyperparameters.values.explicitlySet.contains("max_delta_step") ? hyperparameters.maxDeltaStep : 0.7)
        let block = 16_384
        margins.withUnsafeBufferPointer { m in
            dataset.labels.withUnsafeBufferPointer { y in
                gradients.withUnsafeMutableBufferPointer { g in
                    hessians.withUnsafeMutableBufferPointer { h in
                        // invariant: every buffer has n·outputs > 0 entries (the data was checked non-empty)
                        let mp = SharedPointer(m.baseAddress!), yp = SharedPointer(y.baseAddress!)
                        let gp = SharedMutablePointer(g.baseAddress!), hp = SharedMutablePointer(h.baseAddress!)
                        let wp = weights
                        parallelFor(blocks: (n + block - 1) / block, threads: threads) { b in
                            for i in (b * block)..<min(n, (b + 1) * block) {
                                let w = wp?[i] ?? 1
                                if outputs > 1 {
                                    TreeObjective.multiclassGradients(margins: mp.base + i * outputs, classes: outputs, label: Int(yp[i]),
                                                                      weight: w, gradients: gp.base + i * outputs, hessians: hp.base + i * outputs)
                                } else {
                                    let (gi, hi) = objective.gradient(margin: mp[i], label: yp[i], weight: w, huberSlope: slope,
                                                                      poissonMaxDeltaStep: poissonStep)
                                    gp.base[i] = gi
                                    hp.base[i] = hi
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The random path of one tree: every draw for it (rows, columns by tree, level and node)
    /// comes from a stream under this path.
    static func treePath(round: Int, output: Int, parallel: Int) -> [UInt64] {
        [UInt64(round), UInt64(output), UInt64(parallel)]
    }

    /// The rows of the tree at `path`: all, or each with probability `subsample` (one uniform
    /// draw per row from a stream per block of rows, so the draw is the same for any thread count).
    func sampleRows(n: Int, path: [UInt64]) -> [UInt32] {
        let subsample = hyperparameters.subsample
        guard subsample < 1 else { return (0..<n).map { UInt32($0) } }
        var rows: [UInt32] = []
        rows.reserveCapacity(Int(Double(n) * subsample) + 64)
        let block = 65_536
        for b in 0..<((n + block - 1) / block) {
            var stream = RandomStream(seed: hyperparameters.seed, path: path + [1, UInt64(b)])
            for i in (b * block)..<min(n, (b + 1) * block) where stream.nextDouble() < subsample { rows.append(UInt32(i)) }
        }
        return rows
    }

    /// The features of the tree at `path` (colsample_bytree), ascending.
    func sampleFeatures(d: Int, path: [UInt64]) -> [Int] {
        var stream = RandomStream(seed: hyperparameters.seed, path: path + [2])
        return TreeGrower.sample(Array(0..<d), share: hyperparameters.colsampleByTree, stream: &stream)
    }

    func quantize(gradients: [Float], hessians: [Float], output k: Int, outputs: Int, rows n: Int) -> QuantizedGradients {
        // Maxima per block, then across blocks: exact, so the exponents do not depend on threads.
        let block = 65_536
        let blocks = (n + block - 1) / block
        let maxima = PartialResults<(Float, Float)>(count: blocks, placeholder: (0, 0))
        gradients.withUnsafeBufferPointer { g in
            hessians.withUnsafeBufferPointer { h in
                // invariant: n·outputs > 0
                let gp = SharedPointer(g.baseAddress!), hp = SharedPointer(h.baseAddress!)
                parallelFor(blocks: blocks, threads: threads) { b in
                    var mg: Float = 0, mh: Float = 0
                    for i in (b * block)..<min(n, (b + 1) * block) {
                        mg = max(mg, abs(gp[i * outputs + k]))
                        mh = max(mh, abs(hp[i * outputs + k]))
                    }
                    maxima.set(b, (mg, mh))
                }
            }
        }
        let largestG = maxima.values.map(\.0).max() ?? 0, largestH = maxima.values.map(\.1).max() ?? 0
        return gradients.withUnsafeBufferPointer { g in
            hessians.withUnsafeBufferPointer { h in
                // invariant: n·outputs > 0
                QuantizedGradients(gradients: g.baseAddress! + k, hessians: h.baseAddress! + k, stride: outputs, rows: n,
                                   gradientExponent: QuantizedGradients.exponent(largest: Double(largestG), rows: n),
                                   hessianExponent: QuantizedGradients.exponent(largest: Double(largestH), rows: n), threads: threads)
            }
        }
    }

    /// Adds the new tree's leaf values to the training margins: the grown rows by their leaf,
    /// rows left out by subsampling by routing their bins.
    func apply(_ grown: TreeGrower.Result, to margins: inout [Float], output k: Int, outputs: Int, matrix: BinnedMatrix, sampled: Bool) {
        let tree = grown.tree
        margins.withUnsafeMutableBufferPointer { m in
            let mp = SharedMutablePointer(m.baseAddress!) // invariant: margins are non-empty
            if sampled {
                let n = matrix.rows
                matrix.withColumnMajor { column in
                    let block = 16_384
                    parallelFor(blocks: (n + block - 1) / block, threads: threads) { b in
                        for i in (b * block)..<min(n, (b + 1) * block) {
                            var node = 0
                            while !tree.isLeaf(node) {
                                let f = Int(tree.splitIndices[node])
                                let bin = column.offset(f * n).bin(i)
                                let goLeft = bin == matrix.cuts.binCount(f) ? tree.defaultLeft[node] : bin <= Int(tree.splitBins[node])
                                node = Int(goLeft ? tree.leftChildren[node] : tree.rightChildren[node])
                            }
                            mp.base[i * outputs + k] += tree.splitConditions[node]
                        }
                    }
                }
                return
            }
            grown.rows.withUnsafeBufferPointer { r in
                let rp = SharedPointer(r.baseAddress!) // invariant: grown rows are non-empty
                let leaves = grown.leaves
                parallelFor(blocks: leaves.count, threads: threads) { j in
                    let leaf = leaves[j]
                    let value = tree.splitConditions[leaf.node]
                    for p in leaf.begin..<leaf.end { mp.base[Int(rp.base[p]) * outputs + k] += value }
                }
            }
        }
    }

    /// reg:absoluteerror: each leaf's value becomes eta × the weighted median of its rows'
    /// residuals (XGBoost's adaptive leaf update).
    func refitMedianLeaves(_ grown: inout TreeGrower.Result, dataset: TreeDataset, weights: [Float]?, margins: [Float], eta: Double) {
        for leaf in grown.leaves where leaf.end > leaf.begin {
            let rows = grown.rows[leaf.begin..<leaf.end].map(Int.init)
            let residuals = rows.map { Double(dataset.labels[$0]) - Double(margins[$0]) }
            let w = rows.map { Double(weights?[$0] ?? 1) }
            grown.tree.splitConditions[leaf.node] = Float(eta * Self.weightedMedian(values: residuals, weights: w))
        }
    }

    static func addTree(_ tree: RegressionTree, features x: Features, to margins: inout [Float], output k: Int, outputs: Int, threads: Int) {
        let single = BoostedTreesModel(objective: .squaredError, numClass: 1, featureCount: x.columns, baseScores: [0],
                                       trees: [tree], treeGroups: [0])
        // invariant: the validation set's feature count was checked against the train set's
        let add = try! single.margins(x, threads: threads) // invariant: x has the model's feature count (checked by fit)
        for i in 0..<x.rows { margins[i * outputs + k] += add[i] }
    }
}

extension BoostedTreesTrainer {
    /// Rank `comm.rank`'s contiguous share of a tree's rows (balanced; ranks past the rows get none).
    static func share(of rows: [UInt32], comm: (any Communicator)?) -> [UInt32] {
        guard let comm, comm.size > 1 else { return rows }
        let lo = comm.rank * rows.count / comm.size, hi = (comm.rank + 1) * rows.count / comm.size
        return Array(rows[lo..<hi])
    }

    /// The grower's reduction across ranks: every rank's exact integer histograms, added. They
    /// travel as Doubles with the same bits (the communicator moves bytes; nothing is computed
    /// on them as Doubles); integer sums are exact in any order. A failure is kept for the
    /// trainer to throw after the tree (the grower's reduction cannot throw).
    static func histogramReduction(_ comm: (any Communicator)?, failure: ReductionFailure) -> (inout [Int64]) -> Void {
        guard let comm, comm.size > 1 else { return { _ in } }
        return { histograms in
            guard !failure.failed else { return }
            do {
                let all = try comm.allGather(histograms.map { Double(bitPattern: UInt64(bitPattern: $0)) })
                for (r, part) in all.enumerated() where part.count != histograms.count {
                    throw CommunicatorError.mismatch(operation: "histograms", reason: "rank \(r) sent \(part.count) values, rank \(comm.rank) \(histograms.count)")
                }
                for i in histograms.indices {
                    var sum: Int64 = 0
                    for part in all { sum &+= Int64(bitPattern: part[i].bitPattern) }
                    histograms[i] = sum
                }
            } catch {
                failure.record(error)
            }
        }
    }
}

/// The first error of a histogram reduction, for the trainer to throw after the tree.
final class ReductionFailure: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?
    var failed: Bool { lock.lock(); defer { lock.unlock() }; return error != nil }
    func record(_ e: any Error) { lock.lock(); if error == nil { error = e }; lock.unlock() }
    func take() -> (any Error)? { lock.lock(); defer { lock.unlock() }; return error }
}

/// The caller's callbacks, handed to the ranks of one ``WorkerGroup/run(_:)`` call: only rank 0
/// calls them, `run` returns before the caller's scope ends, and ``release()`` drops them then.
private final class UncheckedCalls: @unchecked Sendable {
    private(set) var events: ((RoundEvaluation) -> Void)?
    private(set) var checkpoint: ((BoostedTreesModel, Int) throws -> Void)?
    init(events: @escaping (RoundEvaluation) -> Void, checkpoint: @escaping (BoostedTreesModel, Int) throws -> Void) {
        self.events = events
        self.checkpoint = checkpoint
    }
    func release() {
        events = nil
        checkpoint = nil
    }
}

