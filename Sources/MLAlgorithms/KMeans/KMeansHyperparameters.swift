import Foundation

/// How k-means picks its first centres (reference §4.3 `init_method`, `local_lloyd_init_method`).
public enum KMeansInitMethod: String, Sendable, Equatable, CaseIterable, Codable {
    /// Distinct rows drawn uniformly (weighted by the points' weights where they have them).
    case random
    /// D² sampling (Arthur & Vassilvitskii): each next centre is a row drawn with probability
    /// proportional to its weight × squared distance to the nearest centre so far.
    case kmeansPlusPlus = "kmeans++"
}

/// The metrics k-means reports on the test channel (reference §4.3 `eval_metrics`).
public enum KMeansMetric: String, Sendable, Equatable, CaseIterable {
    /// Mean squared distance of the rows to their closest centre.
    case msd
    /// Sum of the squared distances.
    case ssd
}

/// SageMaker K-Means' hyperparameters, parsed and validated from the string map before any data is read.
public struct KMeansHyperparameters: Sendable, Equatable {
    public let values: HyperparameterSet
    public let featureDim: Int
    public let k: Int
    public let epochs: Int
    public let miniBatchSize: Int
    public let evalMetrics: [KMeansMetric]
    /// K = k × this centres while streaming (`auto`: 10, as SageMaker's logs show).
    public let extraCenterFactor: Int
    public let halfLifeTimeSize: Int
    public let initMethod: KMeansInitMethod
    public let localLloydInitMethod: KMeansInitMethod
    public let localLloydMaxIterations: Int
    public let localLloydTolerance: Double
    /// `auto`: 10 trials, as SageMaker's logs show.
    public let localLloydTrials: Int

    public init(strings: [String: String]) throws(HyperparameterError) {
        values = try HyperparameterSet(definitions: Self.definitions, strings: strings)
        // invariant: required definitions without defaults are present after parsing
        featureDim = values.integer("feature_dim")!
        k = values.integer("k")! // invariant: required, checked by the parser
        epochs = values.integer("epochs") ?? 1
        miniBatchSize = values.integer("mini_batch_size") ?? 5000
        extraCenterFactor = values.integer("extra_center_factor") ?? 10
        halfLifeTimeSize = values.integer("half_life_time_size") ?? 0
        initMethod = values.word("init_method").flatMap(KMeansInitMethod.init(rawValue:)) ?? .random
        localLloydInitMethod = values.word("local_lloyd_init_method").flatMap(KMeansInitMethod.init(rawValue:)) ?? .kmeansPlusPlus
        localLloydMaxIterations = values.integer("local_lloyd_max_iter") ?? 300
        localLloydTolerance = values.real("local_lloyd_tol") ?? 1e-4
        localLloydTrials = values.integer("local_lloyd_num_trials") ?? 10
        evalMetrics = try Self.parseMetrics(values.word("eval_metrics") ?? "[\"msd\"]")
    }

    /// Centres kept while streaming.
    public var streamingCentres: Int { k * extraCenterFactor }

    /// `eval_metrics`: a JSON list of metric names (`["msd", "ssd"]`), which SageMaker passes as
    /// a string inside the string map; a bare name (`msd`) is taken as a list of one.
    static func parseMetrics(_ text: String) throws(HyperparameterError) -> [KMeansMetric] {
        let rule = "a JSON list of msd and/or ssd, e.g. [\"msd\"] or [\"msd\", \"ssd\"]"
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var names: [String]
        if trimmed.hasPrefix("[") {
            guard let list = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [Any], let strings = list as? [String] else {
                throw .invalid(name: "eval_metrics", value: text, rule: rule)
            }
            names = strings
        } else {
            names = [trimmed]
        }
        names = names.map { $0.lowercased() }
        var metrics: [KMeansMetric] = []
        for name in names {
            guard let metric = KMeansMetric(rawValue: name) else { throw .invalid(name: "eval_metrics", value: text, rule: rule) }
            if !metrics.contains(metric) { metrics.append(metric) }
        }
        if metrics.isEmpty { throw .invalid(name: "eval_metrics", value: text, rule: rule) }
        return metrics
    }

    /// Every hyperparameter of §4.3, defined once: the parser, the validation and
    /// docs/algorithms/kmeans.md's table read these.
    public static let definitions: [HyperparameterDefinition] = [
        .init("feature_dim", .integer(1...Int(Int32.max)), default: nil,
              summary: "Number of features of every row; checked against the data."),
        .init("k", .integer(1...1_000_000), default: nil,
              summary: "Number of clusters."),
        .init("epochs", .integer(1...10_000), default: "1",
              summary: "Passes over the training data."),
        .init("eval_metrics", .text, default: "[\"msd\"]",
              summary: "Test-channel metrics, a JSON list of `msd` (mean squared distance) and `ssd` (sum)."),
        .init("extra_center_factor", .integer(1...1_000), default: "auto", allowsAuto: true,
              summary: "Streaming keeps k × this centres, reduced to k at the end (`auto`: 10)."),
        .init("half_life_time_size", .integer(0...Int(Int32.max)), default: "0",
              summary: "Rows after which a past row's weight in its centre halves; 0: no decay."),
        .init("init_method", .choice(KMeansInitMethod.allCases.map(\.rawValue)), default: "random",
              summary: "How the streaming centres are picked from the first mini-batch."),
        .init("local_lloyd_init_method", .choice(KMeansInitMethod.allCases.map(\.rawValue)), default: "kmeans++",
              summary: "How each local Lloyd trial picks its k starting centres among the streaming ones."),
        .init("local_lloyd_max_iter", .integer(1...1_000_000), default: "300",
              summary: "Most Lloyd iterations of each reduction trial."),
        .init("local_lloyd_num_trials", .integer(1...1_000), default: "auto", allowsAuto: true,
              summary: "Reduction trials; the one with the lowest loss is kept (`auto`: 10)."),
        .init("local_lloyd_tol", .real(.unitInterval), default: "0.0001",
              summary: "A reduction trial stops when its loss improves by less than this fraction."),
        .init("mini_batch_size", .integer(1...Int(Int32.max)), default: "5000",
              summary: "Rows per streaming update."),
        .init("force_dense", .boolean, default: "true",
              summary: "SageMaker's SDK always sends true; sparse rows are made dense one mini-batch at a time either way."),
    ]
}
