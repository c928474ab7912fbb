import Testing
@testable import MLAlgorithms

private let definitions: [HyperparameterDefinition] = [
    .init("feature_dim", .integer(1...10_000), default: nil, allowsAuto: true, summary: "Number of features."),
    .init("mini_batch_size", .integer(1...1_000_000), default: "1000", summary: "Rows per mini-batch."),
    .init("learning_rate", .real(.positive), default: "auto", allowsAuto: true, summary: "Step size."),
    .init("l1", .real(.nonNegative), default: "0", summary: "L1 penalty."),
    .init("normalize_data", .boolean, default: "true", summary: "Standardize features."),
    .init("optimizer", .choice(["sgd", "adam", "rmsprop"]), default: "adam", allowsAuto: true, summary: "Optimizer."),
    .init("quantile", .real(RealBounds(lower: 0, lowerInclusive: false, upper: 1, upperInclusive: false)),
          default: "0.5", summary: "Quantile | target."),
    .init("num_models", .integer(1...64), default: "1", support: .unsupported(reason: "parallel models arrive in part 2"),
          summary: "Models trained in parallel."),
]

@Suite struct HyperparameterSetTests {
    @Test func defaultsFillIn() throws {
        let set = try HyperparameterSet(definitions: definitions, strings: ["feature_dim": "10"])
        #expect(set.integer("feature_dim") == 10)
        #expect(set.integer("mini_batch_size") == 1000)
        #expect(set.isAuto("learning_rate"))
        #expect(set.real("l1") == 0)
        #expect(set.boolean("normalize_data") == true)
        #expect(set.word("optimizer") == "adam")
        #expect(set.explicitlySet == ["feature_dim"])
    }

    /// SageMaker sends strings, sometimes JSON-encoded twice, booleans in any case.
    @Test func sageMakerSpellings() throws {
        let set = try HyperparameterSet(definitions: definitions, strings: [
            "feature_dim": "\"auto\"", "learning_rate": "\"0.1\"", "normalize_data": "False",
            "mini_batch_size": "200.0", "optimizer": " sgd ", "_tuning_objective_metric": "validation:loss",
        ])
        #expect(set.isAuto("feature_dim"))
        #expect(set.real("learning_rate") == 0.1)
        #expect(set.boolean("normalize_data") == false)
        #expect(set.integer("mini_batch_size") == 200)
        #expect(set.word("optimizer") == "sgd")
    }

    @Test(arguments: [
        ("mini_batch_size", "0", "integer in [1, 1000000]"),
        ("mini_batch_size", "12.5", "integer in [1, 1000000]"),
        ("learning_rate", "0", "real > 0, or auto"),
        ("learning_rate", "nan", "real > 0, or auto"),
        ("l1", "-1", "real ≥ 0"),
        ("normalize_data", "yes", "true or false"),
        ("optimizer", "Adam", "one of sgd, adam, rmsprop, or auto"),
        ("quantile", "1", "real (0, 1)"),
    ])
    func invalidValuesNameTheRule(name: String, value: String, rule: String) {
        #expect(throws: HyperparameterError.invalid(name: name, value: value, rule: rule)) {
            _ = try HyperparameterSet(definitions: definitions, strings: ["feature_dim": "3", name: value])
        }
    }

    @Test func missingRequired() {
        #expect(throws: HyperparameterError.missing(name: "feature_dim", rule: "integer in [1, 10000], or auto")) {
            _ = try HyperparameterSet(definitions: definitions, strings: [:])
        }
    }

    @Test func unknownNameSuggestsTheClosest() {
        #expect(throws: HyperparameterError.unknown(name: "mini_batchsize", suggestion: "mini_batch_size")) {
            _ = try HyperparameterSet(definitions: definitions, strings: ["feature_dim": "3", "mini_batchsize": "5"])
        }
        #expect(throws: HyperparameterError.unknown(name: "colour", suggestion: nil)) {
            _ = try HyperparameterSet(definitions: definitions, strings: ["feature_dim": "3", "colour": "red"])
        }
    }

    @Test func unsupportedIsRecognisedNotUnknown() throws {
        // The default value is accepted…
        let set = try HyperparameterSet(definitions: definitions, strings: ["feature_dim": "3", "num_models": "1"])
        #expect(set.integer("num_models") == 1)
        // …any other value is refused with the reason.
        #expect(throws: HyperparameterError.unsupported(name: "num_models", value: "4", reason: "parallel models arrive in part 2")) {
            _ = try HyperparameterSet(definitions: definitions, strings: ["feature_dim": "3", "num_models": "4"])
        }
        // An invalid value is still reported as invalid first.
        #expect(throws: HyperparameterError.invalid(name: "num_models", value: "0", rule: "integer in [1, 64]")) {
            _ = try HyperparameterSet(definitions: definitions, strings: ["feature_dim": "3", "num_models": "0"])
        }
    }

    @Test func errorMessagesSayWhatWhereAndHow() {
        let e = HyperparameterError.invalid(name: "l1", value: "-1", rule: "real ≥ 0")
        #expect(e.description == "hyperparameter 'l1' = '-1' is invalid: expected real ≥ 0")
    }

    @Test func markdownTableComesFromTheDefinitions() {
        let table = HyperparameterDefinition.markdownTable(definitions)
        let lines = table.split(separator: "\n")
        #expect(lines.count == definitions.count + 2)
        #expect(lines[2] == "| `feature_dim` | integer in [1, 10000], or auto | required | supported | Number of features. |")
        #expect(table.contains("Quantile \\| target."))
        #expect(table.contains("recognised, not supported: parallel models arrive in part 2"))
    }

    @Test func editDistance() {
        #expect(HyperparameterSet.editDistance("kitten", "sitting") == 3)
        #expect(HyperparameterSet.editDistance("", "abc") == 3)
        #expect(HyperparameterSet.editDistance("abc", "") == 3)
        #expect(HyperparameterSet.editDistance("same", "same") == 0)
    }
}
