import MLAlgorithms
import Foundation
import MLCore

/// `mlc fit` once its arguments are parsed: read the hyperparameters and channels, train, print
/// SageMaker's metric lines, save the model.
struct FitRun {
    let command: FitCommand
    let console: Console
    let cancellation: CancellationFlag

    /// How the run ended, as the process's exit status.
    enum Outcome: Int32 {
        case trained = 0
        case interrupted = 130
    }

    func run() throws -> Outcome {
        // Everything that can be checked without data is checked first.
        let strings = try HyperparameterInput.strings(jsonFile: command.hyperparametersJSON, assignments: command.hyperparameters)
        let hyperparameters = try LinearLearnerHyperparameters(strings: strings)
        if let dir = command.modelDirectory { try Self.checkModelDirectory(dir) }
        let workers = command.workers ?? ComputeContext.defaultThreadCount()

        let weighted = hyperparameters.values.integer("csv_weights") == 1
        let train = try Self.load(channel: "train", path: command.train, threads: workers, weighted: weighted)
        let validation = try command.validation.map { try Self.load(channel: "validation", path: $0, threads: workers, weighted: weighted) }
        let test = try command.test.map { try Self.load(channel: "test", path: $0, threads: workers, weighted: weighted) }

        var trainer = LinearLearnerTrainer(hyperparameters: hyperparameters, workers: workers, seed: command.seed)
        let settings = trainer.settings
        let batches = (train.rows + max(1, settings.miniBatchSize) - 1) / max(1, settings.miniBatchSize)
        // About 100 progress events per epoch: the bar moves smoothly whatever the batch count.
        trainer.progressInterval = max(1, batches / 100)

        var header = "Training \(command.algorithm.rawValue) (\(settings.predictorType.rawValue)) on "
            + "\(train.rows) rows × \(train.columns) features"
        if let validation { header += ", validation \(validation.rows) rows" }
        if let test { header += ", test \(test.rows) rows" }
        header += ", \(workers) worker" + (workers == 1 ? "" : "s")
        console.out(header)

        let started = DispatchTime.now().uptimeNanoseconds
        let result = try fit(trainer, train: train, validation: validation, test: test)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9

        if result.stopReason == .cancelled {
            console.out("Training interrupted in epoch \(result.state.epoch) after \(result.state.batch) of \(batches) "
                        + "mini-batches; nothing was saved")
            return .interrupted
        }

        var destination = "model not saved (no --model-dir)"
        if let dir = command.modelDirectory {
            try Self.createModelDirectory(dir)
            try result.model.save(to: dir)
            destination = "model written to \(dir)"
        }
        console.out(Self.summary(result, epochs: settings.epochs, seconds: seconds) + " — " + destination)
        return .trained
    }

    /// Trains, printing every event's metric lines and drawing the progress bar.
    func fit(_ trainer: LinearLearnerTrainer, train: LinearDataset, validation: LinearDataset?,
             test: LinearDataset?) throws -> LinearLearnerTrainer.Result {
        let lines = SageMakerMetricLines(host: command.host)
        let progress = ProgressBar(console: console, enabled: console.errorIsTerminal && !command.noProgress,
                                   epochs: trainer.settings.epochs)
        let console = self.console
        defer { progress.clear() }
        return try trainer.fit(train: train, validation: validation, test: test, cancellation: cancellation, events: { event in
            if case let TrainingEvent.progress(epoch, completed, total) = event {
                progress.update(epoch: epoch, completed: completed, total: total)
                return
            }
            let text = lines.lines(for: event)
            guard !text.isEmpty else { return }
            progress.clear()
            for line in text { console.out(line) }
        })
    }

    /// `Best epoch 17 of 40 (early stopping after epoch 20) in 0.84 s`, or `Model 5 of 32, best
    /// epoch 17 of 40 …` for several models (epochs counted from 0, as in the metric lines).
    static func summary(_ result: LinearLearnerTrainer.Result, epochs: Int, seconds: Double) -> String {
        let how: String
        switch result.stopReason {
        case .earlyStopped(let epoch): how = "early stopping after epoch \(epoch)"
        case .completedEpochs, .cancelled: how = "all epochs"
        }
        let best = result.bestEpoch.map { String($0) } ?? "none"
        let models = result.state.layout.models
        let which = models > 1 ? "Model \(result.selection?.model ?? 0) of \(models), best epoch" : "Best epoch"
        return "\(which) \(best) of \(epochs) (\(how)) in \(String(format: "%.2f", seconds)) s"
    }

    /// A channel's rows: every file of the channel (``ChannelFiles``), read as SageMaker CSV
    /// (`label, weight, features…` with `csv_weights=1`).
    static func load(channel: String, path: String, threads: Int, weighted: Bool = false) throws -> LinearDataset {
        guard weighted else { return try LinearDataset(channel: channel, csvPath: path, threads: threads) }
        let batch = try CSVReader.readAll(files: ChannelFiles.list(path), options: CSVOptions(labelSize: 1, threads: threads))
        return try LinearDataset(channel: channel, batch: LinearDataset.weightsFromFirstColumn(batch, channel: channel))
    }

    /// Refuses, before any training, a model directory path that names something other than a
    /// directory, or under which nothing can be created.
    static func checkModelDirectory(_ path: String) throws(CommandLineError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw .modelDirectory(path: path, reason: "exists and is not a directory") }
            guard FileManager.default.isWritableFile(atPath: path) else {
                throw .modelDirectory(path: path, reason: "is not writable")
            }
            return
        }
        // The nearest existing ancestor must be a writable directory.
        var ancestor = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory), ancestor.path != "/" {
            ancestor.deleteLastPathComponent()
        }
        guard isDirectory.boolValue else {
            throw .modelDirectory(path: path, reason: "\(ancestor.path) exists and is not a directory")
        }
        guard FileManager.default.isWritableFile(atPath: ancestor.path) else {
            throw .modelDirectory(path: path, reason: "cannot create it: \(ancestor.path) is not writable")
        }
    }

    static func createModelDirectory(_ path: String) throws(CommandLineError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .modelDirectory(path: path, reason: CommandLineError.reason(error))
        }
    }
}
