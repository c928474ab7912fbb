import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

private let python = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent(".venv/bin/python").path
private let scorer = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/score_xgboost_model.py").path

/// Models XGBoost 3.2.0 wrote (JSON and UBJSON) predict here what XGBoost predicted.
@Suite struct XGBoostModelImportTests {
    @Test("import: our margins and predictions equal XGBoost's for its JSON and UBJSON models",
          arguments: ["model_binary", "model_softprob", "model_regression_missing", "model_poisson", "model_tiny"])
    func importModels(_ name: String) throws {
        let x = try XGBoostFixtures.matrix(name + "_x")
        let margins = try XGBoostFixtures.matrix(name + "_margin").elements
        let predictions = try XGBoostFixtures.matrix(name + "_pred").elements
        for ext in ["json", "ubj"] {
            let model = try BoostedTreesModel.load(path: try XGBoostFixtures.directory.appendingPathComponent("\(name).\(ext)").path)
            let ours = try model.margins(.dense(x))
            let ourPredictions = try model.predict(.dense(x))
            #expect(ours.count == margins.count && ourPredictions.count == predictions.count)
            for (a, b) in zip(ours, margins) { #expect(abs(a - b) <= 1e-6 * max(1, abs(b)), "\(name).\(ext) margin \(a) vs \(b)") }
            for (a, b) in zip(ourPredictions, predictions) { #expect(abs(a - b) <= 1e-6 * max(1, abs(b)), "\(name).\(ext) prediction \(a) vs \(b)") }
        }
    }

    @Test("import refuses files that are not XGBoost models, with a message")
    func badModels() throws {
        #expect(throws: ModelFormatError.self) { try BoostedTreesModel.decode(Data("{\"learner\": {}}".utf8)) }
        #expect(throws: ModelFormatError.self) { try BoostedTreesModel.decode(Data("not json".utf8)) }
        // UBJSON whose array count lies about its size.
        #expect(throws: ModelFormatError.self) { try BoostedTreesModel.decode(Data([0x7B, 0x69, 0x01, 0x61, 0x5B, 0x23, 0x4C, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])) }
        // Valid JSON, but a child pointing back at its parent (would loop forever).
        let json = try String(contentsOf: try XGBoostFixtures.directory.appendingPathComponent("model_tiny.json"), encoding: .utf8)
        let looped = json.replacingOccurrences(of: "\"left_children\":[1,3,5,", with: "\"left_children\":[0,3,5,")
        #expect(looped != json)
        #expect(throws: ModelFormatError.self) { try BoostedTreesModel.decode(Data(looped.utf8)) }
    }

    @Test("a model round-trips through our JSON: same trees, same predictions")
    func roundTrip() throws {
        let train = try XGBoostFixtures.dataset("breast_cancer", "train")
        let model = try BoostedTreesTrainer(hyperparameters: try XGBoostHyperparameters(strings: ["num_round": "5", "objective": "binary:logistic"]))
            .fit(train: train).model
        let back = try BoostedTreesModel.decode(model.xgboostJSON())
        #expect(try back.predict(train.features) == model.predict(train.features))
        #expect(back.trees.map(\.splitConditions) == model.trees.map(\.splitConditions))
    }
}

/// Our `xgboost-model` files load in XGBoost itself (`xgboost.Booster(model_file=…)`) and its
/// predictions equal ours within 1e-6.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: python), "needs the .venv from scripts/setup.sh"))
struct XGBoostExportInteropTests {
    func xgboostPredictions(model: BoostedTreesModel, x: Matrix<Float>, margin: Bool) throws -> [Float] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mlcore-xgb-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try model.save(to: dir)
        try NPYWriter.write(x, to: dir + "/x.npy")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [scorer, dir + "/" + BoostedTreesModel.fileName, dir + "/x.npy", dir + "/out.npy"] + (margin ? ["--margin"] : [])
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(message)")
        return try NPYReader<Float>.readMatrix(path: dir + "/out.npy").elements
    }

    @Test("XGBoost predicts what we predict, for every objective",
          arguments: ["binary:logistic", "binary:logitraw", "binary:hinge", "reg:squarederror", "reg:logistic", "reg:pseudohubererror",
                      "reg:absoluteerror", "reg:gamma", "reg:tweedie", "count:poisson", "multi:softprob", "multi:softmax", "reg:squaredlogerror"])
    func exportedModelsPredictTheSame(_ objective: String) throws {
        let multi = objective.hasPrefix("multi:")
        let stem = multi ? "digits" : (objective.hasPrefix("binary:") || objective == "reg:logistic" ? "breast_cancer" : "regression")
        var train = try XGBoostFixtures.dataset(stem, "train")
        if ["reg:gamma", "reg:tweedie", "count:poisson", "reg:squaredlogerror"].contains(objective) {
            train.labels = train.labels.map { max(0.5, $0) } // positive labels
        }
        var hp = ["num_round": "8", "objective": objective, "max_depth": "4", "subsample": "0.9", "colsample_bytree": "0.8"]
        if multi { hp["num_class"] = "10" }
        let model = try BoostedTreesTrainer(hyperparameters: try XGBoostHyperparameters(strings: hp)).fit(train: train).model
        let test = try XGBoostFixtures.dataset(stem, "test")
        guard case .dense(let x) = test.features else { return }
        let ours = try model.margins(.dense(x)), oursPredicted = try model.predict(.dense(x))
        let theirs = try xgboostPredictions(model: model, x: x, margin: true)
        #expect(ours.count == theirs.count)
        for (a, b) in zip(ours, theirs) { #expect(abs(a - b) <= 1e-6 * max(1, abs(b)), "\(objective) margin \(a) vs XGBoost \(b)") }
        let predicted = try xgboostPredictions(model: model, x: x, margin: false)
        #expect(oursPredicted.count == predicted.count)
        for (a, b) in zip(oursPredicted, predicted) { #expect(abs(a - b) <= 1e-6 * max(1, abs(b)), "\(objective) prediction \(a) vs XGBoost \(b)") }
    }

    @Test("forests and constrained models load in XGBoost and predict what we predict (num_parallel_tree, iteration_indptr)",
          arguments: [["objective": "multi:softprob", "num_class": "10", "num_parallel_tree": "3", "subsample": "0.7", "colsample_bynode": "0.5"],
                      ["objective": "binary:logistic", "num_parallel_tree": "2", "monotone_constraints": "(1,-1)",
                       "interaction_constraints": "[[0,1,2],[3,4,5,6]]", "colsample_bylevel": "0.6", "grow_policy": "lossguide", "max_leaves": "9"]])
    func forestsAndConstraints(_ settings: [String: String]) throws {
        let stem = settings["objective"] == "multi:softprob" ? "digits" : "breast_cancer"
        let train = try XGBoostFixtures.dataset(stem, "train")
        let model = try BoostedTreesTrainer(hyperparameters: try XGBoostHyperparameters(
            strings: ["num_round": "4", "max_depth": "4"].merging(settings) { _, b in b })).fit(train: train).model
        let test = try XGBoostFixtures.dataset(stem, "test")
        guard case .dense(let x) = test.features else { return }
        let ours = try model.predict(.dense(x)), theirs = try xgboostPredictions(model: model, x: x, margin: false)
        #expect(ours.count == theirs.count)
        for (a, b) in zip(ours, theirs) { #expect(abs(a - b) <= 1e-6 * max(1, abs(b)), "\(settings) prediction \(a) vs XGBoost \(b)") }
    }
}
