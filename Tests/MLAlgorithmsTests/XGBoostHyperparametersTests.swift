import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

@Suite struct XGBoostHyperparametersTests {
    @Test("what the SageMaker SDK's XGBoost estimator sends is accepted as it is")
    func sdkHyperparameters() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/sdk-hyperparameters/xgboost-builtin.json")
        let strings = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: String])
        let hp = try XGBoostHyperparameters(strings: strings)
        #expect(hp.objective == .binaryLogistic && hp.numRound == 10 && hp.maxDepth == 3 && hp.subsample == 0.8 && hp.evalMetrics == [.auc])
    }

    @Test("aliases, JSON-quoted values, the tuning metric merged last and used by early stopping")
    func aliasesAndTuning() throws {
        let hp = try XGBoostHyperparameters(strings: ["num_round": "\"5\"", "learning_rate": "0.05", "reg_lambda": "2", "min_split_loss": "0.1",
                                                      "eval_metric": "logloss", "objective": "binary:logistic",
                                                      "_tuning_objective_metric": "validation:auc", "early_stopping_rounds": "3"])
        #expect(hp.eta == 0.05 && hp.lambda == 2 && hp.gamma == 0.1 && hp.numRound == 5)
        #expect(hp.evalMetrics == [.logloss, .auc] && hp.earlyStoppingMetric == .auc)
        #expect(try XGBoostHyperparameters(strings: ["num_round": "1", "objective": "reg:tweedie", "tweedie_variance_power": "1.2"])
            .objective == .tweedie(variancePower: 1.2))
        #expect(try XGBoostHyperparameters(strings: ["num_round": "1", "eval_metric": "error@0.7,rmse"]).evalMetrics == [.error(threshold: 0.7), .rmse])
    }

    @Test("bad hyperparameters are errors that name the hyperparameter, the value and the rule")
    func badHyperparameters() throws {
        func error(_ strings: [String: String]) -> String {
            do {
                _ = try XGBoostHyperparameters(strings: strings)
                return ""
            } catch {
                return error.description
            }
        }
        #expect(error([:]).contains("'num_round' is required"))
        #expect(error(["num_round": "10", "num_class": "3"]).contains("'num_class'"))
        #expect(error(["num_round": "10", "objective": "multi:softmax"]).contains("'num_class' is required"))
        #expect(error(["num_round": "10", "objective": "reg:nope"]).contains("objective"))
        #expect(error(["num_round": "10", "objective": "rank:pairwise"]).contains("not part of MLCore's trees"))
        #expect(error(["num_round": "10", "eval_metric": "rmse,nope"]).contains("'nope' is not one"))
        #expect(error(["num_round": "10", "eval_metric": "auc"]).contains("auc needs a binary: objective"))
        #expect(error(["num_round": "10", "eta": "1.5"]).contains("'eta' = '1.5'"))
        #expect(error(["num_round": "10", "subsample": "0"]).contains("'subsample'"))
        #expect(error(["num_round": "10", "booster": "dart"]).contains("not supported"))
        #expect(error(["num_round": "10", "grow_policy": "bestfirst"]).contains("'grow_policy'"))
        #expect(error(["num_round": "10", "num_parallel_tree": "0"]).contains("'num_parallel_tree'"))
        #expect(error(["num_round": "10", "monotone_constraints": "[1,0,-1]"]).contains("'monotone_constraints'"))
        #expect(error(["num_round": "10", "monotone_constraints": "(1,2)"]).contains("'2' at position 2 is not one"))
        #expect(error(["num_round": "10", "monotone_constraints": "1,0"]).contains("'monotone_constraints'"))
        #expect(error(["num_round": "10", "interaction_constraints": "[0,1]"]).contains("'interaction_constraints'"))
        #expect(error(["num_round": "10", "interaction_constraints": "[[0,1.5]]"]).contains("1.5 is not a feature index"))
        #expect(error(["num_round": "10", "interaction_constraints": "[[0,-1]]"]).contains("not a feature index"))
        #expect(error(["num_round": "10", "interaction_constraints": "[[0,1]"]).contains("'interaction_constraints'"))
        #expect(error(["num_round": "10", "_num_cv_round": "2"]).contains("only with _kfold"))
        #expect(error(["num_round": "10", "_kfold": "1"]).contains("'_kfold'"))
        #expect(error(["num_round": "10", "tree_method": "gpu_hist"]).contains("no GPU"))
        #expect(error(["num_round": "10", "eta": "0.1", "learning_rate": "0.2"]).contains("alias"))
        #expect(error(["num_round": "10", "max_dept": "3"]).contains("did you mean 'max_depth'"))
        #expect(error(["num_round": "10", "objective": "multi:softprob", "num_class": "3", "eval_metric": "f1_binary"]).contains("f1_macro"))
        #expect(error(["num_round": "10", "tree_method": "hist", "max_bin": "1"]).contains("'max_bin'"))
    }

    @Test("constraint syntax as XGBoost reads it: tuples (or one bare integer) and nested JSON lists")
    func constraintSyntax() throws {
        func monotone(_ text: String) throws -> [Int] {
            try XGBoostHyperparameters(strings: ["num_round": "1", "monotone_constraints": text]).monotoneConstraints
        }
        #expect(try monotone("(1,0,-1)") == [1, 0, -1])
        #expect(try monotone(" ( 1 , -1 ) ") == [1, -1])
        #expect(try monotone("(1,)") == [1])
        #expect(try monotone("()") == [])
        #expect(try monotone("-1") == [-1])
        #expect(try XGBoostHyperparameters(strings: ["num_round": "1"]).monotoneConstraints == [])
        func interaction(_ text: String) throws -> [[Int]]? {
            try XGBoostHyperparameters(strings: ["num_round": "1", "interaction_constraints": text]).interactionConstraints
        }
        #expect(try interaction("[[0,1],[2,3,4]]") == [[0, 1], [2, 3, 4]])
        #expect(try interaction(" [ [0, 1] , [2.0] ] ") == [[0, 1], [2]])
        #expect(try interaction("[]") == [])
        #expect(try XGBoostHyperparameters(strings: ["num_round": "1"]).interactionConstraints == nil)
        // Checked against the data once its width is known.
        let hp = try XGBoostHyperparameters(strings: ["num_round": "1", "monotone_constraints": "(1,0,0,1)", "interaction_constraints": "[[0,5]]"])
        #expect(throws: HyperparameterError.self) { try hp.checkConstraints(featureCount: 3) }
        let x = Matrix<Float>(rows: 4, columns: 4, repeating: 1)
        #expect(throws: HyperparameterError.self) {
            _ = try BoostedTreesTrainer(hyperparameters: hp).fit(train: TreeDataset(features: .dense(x), labels: [0, 1, 0, 1]))
        }
    }

    @Test("labels outside the objective's domain are refused, naming the row")
    func badLabels() throws {
        let x = Matrix<Float>(rows: 3, columns: 2, repeating: 1)
        func error(_ objective: String, _ labels: [Float], extra: [String: String] = [:]) -> String {
            do {
                let hp = try XGBoostHyperparameters(strings: ["num_round": "1", "objective": objective].merging(extra) { $1 })
                _ = try BoostedTreesTrainer(hyperparameters: hp, threads: 1).fit(train: TreeDataset(features: .dense(x), labels: labels))
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(error("binary:logistic", [0, 2, 1]).contains("row 2"))
        #expect(error("count:poisson", [1, -1, 1]).contains("≥ 0"))
        #expect(error("reg:gamma", [1, 0, 1]).contains("> 0"))
        #expect(error("multi:softprob", [0, 1, 3], extra: ["num_class": "3"]).contains("[0, 2]"))
        #expect(error("reg:squarederror", [0, .nan, 1]).contains("finite"))
        // A model asked about rows with another feature count.
        let model = try BoostedTreesTrainer(hyperparameters: try XGBoostHyperparameters(strings: ["num_round": "1"]), threads: 1)
            .fit(train: TreeDataset(features: .dense(x), labels: [1, 2, 3])).model
        #expect(throws: TreeDataError.self) { try model.predict(.dense(Matrix(rows: 1, columns: 3))) }
    }

    /// docs/algorithms/xgboost.md's table is generated from the definitions. Regenerate with
    /// `MLCORE_UPDATE_DOCS=1 swift test -c release --filter XGBoostHyperparametersTests`.
    @Test func documentationTableMatchesTheDefinitions() throws {
        try checkGeneratedTable(doc: "docs/algorithms/xgboost.md", definitions: XGBoostHyperparameters.definitions,
                                source: "XGBoostHyperparameters.definitions", filter: "XGBoostHyperparametersTests")
    }
}
