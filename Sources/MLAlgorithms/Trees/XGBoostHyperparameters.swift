/// SageMaker XGBoost's hyperparameters (reference §4.4), parsed and validated from the string map
/// before any data is read.
///
/// Every name of §4.4's table is recognised with the container's validation range. Aliases
/// (`learning_rate`, `min_split_loss`, `reg_lambda`, `reg_alpha`) are read as their canonical
/// names; giving both spellings is an error. `booster` other than `gbtree`, `rank:*` and
/// `survival:*` objectives and GPU-only values are refused, with the reason.
public struct XGBoostHyperparameters: Sendable, Equatable {
    public let values: HyperparameterSet
    public let numRound: Int
    public let objective: TreeObjective
    /// Classes for the multiclass objectives, 1 otherwise.
    public let numClass: Int
    /// The metrics printed each round, in order (the objective's default when none is given).
    public let evalMetrics: [TreeMetric]
    /// What early stopping watches on validation: `_tuning_objective_metric` when given, else the
    /// last of `evalMetrics` (as the container chooses).
    public let earlyStoppingMetric: TreeMetric?
    public let eta: Double
    public let gamma: Double
    /// 0: no limit.
    public let maxDepth: Int
    /// `grow_policy=lossguide`: best-first growth (the default is depthwise).
    public let lossguide: Bool
    /// `max_leaves` (0: no limit), honoured by both growth policies as XGBoost does.
    public let maxLeaves: Int
    public let minChildWeight: Double
    public let maxDeltaStep: Double
    public let subsample: Double
    public let colsampleByTree: Double
    /// Share of the tree's features each depth samples (drawn once per depth of each tree).
    public let colsampleByLevel: Double
    /// Share of the level's features each node samples (drawn for every node evaluated).
    public let colsampleByNode: Double
    /// −1, 0 or 1 per feature from feature 0 (empty: none); features past the end are free.
    public let monotoneConstraints: [Int]
    /// Sets of features allowed on one path (`nil`: no constraint).
    public let interactionConstraints: [[Int]]?
    /// Trees per round per output (a boosted random forest when > 1; eta is divided by it).
    public let numParallelTree: Int
    /// `_kfold`: train this many fold models on train + validation (`nil`: one model).
    public let kfold: Int?
    /// `_num_cv_round`: repeats of the k-fold split (each a fresh shuffle).
    public let numCVRound: Int
    public let lambda: Double
    public let alpha: Double
    public let maxBin: Int
    public let scalePosWeight: Double
    /// In the prediction space (a probability for logistic objectives); `nil`: estimated from the
    /// labels, as XGBoost does when it is not given.
    public let baseScore: Double?
    public let seed: UInt64
    /// `nil`: every core the machine (or its CPU quota) gives.
    public let nthread: Int?
    public let verbosity: Int
    public let csvWeights: Bool
    public let earlyStoppingRounds: Int?
    public let saveModelOnTermination: Bool
    /// `reg:tweedie`'s variance power ρ ∈ (1, 2).
    public let tweedieVariancePower: Double
    /// `reg:pseudohubererror`'s δ.
    public let huberSlope: Double

    /// The canonical name of each alias XGBoost accepts.
    public static let aliases: [String: String] = [
        "learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda", "reg_alpha": "alpha",
    ]

    /// Parses the algorithm's hyperparameters. `_tuning_objective_metric`, when present, is merged
    /// into `eval_metric` as the container does (appended when not already listed, so that early
    /// stopping, which watches the last metric, watches it).
    public init(strings given: [String: String]) throws(HyperparameterError) {
        var strings = given
        for (alias, canonical) in Self.aliases.sorted(by: { $0.key < $1.key }) {
            guard let value = strings.removeValue(forKey: alias) else { continue }
            if strings[canonical] != nil {
                throw .invalid(name: alias, value: value, rule: "an alias of '\(canonical)', which is also given; give one of them")
            }
            strings[canonical] = value
        }
        values = try HyperparameterSet(definitions: Self.definitions, strings: strings)
        numRound = values.integer("num_round")! // invariant: required, checked by the parser
        let objectiveName = values.word("objective") ?? "reg:squarederror"
        guard let objective = TreeObjective(name: objectiveName) else {
            let reason = objectiveName.hasPrefix("rank:") || objectiveName.hasPrefix("survival:")
                ? "learning-to-rank and survival objectives are not part of MLCore's trees (documented in docs/algorithms/xgboost.md)"
                : "unknown objective"
            throw .unsupported(name: "objective", value: objectiveName, reason: reason)
        }
        if case .tweedie = objective {
            self.objective = .tweedie(variancePower: values.real("tweedie_variance_power") ?? 1.5)
        } else {
            self.objective = objective
        }
        if let classes = values.integer("num_class") {
            guard objective.isMulticlass else {
                throw .invalid(name: "num_class", value: String(classes),
                               rule: "only with objective multi:softmax or multi:softprob (objective is \(objectiveName))")
            }
            numClass = classes
        } else if objective.isMulticlass {
            throw .missing(name: "num_class", rule: "integer ≥ 2, required by objective \(objectiveName)")
        } else {
            numClass = 1
        }
        eta = values.real("eta") ?? 0.3
        gamma = values.real("gamma") ?? 0
        maxDepth = values.integer("max_depth") ?? 6
        lossguide = values.word("grow_policy") == "lossguide"
        maxLeaves = values.integer("max_leaves") ?? 0
        minChildWeight = values.real("min_child_weight") ?? 1
        maxDeltaStep = values.real("max_delta_step") ?? 0
        subsample = values.real("subsample") ?? 1
        colsampleByTree = values.real("colsample_bytree") ?? 1
        colsampleByLevel = values.real("colsample_bylevel") ?? 1
        colsampleByNode = values.real("colsample_bynode") ?? 1
        monotoneConstraints = try Self.parseMonotoneConstraints(values.word("monotone_constraints") ?? "()")
        interactionConstraints = try values.word("interaction_constraints").map { text throws(HyperparameterError) in
            try Self.parseInteractionConstraints(text)
        }
        numParallelTree = values.integer("num_parallel_tree") ?? 1
        kfold = values.integer("_kfold")
        numCVRound = values.integer("_num_cv_round") ?? 1
        if values.explicitlySet.contains("_num_cv_round"), kfold == nil {
            throw .invalid(name: "_num_cv_round", value: String(numCVRound), rule: "only with _kfold (the folds it repeats)")
        }
        lambda = values.real("lambda") ?? 1
        alpha = values.real("alpha") ?? 0
        maxBin = values.integer("max_bin") ?? 256
        scalePosWeight = values.real("scale_pos_weight") ?? 1
        baseScore = values.explicitlySet.contains("base_score") ? values.real("base_score") : nil
        seed = UInt64(UInt32(bitPattern: Int32(truncatingIfNeeded: values.integer("seed") ?? 0)))
        nthread = values.integer("nthread")
        verbosity = values.integer("verbosity") ?? 1
        csvWeights = (values.integer("csv_weights") ?? 0) == 1
        earlyStoppingRounds = values.integer("early_stopping_rounds")
        saveModelOnTermination = values.boolean("save_model_on_termination") ?? false
        tweedieVariancePower = values.real("tweedie_variance_power") ?? 1.5
        huberSlope = values.real("huber_slope") ?? 1

        var metrics: [TreeMetric] = []
        var metricText = values.word("eval_metric")
        var tuningMetric: String?
        if let tuning = values.hidden["_tuning_objective_metric"] {
            // The container strips the channel prefix ("validation:auc") and appends the name.
            let name = String(tuning.split(separator: ":").last ?? Substring(tuning))
            tuningMetric = name
            let listed = metricText?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } ?? []
            if !listed.contains(name) { metricText = (listed + [name]).joined(separator: ",") }
        }
        if let text = metricText {
            for piece in text.split(separator: ",", omittingEmptySubsequences: false) {
                let name = piece.trimmingCharacters(in: .whitespaces)
                guard let metric = TreeMetric(name: name) else {
                    throw .invalid(name: "eval_metric", value: text,
                                   rule: "a comma list of " + TreeMetric.documentedNames.joined(separator: ", ") + " ('\(name)' is not one)")
                }
                if case .auc = metric, !objective.isBinary {
                    throw .invalid(name: "eval_metric", value: text, rule: "auc needs a binary: objective (objective is \(objectiveName))")
                }
                if objective.isMulticlass, [.f1Binary, .precision, .recall].contains(metric) {
                    throw .invalid(name: "eval_metric", value: text,
                                   rule: "\(name) is binary (scikit-learn's average='binary'); with \(objectiveName) use \(name == "f1_binary" ? "f1_macro" : name + "_macro")")
                }
                if !metrics.contains(metric) { metrics.append(metric) }
            }
        } else {
            metrics = [objective.defaultMetric]
        }
        evalMetrics = metrics
        earlyStoppingMetric = tuningMetric.flatMap { name in metrics.first { $0.name == name } } ?? metrics.last
    }

    /// The hyperparameters as XGBoost's own parameter names and values, for the model's
    /// configuration block and the final configuration log line.
    public var resolved: [String: String] {
        var out: [String: String] = [:]
        for (name, value) in values.values { out[name] = value.description }
        out["objective"] = objective.name
        out["eval_metric"] = evalMetrics.map(\.name).joined(separator: ",")
        return out
    }

    /// Every hyperparameter of §4.4, defined once: the parser, the validation and
    /// docs/algorithms/xgboost.md's table read these.
    public static let definitions: [HyperparameterDefinition] = [
        .init("num_round", .integer(1...1_000_000), default: nil,
              summary: "Boosting rounds (trees per class)."),
        .init("num_class", .integer(2...1_000_000), default: nil, required: false,
              summary: "Classes, required by (and only allowed with) multi:softmax and multi:softprob."),
        .init("objective", .choice(TreeObjective.containerNames), default: "reg:squarederror",
              summary: "The loss. rank:* and survival:* are refused (not part of MLCore's trees)."),
        .init("eval_metric", .text, default: nil, required: false,
              summary: "Comma list of metrics printed each round (default: the objective's); `error@t` takes a threshold."),
        .init("booster", .choice(["gbtree", "gblinear", "dart"]), default: "gbtree",
              support: .unsupported(reason: "MLCore's boosters are trees (gbtree); gblinear and dart are not built (use the linear learner for linear models)"),
              summary: "Only `gbtree`."),
        .init("eta", .real(.unitInterval), default: "0.3", summary: "Learning rate (alias `learning_rate`): each tree's leaves are scaled by it."),
        .init("gamma", .real(.nonNegative), default: "0", summary: "Minimum loss reduction to split (alias `min_split_loss`)."),
        .init("max_depth", .integer(0...64), default: "6", summary: "Depth limit of each tree (0: none — then bound the tree by `max_leaves`, or it grows until no split gains)."),
        .init("min_child_weight", .real(.nonNegative), default: "1", summary: "Minimum hessian sum in each child."),
        .init("max_delta_step", .real(.nonNegative), default: "0", summary: "Cap on each leaf's weight before eta (0: no cap)."),
        .init("subsample", .real(RealBounds(lower: 0, lowerInclusive: false, upper: 1)), default: "1",
              summary: "Share of rows each tree samples (seeded, without replacement per row)."),
        .init("colsample_bytree", .real(RealBounds(lower: 0, lowerInclusive: false, upper: 1)), default: "1",
              summary: "Share of features each tree samples."),
        .init("colsample_bylevel", .real(RealBounds(lower: 0, lowerInclusive: false, upper: 1)), default: "1",
              summary: "Share of the tree's features each depth samples (seeded, drawn once per depth)."),
        .init("colsample_bynode", .real(RealBounds(lower: 0, lowerInclusive: false, upper: 1)), default: "1",
              summary: "Share of the level's features each node samples (seeded, drawn for every node)."),
        .init("lambda", .real(.nonNegative), default: "1", summary: "L2 regularization of leaf weights (alias `reg_lambda`)."),
        .init("alpha", .real(.nonNegative), default: "0", summary: "L1 regularization of leaf weights (alias `reg_alpha`)."),
        .init("tree_method", .choice(["auto", "exact", "approx", "hist", "gpu_hist"]), default: "auto",
              support: .unsupported(reason: "no GPU here: every CPU tree_method trains with MLCore's hist", alsoAccepted: ["exact", "approx", "hist"]),
              summary: "Every CPU method (auto, exact, approx, hist) trains with the histogram method; gpu_hist is refused."),
        .init("sketch_eps", .real(RealBounds(lower: 0, lowerInclusive: false, upper: 1, upperInclusive: false)), default: "0.03",
              summary: "Accepted for approx; the histogram method's bins come from max_bin."),
        .init("scale_pos_weight", .real(.positive), default: "1", summary: "Weight multiplier of positive rows (binary objectives)."),
        .init("updater", .text, default: nil, required: false,
              support: .unsupported(reason: "the tree updater is MLCore's histogram grower; refresh/prune/linear updaters are not built"),
              summary: "Not settable: the histogram grower."),
        .init("dsplit", .choice(["row", "col"]), default: "row",
              support: .unsupported(reason: "column-split training is not built (XGBoost deprecated it)"), summary: "Only `row`."),
        .init("refresh_leaf", .integer(0...1), default: "1", summary: "Used only by the refresh updater (process_type=update); accepted."),
        .init("process_type", .choice(["default", "update"]), default: "default",
              support: .unsupported(reason: "updating an existing model's trees (refresh/prune) is not built"), summary: "Only `default`."),
        .init("grow_policy", .choice(["depthwise", "lossguide"]), default: "depthwise",
              summary: "`depthwise` (level by level) or `lossguide` (the split that gains most first, as LightGBM grows)."),
        .init("max_leaves", .integer(0...Int(Int32.max)), default: "0",
              summary: "Leaf limit of each tree (0: none); both growth policies honour it, as XGBoost's hist does."),
        .init("max_bin", .integer(2...65_535), default: "256", summary: "Most bins per feature (exact weighted quantiles; one bin per distinct value when there are fewer)."),
        .init("predictor", .choice(["auto", "cpu_predictor", "gpu_predictor"]), default: "auto",
              support: .unsupported(reason: "no GPU here", alsoAccepted: ["cpu_predictor"]), summary: "`auto` or `cpu_predictor`."),
        .init("monotone_constraints", .text, default: "()",
              summary: "Per-feature monotonicity from feature 0, e.g. `(1,0,-1)`: 1 non-decreasing, -1 non-increasing, 0 free."),
        .init("interaction_constraints", .text, default: nil, required: false,
              summary: "Feature sets allowed on one path, e.g. `[[0,1],[2,3,4]]`; a feature in no set splits only with itself below it."),
        .init("sample_type", .choice(["uniform", "weighted"]), default: "uniform", summary: "dart only; accepted."),
        .init("normalize_type", .choice(["tree", "forest"]), default: "tree", summary: "dart only; accepted."),
        .init("rate_drop", .real(.unitInterval), default: "0", summary: "dart only; accepted."),
        .init("skip_drop", .real(.unitInterval), default: "0", summary: "dart only; accepted."),
        .init("one_drop", .integer(0...1), default: "0", summary: "dart only; accepted."),
        .init("lambda_bias", .real(.unitInterval), default: "0", summary: "gblinear only; accepted."),
        .init("tweedie_variance_power", .real(RealBounds(lower: 1, lowerInclusive: false, upper: 2, upperInclusive: false)), default: "1.5",
              summary: "reg:tweedie's variance power ρ."),
        .init("huber_slope", .real(.positive), default: "1", summary: "reg:pseudohubererror's δ (and the mphe metric's)."),
        .init("base_score", .real(.nonNegative), default: "0.5",
              summary: "Initial prediction (a probability for logistic objectives); when not given it is estimated from the labels, as XGBoost does."),
        .init("seed", .integer(Int(Int32.min)...Int(Int32.max)), default: "0", summary: "Seed of row and column sampling."),
        .init("nthread", .integer(1...4096), default: nil, required: false, summary: "Threads (default: every core the CPU quota gives)."),
        .init("verbosity", .integer(0...3), default: "1", summary: "Accepted; the per-round lines are always printed."),
        .init("csv_weights", .integer(0...1), default: "0", summary: "1: CSV column 1 (after the label) is each row's weight."),
        .init("early_stopping_rounds", .integer(1...1_000_000), default: nil, required: false,
              summary: "Stop when the validation metric (`_tuning_objective_metric`, else the last eval_metric) has not improved for this many rounds; the model keeps the best iteration."),
        .init("num_parallel_tree", .integer(1...10_000), default: "1",
              summary: "Trees per round per class (a boosted random forest): each its own row and column sample, eta divided among them."),
        .init("deterministic_histogram", .boolean, default: "true", summary: "Accepted: MLCore's histograms are always deterministic (exact integer sums)."),
        .init("single_precision_histogram", .boolean, default: "false", summary: "Accepted: histograms are exact 64-bit fixed-point sums either way."),
        .init("sampling_method", .choice(["uniform", "gradient_based"]), default: "uniform",
              support: .unsupported(reason: "gradient_based sampling is GPU-only in XGBoost"), summary: "Only `uniform`."),
        .init("aft_loss_distribution", .choice(["normal", "logistic", "extreme"]), default: "normal", summary: "survival:aft only; accepted."),
        .init("aft_loss_distribution_scale", .real(.nonNegative), default: "1", summary: "survival:aft only; accepted."),
        .init("prob_buffer_row", .real(RealBounds(lower: 1, lowerInclusive: false)), default: "1.0000001", summary: "GPU only; accepted."),
        .init("max_cached_hist_node", .integer(1...Int(Int32.max)), default: "65536", summary: "Accepted (XGBoost's cache limit)."),
        .init("save_model_on_termination", .boolean, default: "false",
              summary: "On SIGTERM, write the model trained so far to the model directory (SageMaker's option)."),
        .init("use_dask_gpu_training", .boolean, default: "false",
              support: .unsupported(reason: "no GPU here"), summary: "Only `false`."),
        .init("_kfold", .integer(2...1_000), default: nil, required: false,
              summary: "Hidden (Autopilot): k-fold cross-validation on train + validation; writes `xgboost-model-0` … one model per fold, served as an ensemble."),
        .init("_num_cv_round", .integer(1...1_000), default: "1",
              summary: "Hidden: repeats of the `_kfold` split, each a new seeded shuffle."),
    ]
}
