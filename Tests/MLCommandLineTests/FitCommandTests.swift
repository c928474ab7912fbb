import MLAlgorithms
import Foundation
import MLCore
import Testing
@testable import MLCommandLine

/// `mlc fit` driven in process (docs/cli.md).
@Suite struct FitCommandTests {
    static let breastCancer = [
        "fit", "--algorithm", "linear-learner",
        "--train", bundled("breast-cancer", "train"), "--validation", bundled("breast-cancer", "validation"),
        "-p", "predictor_type=binary_classifier", "-p", "mini_batch_size=32", "-p", "epochs=5",
    ]

    @Test func breastCancerPrintsSageMakerMetricLinesAndSavesTheModel() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let modelDir = dir.file("model/nested")  // created, parents included
        let run = mlc(Self.breastCancer + ["--workers", "2", "--model-dir", modelDir])
        #expect(run.status == 0)
        #expect(run.stderr.isEmpty)
        let lines = run.lines
        #expect(lines.first == "Training linear-learner (binary_classifier) on 455 rows × 30 features, validation 114 rows, 2 workers")

        // SageMaker's predefined metric regexes for the linear learner.
        let validationLoss = captures(lines, #/#quality_metric: host=\S+, epoch=\S+, validation \S+_objective <loss>=(\S+)/#)
        let trainLoss = captures(lines, #/#quality_metric: host=\S+, epoch=\S+, train \S+_objective <loss>=(\S+)/#)
        let epochs = captures(lines, #/#quality_metric: host=algo-1, epoch=(\d+), validation binary_classification_accuracy <score>=\S+/#)
        #expect(validationLoss.count == 5)
        #expect(trainLoss.count == 5)
        #expect(epochs == ["0", "1", "2", "3", "4"])
        #expect(validationLoss.allSatisfy { (Double($0) ?? .nan).isFinite })
        #expect(captures(lines, #/#progress_metric: host=algo-1, completed (\d+) % of epochs/#).last == "100")

        let accuracy = captures(lines, #/#quality_metric: host=algo-1, validation binary_classification_accuracy <score>=(\S+)/#)
        let final = try #require(accuracy.first.flatMap(Double.init))
        #expect(accuracy.count == 1)
        #expect(final >= 0.93)

        let last = try #require(lines.last)
        // num_models=auto: 32 models, the kept one named.
        #expect(last.hasPrefix("Model ") && last.contains(" of 32, best epoch "))
        #expect(last.contains(" of 5 ("))
        #expect(last.hasSuffix("— model written to \(modelDir)"))

        #expect(FileManager.default.fileExists(atPath: modelDir + "/model.safetensors"))
        #expect(FileManager.default.fileExists(atPath: modelDir + "/model.json"))
        let model = try LinearModel.load(from: modelDir)
        #expect(model.predictorType == .binaryClassifier)
        #expect(model.layout.features == 30)
        // The saved model is the one the final metrics describe.
        let validation = try LinearDataset(channel: "validation", batch: CSVReader.readAll(files: [bundled("breast-cancer", "validation")]))
        let predictions = try model.predict(validation.features)
        let correct = zip(predictions, validation.labels).filter { $0.0.predictedLabel == $0.1 }.count
        #expect(abs(Double(correct) / Double(validation.rows) - final) < 1e-9)
    }

    @Test func testChannelAndHostWithoutModelDir() {
        let run = mlc(Self.breastCancer + ["--workers", "1", "--host", "algo-2", "--test", bundled("breast-cancer", "validation")])
        #expect(run.status == 0)
        #expect(run.lines.first?.hasSuffix("validation 114 rows, test 114 rows, 1 worker") == true)
        let validation = captures(run.lines, #/#quality_metric: host=algo-2, validation binary_classification_accuracy <score>=(\S+)/#)
        let test = captures(run.lines, #/#quality_metric: host=algo-2, test binary_classification_accuracy <score>=(\S+)/#)
        #expect(validation.count == 1)
        #expect(test == validation)  // the same rows
        #expect(run.lines.last?.hasSuffix("model not saved (no --model-dir)") == true)
    }

    @Test func multiclassDigits() throws {
        let run = mlc([
            "fit", "--algorithm", "linear-learner", "--train", bundled("digits", "train"), "--validation", bundled("digits", "validation"),
            "-p", "predictor_type=multiclass_classifier", "-p", "num_classes=10", "-p", "mini_batch_size=32", "-p", "epochs=3",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.lines.first?.hasPrefix("Training linear-learner (multiclass_classifier) on 1437 rows × 64 features, validation 360 rows") == true)
        let accuracy = captures(run.lines, #/#quality_metric: host=algo-1, validation multiclass_accuracy <score>=(\S+)/#)
        #expect(try #require(accuracy.first.flatMap(Double.init)) >= 0.9)
    }

    /// A directory channel is its files in sorted order, skipping `.` and `_` names: split into
    /// parts, the training set gives exactly the metrics of the single file.
    @Test func directoryChannelEqualsTheFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let rows = try String(contentsOfFile: bundled("breast-cancer", "train"), encoding: .utf8).split(separator: "\n")
        let channel = dir.file("train")
        try FileManager.default.createDirectory(atPath: channel + "/b", withIntermediateDirectories: true)
        try (rows[..<200].joined(separator: "\n") + "\n").write(toFile: channel + "/a.csv", atomically: true, encoding: .utf8)
        try (rows[200...].joined(separator: "\n") + "\n").write(toFile: channel + "/b/part-0", atomically: true, encoding: .utf8)
        try "".write(toFile: channel + "/_SUCCESS", atomically: true, encoding: .utf8)
        try "not,data\n".write(toFile: channel + "/.hidden", atomically: true, encoding: .utf8)

        func qualityLines(train: String) -> [String] {
            let run = mlc(["fit", "--algorithm", "linear-learner", "--train", train, "--validation", bundled("breast-cancer", "validation"),
                           "-p", "predictor_type=binary_classifier", "-p", "mini_batch_size=32", "-p", "epochs=3", "--workers", "2"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.lines.first?.contains("on 455 rows × 30 features") == true)
            return run.lines.filter { $0.hasPrefix("#quality_metric") }
        }
        let fromDirectory = qualityLines(train: channel)
        #expect(fromDirectory.count > 6)
        #expect(fromDirectory == qualityLines(train: bundled("breast-cancer", "train")))
    }

    @Test func hyperparametersFromJSONAreOverriddenByFlags() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let json = dir.file("hyperparameters.json")
        // SageMaker writes strings; numbers are accepted too.
        try #"{"predictor_type": "binary_classifier", "epochs": "4", "mini_batch_size": 64}"#
            .write(toFile: json, atomically: true, encoding: .utf8)
        let base = ["fit", "--algorithm", "linear-learner", "--train", bundled("breast-cancer", "train"), "--hyperparameters-json", json]
        let fromFile = mlc(base)
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        #expect(fromFile.lines.last?.contains(" of 4 (") == true)
        let overridden = mlc(base + ["-p", "epochs=2"])
        #expect(overridden.status == 0)
        #expect(overridden.lines.last?.contains(" of 2 (") == true)
        #expect(captures(overridden.lines, #/#quality_metric: host=algo-1, epoch=(\d+), train \S+ <loss>=\S+/#) == ["0", "1"])
    }

    @Test func interruptedTrainingExits130AndSavesNothing() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let modelDir = dir.file("model")
        let flag = CancellationFlag()
        flag.cancel()
        let run = mlc(Self.breastCancer + ["--model-dir", modelDir], cancellation: flag)
        #expect(run.status == 130)
        #expect(run.lines.last?.hasPrefix("Training interrupted in epoch 0") == true)
        #expect(!run.stdout.contains("#validation_score"))
        #expect(!FileManager.default.fileExists(atPath: modelDir))
    }

    @Test func progressBarOnlyOnATerminalAndNeverOnStdout() {
        let tty = mlc(Self.breastCancer, errorIsTerminal: true)
        #expect(tty.status == 0)
        #expect(tty.stderr.contains("epoch 5/5 ["))
        #expect(tty.stderr.hasSuffix("\r\u{1B}[2K"))  // erased at the end
        #expect(!tty.stdout.contains("\u{1B}"))
        #expect(mlc(Self.breastCancer, errorIsTerminal: true).stdout.split(separator: "\n").count == tty.lines.count)
        #expect(mlc(Self.breastCancer + ["--no-progress"], errorIsTerminal: true).stderr.isEmpty)
        #expect(mlc(Self.breastCancer).stderr.isEmpty)
        #expect(ProgressBar.render(epoch: 2, epochs: 40, completed: 7, total: 14)
                == "epoch 3/40 [###############---------------] 7/14 batches 50%")
    }

    // MARK: Errors: one `error:` line (plus usage for argument errors), status 1, no metrics.

    /// Runs `arguments`, expecting status 1, nothing on stdout and an `error:` message containing `fragments`.
    func expectError(_ arguments: [String], _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation) {
        let run = mlc(arguments)
        #expect(run.status == 1, sourceLocation: sourceLocation)
        #expect(run.stderr.hasPrefix("error: "), "\(run.stderr)", sourceLocation: sourceLocation)
        for f in fragments { #expect(run.stderr.contains(f), "\(run.stderr)", sourceLocation: sourceLocation) }
        #expect(!run.stdout.contains("#quality_metric"), sourceLocation: sourceLocation)
    }

    @Test func invalidHyperparameterNamesIt() {
        expectError(Self.breastCancer + ["-p", "epochs=0"], "'epochs'", "'0'")
        expectError(Self.breastCancer + ["-p", "epoch=3"], "'epoch'", "did you mean 'epochs'")
        expectError(["fit", "--algorithm", "linear-learner", "--train", bundled("breast-cancer", "train")], "predictor_type")
    }

    @Test func unknownAlgorithmListsTheKnownOnes() {
        expectError(["fit", "--algorithm", "xgboost", "--train", bundled("breast-cancer", "train")], "xgboost", "linear-learner")
    }

    @Test func missingFileNamesThePath() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let missing = dir.file("no-such.csv")
        expectError(["fit", "--algorithm", "linear-learner", "--train", missing, "-p", "predictor_type=binary_classifier"], missing)
        var args = Self.breastCancer
        args[6] = missing  // the validation channel
        expectError(args, missing)
        expectError(Self.breastCancer + ["--hyperparameters-json", missing], missing)
    }

    @Test func assignmentWithoutEqualsIsRejected() throws {
        expectError(Self.breastCancer + ["-p", "epochs"], "'epochs'", "NAME=VALUE")
        expectError(Self.breastCancer + ["--hyperparameter", "=5"], "NAME=VALUE")
        #expect(try HyperparameterAssignment.parse("init_bias=-1=2") == HyperparameterAssignment(name: "init_bias", value: "-1=2"))
    }

    @Test func otherUserErrors() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // Bad data: the row and the rule.
        expectError(["fit", "--algorithm", "linear-learner", "--train", bundled("digits", "train"), "-p", "predictor_type=binary_classifier"],
                    "train channel, row 1", "binary_classifier labels are 0 or 1")
        // Channels that disagree on the feature count.
        expectError(["fit", "--algorithm", "linear-learner", "--train", bundled("digits", "train"),
                     "--validation", bundled("breast-cancer", "validation"),
                     "-p", "predictor_type=multiclass_classifier", "-p", "num_classes=10"], "validation channel has 30 features")
        // A model directory that is a file: refused before training.
        let file = dir.file("file")
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        expectError(Self.breastCancer + ["--model-dir", file], file, "not a directory")
        // A hyperparameters file that is not a map of scalars.
        let json = dir.file("hp.json")
        try #"{"epochs": [1]}"#.write(toFile: json, atomically: true, encoding: .utf8)
        expectError(Self.breastCancer + ["--hyperparameters-json", json], json, "'epochs'")
        try "[1, 2]".write(toFile: json, atomically: true, encoding: .utf8)
        expectError(Self.breastCancer + ["--hyperparameters-json", json], json, "JSON object")
        // Bad flags.
        expectError(Self.breastCancer + ["--workers", "0"], "--workers")
        expectError(Self.breastCancer + ["--seed", "-1"], "--seed")
        expectError(Self.breastCancer + ["--bogus"], "--bogus")
        expectError(["fit"], "--algorithm")
        expectError(["frobnicate"], "frobnicate")
    }

    @Test func helpGoesToStdoutWithStatus0() {
        let help = mlc(["fit", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("--hyperparameters-json"))
        #expect(help.stderr.isEmpty)
        let bare = mlc([])
        #expect(bare.status == 1)
        #expect(bare.stderr.contains("fit"))
    }
}
