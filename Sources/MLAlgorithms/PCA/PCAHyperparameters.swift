/// How PCA summarizes the data (reference §4.2 `algorithm_mode`).
public enum PCAMode: String, Sendable, Equatable, CaseIterable {
    /// The exact scatter matrix Σ(x−μ)(x−μ)ᵀ, then its eigen-decomposition.
    case regular
    /// A random ±1 sketch of ℓ rows (one pass), then a Rayleigh–Ritz pass in its subspace.
    case randomized
}

/// SageMaker PCA's hyperparameters, parsed and validated from the string map before any data is read.
public struct PCAHyperparameters: Sendable, Equatable {
    public let values: HyperparameterSet
    public let featureDim: Int
    public let numComponents: Int
    public let miniBatchSize: Int
    public let mode: PCAMode
    public let subtractMean: Bool
    /// `extra_components` resolved: −1 means max(10, num_components) (reference §4.2).
    public let extraComponents: Int

    public init(strings: [String: String]) throws(HyperparameterError) {
        values = try HyperparameterSet(definitions: Self.definitions, strings: strings)
        // invariant: required definitions without defaults are present after parsing
        featureDim = values.integer("feature_dim")!
        numComponents = values.integer("num_components")! // invariant: required, checked by the parser
        miniBatchSize = values.integer("mini_batch_size")! // invariant: required, checked by the parser
        mode = values.word("algorithm_mode").flatMap(PCAMode.init(rawValue:)) ?? .regular
        subtractMean = values.boolean("subtract_mean") ?? true
        let extra = values.integer("extra_components") ?? -1
        extraComponents = extra == -1 ? max(10, numComponents) : extra
        if numComponents > featureDim {
            throw .invalid(name: "num_components", value: String(numComponents),
                           rule: "at most feature_dim (\(featureDim)): there are only \(featureDim) directions to find")
        }
        if mode == .regular, values.explicitlySet.contains("extra_components"), extra != -1 {
            throw .invalid(name: "extra_components", value: String(extra), rule: "only for algorithm_mode randomized")
        }
        // The d×d scatter of regular mode must fit in memory (8 bytes a value, and a few of them
        // while shards merge): 32,768 features is 8 GiB.
        if mode == .regular, featureDim > 32_768 {
            throw .invalid(name: "feature_dim", value: String(featureDim),
                           rule: "at most 32768 with algorithm_mode regular (its d×d scatter matrix is \(featureDim)² doubles); use algorithm_mode randomized")
        }
    }

    /// ℓ, the rows of the randomized sketch: num_components + extra_components, at most feature_dim.
    public var sketchRows: Int { min(featureDim, numComponents + extraComponents) }

    /// Every hyperparameter of §4.2, defined once: the parser, the validation and
    /// docs/algorithms/pca.md's table read these.
    public static let definitions: [HyperparameterDefinition] = [
        .init("feature_dim", .integer(1...Int(Int32.max)), default: nil,
              summary: "Number of features of every row; checked against the data."),
        .init("mini_batch_size", .integer(1...Int(Int32.max)), default: nil,
              summary: "Rows per mini-batch as SageMaker reads them. Accepted and checked; the summary is exact whatever its value (micro-shards are sized from feature_dim, see Choices)."),
        .init("num_components", .integer(1...Int(Int32.max)), default: nil,
              summary: "Principal components to compute (at most feature_dim)."),
        .init("algorithm_mode", .choice(PCAMode.allCases.map(\.rawValue)), default: "regular",
              summary: "`regular`: exact scatter matrix and eigen-decomposition; `randomized`: a random sketch of ℓ rows, for many features."),
        .init("extra_components", .integer(-1...Int(Int32.max)), default: "-1",
              summary: "Randomized mode: sketch rows beyond num_components (−1: max(10, num_components))."),
        .init("subtract_mean", .boolean, default: "true",
              summary: "Centre the data (at training and at inference) before projecting."),
        .init("epochs", .integer(1...1), default: "1",
              summary: "Hidden (SageMaker sends 1): PCA makes one pass; more would count every row again."),
        .init("force_dense", .boolean, default: "true",
              summary: "Hidden (SageMaker sends true): accepted; sparse rows are made dense one block at a time either way."),
    ]
}
