import Foundation
import MLAlgorithms
@testable import MLContainer
import MLCore
import MLTestSupport
import Testing
@testable import MLCommandLine

private let xgboostCSVChannels = #"{"train": {"ContentType": "text/csv"}, "validation": {"ContentType": "text/csv"}}"#

/// The bundled breast-cancer CSV (label first) as libsvm lines, 0-based indices, zeros kept.
private func libsvm(_ csv: String) throws -> String {
    try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").map { line in
        let fields = line.split(separator: ",")
        return ([String(fields[0])] + fields.dropFirst().enumerated().map { "\($0.offset):\($0.element)" }).joined(separator: " ")
    }.joined(separator: "\n") + "\n"
}

private func predictions(_ run: Run, _ path: String) throws -> [String] {
    #expect(run.status == 0, "\(run.stderr)")
    return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
}

@Suite("XGBoost in the container: train, resume, predict, serve")
struct XGBoostContainerTests {
    @Test("trains from the SDK's map on CSV: XGBoost's per-round lines (the container's regex reads them), xgboost-model, metrics")
    func trainsOnCSV() throws {
        let root = try trainingTree(hyperparameters: #"{"num_round": "12", "objective": "binary:logistic", "max_depth": "3", "eval_metric": "auc,logloss", "verbosity": "1", "_tuning_objective_metric": "validation:auc"}"#,
                                    channels: xgboostCSVChannels)
        defer { root.remove() }
        let run = mlc(["train", "--algorithm", "xgboost", "--root", root.path, "--workers", "2"])
        #expect(run.status == 0, "\(run.stderr) \(failure(root) ?? "")")
        let rounds = run.lines.filter { $0.hasPrefix("[") }
        #expect(rounds.count == 12)
        #expect(rounds.first?.hasPrefix("[0]\ttrain-auc:") == true)
        // SageMaker's MetricDefinition for validation:auc, with the scraped #011 as a real tab.
        let regex = try Regex(".*\\[[0-9]+\\].*\tvalidation-auc:(\\S+)", as: (Substring, Substring).self)
        let aucs = run.lines.compactMap { $0.firstMatch(of: regex).flatMap { Double(String($0.1)) } }
        #expect(aucs.count == 12 && (aucs.last ?? 0) > 0.95)
        let model = try BoostedTreesModel.load(path: root.path + "/model/xgboost-model")
        #expect(model.rounds == 12 && model.featureCount == 30)
        #expect(FileManager.default.fileExists(atPath: root.path + "/output/data/metrics.json"))
        // get_score of the saved model, every type, beside the metrics.
        let importance = try #require(try JSONSerialization.jsonObject(with: contents(root.path + "/output/data/feature_importance.json")) as? [String: [String: Double]])
        #expect(Set(importance.keys) == Set(FeatureImportanceType.allCases.map(\.rawValue)))
        // (Foundation's JSON parser may miss the last bit of a shortest-repr double.)
        for (feature, value) in model.featureImportance(.totalGain) {
            #expect(abs((importance["total_gain"]?["f\(feature)"] ?? .nan) - value) <= 1e-12 * abs(value))
        }
    }

    @Test("a run interrupted after some rounds resumes from its checkpoint and ends with the same model bytes")
    func resumesToTheSameBytes() throws {
        let hp = #"{"num_round": "10", "objective": "binary:logistic", "max_depth": "3", "subsample": "0.8", "colsample_bytree": "0.7"}"#
        let whole = try trainingTree(hyperparameters: hp, channels: xgboostCSVChannels)
        defer { whole.remove() }
        #expect(mlc(["train", "--algorithm", "xgboost", "--root", whole.path]).status == 0)
        let expected = contents(whole.path + "/model/xgboost-model")
        // The same job stopped after 4 rounds (a checkpoint of 4 rounds left behind), then rerun.
        let cut = try trainingTree(hyperparameters: hp.replacingOccurrences(of: "\"10\"", with: "\"4\""), channels: xgboostCSVChannels)
        defer { cut.remove() }
        #expect(mlc(["train", "--algorithm", "xgboost", "--root", cut.path]).status == 0)
        try Data(hp.utf8).write(to: URL(fileURLWithPath: cut.path + "/input/config/hyperparameters.json"))
        // num_round raised to 10: the rerun resumes after round 4 for the remaining 6, as SageMaker's container does.
        let again = mlc(["train", "--algorithm", "xgboost", "--root", cut.path])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.lines.contains { $0.hasPrefix("Resuming from checkpoint") })
        #expect(contents(cut.path + "/model/xgboost-model") == expected)
        // Resume through the trainer: 4 rounds, then the remaining 6 from that model.
        let train = TreeDataset(features: .dense(try NPYReader<Float>.readMatrix(path: repositoryRoot.path + "/Tests/MLAlgorithmsTests/Fixtures/xgboost/breast_cancer_train_x.npy")),
                                labels: try NPYReader<Float>.readVector(path: repositoryRoot.path + "/Tests/MLAlgorithmsTests/Fixtures/xgboost/breast_cancer_train_y.npy"))
        let full = try XGBoostHyperparameters(strings: ["num_round": "10", "objective": "binary:logistic", "subsample": "0.8", "colsample_bytree": "0.7"])
        let uninterrupted = try BoostedTreesTrainer(hyperparameters: full, threads: 2).fit(train: train).model
        var saved: Data?
        let cancel = CancellationFlag()
        _ = try BoostedTreesTrainer(hyperparameters: full, threads: 2).fit(train: train, cancellation: cancel, checkpoint: { model, rounds in
            saved = model.xgboostJSON()
            if rounds == 4 { cancel.cancel() }
        })
        let checkpoint = try BoostedTreesModel.decode(try #require(saved))
        #expect(checkpoint.rounds == 4)
        let resumed = try BoostedTreesTrainer(hyperparameters: full, threads: 1).fit(train: train, resumingFrom: checkpoint).model
        #expect(resumed.xgboostJSON() == uninterrupted.xgboostJSON())
    }

    @Test("libsvm (the default content type), RecordIO-protobuf and CSV channels train the same trees")
    func contentTypes() throws {
        let hp = #"{"num_round": "5", "objective": "binary:logistic", "max_depth": "3"}"#
        var models: [Data] = []
        for format in ["csv", "libsvm", "recordio"] {
            let root = try trainingTree(hyperparameters: hp, channels: xgboostCSVChannels)
            defer { root.remove() }
            if format != "csv" {
                for channel in ["train", "validation"] {
                    let directory = root.path + "/input/data/\(channel)"
                    try FileManager.default.removeItem(atPath: directory + "/part-0.csv")
                    if format == "libsvm" {
                        try libsvm(bundled("breast-cancer", channel)).write(toFile: directory + "/part-0.libsvm", atomically: true, encoding: .utf8)
                    } else {
                        try FileManager.default.copyItem(atPath: repositoryRoot.path + "/data/breast-cancer/\(channel).pbr", toPath: directory + "/part-0.pbr")
                    }
                }
                let channels = format == "libsvm" ? #"{"train": {}, "validation": {"ContentType": "text/x-libsvm"}}"#
                    : #"{"train": {"ContentType": "application/x-recordio-protobuf"}, "validation": {"ContentType": "application/x-recordio-protobuf"}}"#
                try channels.write(toFile: root.path + "/input/config/inputdataconfig.json", atomically: true, encoding: .utf8)
            }
            let run = mlc(["train", "--algorithm", "xgboost", "--root", root.path])
            #expect(run.status == 0, "\(format): \(run.stderr) \(failure(root) ?? "")")
            models.append(contents(root.path + "/model/xgboost-model"))
        }
        #expect(models[0] == models[2], "CSV and RecordIO-protobuf give the same model")
        #expect(models[0] == models[1], "CSV and libsvm (every value present) give the same model")
    }

    @Test("bad configurations fail before reading data, with the container's ClientError")
    func badConfiguration() throws {
        for (hp, message) in [(#"{"objective": "binary:logistic"}"#, "num_round"),
                              (#"{"num_round": "5", "num_class": "3"}"#, "num_class"),
                              (#"{"num_round": "5", "_kfold": "1"}"#, "_kfold"),
                              (#"{"num_round": "5", "_num_cv_round": "2"}"#, "only with _kfold"),
                              (#"{"num_round": "5", "monotone_constraints": "(1,0,-1)", "interaction_constraints": "[[0,40]]"}"#, "interaction_constraints"),
                              (#"{"num_round": "5", "objective": "reg:gamma"}"#, "label")] {
            let root = try trainingTree(hyperparameters: hp, channels: xgboostCSVChannels)
            defer { root.remove() }
            let run = mlc(["train", "--algorithm", "xgboost", "--root", root.path])
            #expect(run.status != 0)
            #expect((failure(root) ?? "").contains(message), "\(failure(root) ?? "") lacks \(message)")
        }
    }

    @Test("_kfold: one model per fold on train + validation, the container's lines (per round, per fold, the fold means), out-of-fold predictions; served as an ensemble")
    func crossValidation() throws {
        let root = try trainingTree(hyperparameters: #"{"num_round": "6", "objective": "binary:logistic", "max_depth": "3", "eval_metric": "auc,logloss", "_kfold": "3", "_num_cv_round": "2"}"#,
                                    channels: xgboostCSVChannels)
        defer { root.remove() }
        let run = mlc(["train", "--algorithm", "xgboost", "--root", root.path])
        #expect(run.status == 0, "\(run.stderr) \(failure(root) ?? "")")
        // Six models (3 folds × 2 repeats), no model on all data.
        let files = try FileManager.default.contentsOfDirectory(atPath: root.path + "/model").sorted()
        #expect(files == (0..<6).map { "xgboost-model-\($0)" }.sorted())
        #expect(run.lines.filter { $0.contains("Train cross validation fold") }.count == 6)
        // Per-round lines on the original channels (6 folds × 6 rounds), then the summaries.
        let rounds = run.lines.filter { $0.hasPrefix("[") && !$0.hasPrefix("[6]") }
        #expect(rounds.count == 36)
        let summaries = run.lines.filter { $0.hasPrefix("[6]\t") }
        #expect(summaries.count == 3) // round 1, round 2, overall
        #expect(run.lines.contains("The overall metrics of 2-round cross validation"))
        // The first summary: each value the mean of its 3 folds' last round, metric-major.
        let last = rounds.enumerated().filter { $0.offset % 6 == 5 }.map(\.element).prefix(3)
        func values(_ line: String) -> [String: Double] {
            Dictionary(uniqueKeysWithValues: line.split(separator: "\t").dropFirst().map { field in
                let parts = field.split(separator: ":")
                return (String(parts[0]), Double(parts[1]) ?? .nan)
            })
        }
        let summary = try #require(summaries.first)
        #expect(summary.split(separator: "\t").dropFirst().map { String($0.split(separator: ":")[0]) }
            == ["train-auc", "validation-auc", "train-logloss", "validation-logloss"])
        for (key, mean) in values(summary) {
            let expected = last.map { values($0)[key] ?? .nan }.reduce(0, +) / 3
            #expect(abs(mean - expected) <= 1e-5 + 1e-9, "\(key): \(mean) vs \(expected)")
        }
        // Out-of-fold predictions: every train + validation row, label, probability, class.
        let csvRows = try String(contentsOfFile: bundled("breast-cancer", "train"), encoding: .utf8).split(separator: "\n").count
            + String(contentsOfFile: bundled("breast-cancer", "validation"), encoding: .utf8).split(separator: "\n").count
        let outOfFold = try String(contentsOfFile: root.path + "/output/data/predictions.csv", encoding: .utf8).split(separator: "\n")
        #expect(outOfFold.count == csvRows)
        #expect(outOfFold.allSatisfy { $0.split(separator: ",").count == 3 })
        #expect(run.lines.contains { $0.hasPrefix("Out-of-fold: auc:") })

        // Served: the mean of the six models, or one model with SAGEMAKER_INFERENCE_ENSEMBLE=false.
        let models = try (0..<6).map { try BoostedTreesModel.load(path: root.path + "/model/xgboost-model-\($0)") }
        let x = try CSVReader.readAll(files: [bundled("breast-cancer", "validation")], options: CSVOptions(labelSize: 1)).features
        let each = try models.map { try $0.predict(x) }
        let ensemble = try XGBoostInference(modelDirectory: root.path + "/model", environment: [:])
        #expect(ensemble.models.count == 6)
        let served = try ensemble.predict(x)
        for i in 0..<x.rows {
            #expect(abs(Double(served[i]) - each.map { Double($0[i]) }.reduce(0, +) / 6) <= 1e-6)
        }
        let single = try XGBoostInference(modelDirectory: root.path + "/model", environment: ["SAGEMAKER_INFERENCE_ENSEMBLE": "false"])
        let singleAnswer = try single.predict(x)
        #expect(single.models.count == 1 && singleAnswer == each[0])
        // A real mlc predict over the model directory answers with the ensemble.
        let out = try TemporaryDirectory()
        defer { out.remove() }
        let lines = try predictions(mlc(["predict", "--model", root.path + "/model", "--input", bundled("breast-cancer", "validation"),
                                         "--content-type", "text/csv;label_size=1", "--output", out.path]), out.path + "/validation.csv.out")
        #expect(lines.count == x.rows)
        for (line, value) in zip(lines, served) { #expect(abs((Float(line) ?? .nan) - value) <= 1e-6) }
    }

    @Test("_kfold resumes from per-fold checkpoints and ends with the same models as an uninterrupted job")
    func crossValidationResumes() throws {
        let hp = #"{"num_round": "8", "objective": "reg:squarederror", "max_depth": "3", "subsample": "0.8", "_kfold": "3"}"#
        let whole = try trainingTree(hyperparameters: hp, channels: xgboostCSVChannels)
        defer { whole.remove() }
        #expect(mlc(["train", "--algorithm", "xgboost", "--root", whole.path]).status == 0)
        let expected = (0..<3).map { contents(whole.path + "/model/xgboost-model-\($0)") }
        #expect(expected.allSatisfy { !$0.isEmpty } && Set(expected).count == 3)
        // Every fold stopped after 4 rounds (its checkpoint left behind), then the job rerun for 8.
        let cut = try trainingTree(hyperparameters: hp.replacingOccurrences(of: "\"8\"", with: "\"4\""), channels: xgboostCSVChannels)
        defer { cut.remove() }
        #expect(mlc(["train", "--algorithm", "xgboost", "--root", cut.path]).status == 0)
        try Data(hp.utf8).write(to: URL(fileURLWithPath: cut.path + "/input/config/hyperparameters.json"))
        let again = mlc(["train", "--algorithm", "xgboost", "--root", cut.path])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.lines.filter { $0.hasPrefix("Resuming from checkpoint") }.count == 3)
        #expect((0..<3).map { contents(cut.path + "/model/xgboost-model-\($0)") } == expected)
    }

    @Test("mlc predict: CSV out by default, identical to the library; missing cells and libsvm requests; selectable outputs")
    func predicts() throws {
        let root = try trainingTree(hyperparameters: #"{"num_round": "6", "objective": "binary:logistic"}"#, channels: xgboostCSVChannels)
        defer { root.remove() }
        #expect(mlc(["train", "--algorithm", "xgboost", "--root", root.path]).status == 0)
        let model = try BoostedTreesModel.load(path: root.path + "/model/xgboost-model")
        let out = try TemporaryDirectory()
        defer { out.remove() }
        let csv = bundled("breast-cancer", "validation")
        let lines = try predictions(mlc(["predict", "--model", root.path + "/model", "--input", csv, "--content-type", "text/csv;label_size=1",
                                        "--output", out.path]), out.path + "/validation.csv.out")
        let x = try CSVReader.readAll(files: [csv], options: CSVOptions(labelSize: 1))
        let ours = try model.predict(x.features)
        #expect(lines.count == ours.count)
        for (line, value) in zip(lines, ours) { #expect(Float(line) == value) }

        let handler = try ModelInvocations(model: XGBoostInference(model: model, selectedOutputs: "predicted_label, probabilities,labels"))
        let row = (0..<30).map { $0 == 3 ? "" : "1.5" }.joined(separator: ",")
        let response = handler.invoke(InvocationRequest(contentType: "text/csv", accept: "text/csv", body: Array(row.utf8)))
        #expect(response.status == 200)
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(text.hasPrefix("0,\"[") || text.hasPrefix("1,\"["), "\(text)")
        #expect(text.hasSuffix("\"[0, 1]\"\n"), "\(text)")
        let plain = try ModelInvocations(model: XGBoostInference(model: model))
        let sparse = plain.invoke(InvocationRequest(contentType: "text/libsvm", accept: "application/json", body: Array("1 3:1.5 7:2\n0:0.1\n".utf8)))
        #expect(sparse.status == 200 && String(decoding: sparse.body, as: UTF8.self).hasPrefix("{\"predictions\": [{\"score\": "))
        let wide = plain.invoke(InvocationRequest(contentType: "text/csv", accept: nil, body: Array((0..<31).map { _ in "1" }.joined(separator: ",").utf8)))
        #expect(wide.status == 400)
        #expect(throws: ContainerError.self) { try XGBoostInference(model: model, selectedOutputs: "nope") }
    }

    @Test("SAGEMAKER_BATCH=true: one Python str() of each prediction per line, as the container's batch transform answers (values from Python)")
    func batchLines() throws {
        // '\n'.join(map(str, np.array(v, dtype=np.float32).tolist())) + '\n', printed by Python 3.
        let values: [Float] = [0.4386, 1.0, 1e-7, 123456.79, 0.1]
        #expect(XGBoostInference.batchLines(values, width: 1)
            == "0.43860000371932983\n1.0\n1.0000000116860974e-07\n123456.7890625\n0.10000000149011612\n")
        #expect(XGBoostInference.batchLines([0.1, 0.9, 0.25, 0.75], width: 2) == "[0.10000000149011612, 0.8999999761581421]\n[0.25, 0.75]\n")

        let root = try trainingTree(hyperparameters: #"{"num_round": "4", "objective": "binary:logistic"}"#, channels: xgboostCSVChannels)
        defer { root.remove() }
        #expect(mlc(["train", "--algorithm", "xgboost", "--root", root.path]).status == 0)
        let batch = try ModelInvocations(model: XGBoostInference(modelDirectory: root.path + "/model", environment: ["SAGEMAKER_BATCH": "True"]))
        let body = Array("1,2,3,4,5,6,7,8,9,10,1,2,3,4,5,6,7,8,9,10,1,2,3,4,5,6,7,8,9,10\n".utf8)
        let answer = batch.invoke(InvocationRequest(contentType: "text/csv", accept: "application/json", body: body))
        let text = String(decoding: answer.body, as: UTF8.self)
        let model = try BoostedTreesModel.load(path: root.path + "/model/xgboost-model")
        let expected = try model.predict(.dense(Matrix(rows: 1, columns: 30, elements: (0..<30).map { Float($0 % 10 + 1) })))
        #expect(answer.status == 200 && text == Double(expected[0]).description + "\n", "\(text)")
        // Selected outputs keep their own encodings in batch mode, as the container's.
        let selected = try ModelInvocations(model: XGBoostInference(modelDirectory: root.path + "/model",
                                                                   environment: ["SAGEMAKER_BATCH": "true", "SAGEMAKER_INFERENCE_OUTPUT": "predicted_label"]))
        let labelled = selected.invoke(InvocationRequest(contentType: "text/csv", accept: "application/json", body: body))
        #expect(String(decoding: labelled.body, as: UTF8.self).hasPrefix("{\"predictions\": [{\"predicted_label\": "))
    }

    @Test("contributions (TreeSHAP) through SAGEMAKER_INFERENCE_OUTPUT: the handler serve uses and a real mlc predict give the library's values")
    func contributions() throws {
        let root = try trainingTree(hyperparameters: #"{"num_round": "5", "objective": "binary:logistic", "max_depth": "3"}"#, channels: xgboostCSVChannels)
        defer { root.remove() }
        #expect(mlc(["train", "--algorithm", "xgboost", "--root", root.path]).status == 0)
        let model = try BoostedTreesModel.load(path: root.path + "/model/xgboost-model")
        let csv = bundled("breast-cancer", "validation")
        let x = try CSVReader.readAll(files: [csv], options: CSVOptions(labelSize: 1))
        let library = try model.contributions(x.features)
        let width = model.featureCount + 1

        let handler = try ModelInvocations(model: XGBoostInference(model: model, selectedOutputs: "contributions"))
        guard case .dense(let matrix) = x.features else { Issue.record("CSV reads dense"); return }
        let first = (0..<30).map { String(matrix[0, $0]) }.joined(separator: ",")
        let answer = handler.invoke(InvocationRequest(contentType: "text/csv", accept: "application/json", body: Array(first.utf8)))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: [[String: [Double]]]])
        let served = try #require(json["predictions"]?.first?["contributions"])
        #expect(served.count == width)
        for (a, b) in zip(served, library.prefix(width)) { #expect(Float(a) == b) }

        let out = try TemporaryDirectory()
        defer { out.remove() }
        var environment = ProcessInfo.processInfo.environment
        environment["SAGEMAKER_INFERENCE_OUTPUT"] = "contributions"
        let run = try runProcess(try builtProduct("mlc"), ["predict", "--model", root.path + "/model", "--input", csv, "--content-type", "text/csv;label_size=1",
                                                         "--accept", "application/jsonlines", "--output", out.path], environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = try String(contentsOfFile: out.path + "/validation.csv.out", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == x.features.rows)
        for (i, line) in lines.enumerated() {
            let row = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: [Double]])
            let values = try #require(row["contributions"])
            #expect(values.map(Float.init) == Array(library[(i * width)..<((i + 1) * width)]), "row \(i)")
        }
    }
}

@Suite("XGBoost ensembles")
struct XGBoostEnsembleTests {
    @Test("the vote: the most frequent class, ties to the smaller (scipy.stats.mode)")
    func vote() {
        #expect(XGBoostInference.vote([2, 1, 2]) == 2)
        #expect(XGBoostInference.vote([1, 0, 0, 1]) == 0)
        #expect(XGBoostInference.vote([3, 1, 2]) == 1)
    }

    @Test("multi:softmax ensembles vote per row; models that disagree on features are refused")
    func softmaxVote() throws {
        let x = try Matrix<Float>(rows: 60, columns: 4, elements: (0..<240).map { Float(($0 * 37) % 11) })
        let labels = (0..<60).map { Float($0 % 3) }
        var models: [BoostedTreesModel] = []
        for seed in 0..<3 {
            let hp = try XGBoostHyperparameters(strings: ["num_round": "3", "objective": "multi:softmax", "num_class": "3",
                                                          "subsample": "0.6", "seed": String(seed)])
            models.append(try BoostedTreesTrainer(hyperparameters: hp, threads: 1).fit(train: TreeDataset(features: .dense(x), labels: labels)).model)
        }
        let each = try models.map { try $0.predict(.dense(x)) }
        let served = try XGBoostInference(models: models).predict(.dense(x))
        for i in 0..<60 { #expect(served[i] == XGBoostInference.vote(each.map { $0[i] })) }
        var other = models[1]
        other.featureCount = 5
        #expect(throws: ContainerError.self) { try XGBoostInference(models: [models[0], other]) }
    }
}
