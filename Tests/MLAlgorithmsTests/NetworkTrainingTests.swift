import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// Optimizers, schedules, the golden trajectories and the state dict against PyTorch
/// (Fixtures/cnn/*.safetensors from scripts/generate_cnn_fixtures.py, torch 2.13.0+cpu).
@Suite struct NetworkTrainingTests {
    static let optimizerCases = ["sgd", "sgd_momentum", "sgd_nesterov_wd", "sgd_dampening", "adam", "adam_wd", "rmsprop", "rmsprop_momentum_wd"]

    static func optimizer(_ name: String) -> Optimizer {
        switch name {
        case "sgd": .sgd(learningRate: 0.1)
        case "sgd_momentum": .sgd(learningRate: 0.1, momentum: 0.9)
        case "sgd_nesterov_wd": .sgd(learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01)
        case "sgd_dampening": .sgd(learningRate: 0.1, momentum: 0.9, dampening: 0.5)
        case "adam": .adam(learningRate: 0.01)
        case "adam_wd": .adam(learningRate: 0.01, beta1: 0.8, beta2: 0.95, epsilon: 1e-6, weightDecay: 0.01)
        case "rmsprop": .rmsProp(learningRate: 0.01)
        default: .rmsProp(learningRate: 0.01, alpha: 0.9, epsilon: 1e-6, momentum: 0.5, weightDecay: 0.01)
        }
    }

    @Test("five optimizer steps equal torch.optim's", arguments: optimizerCases)
    func optimizerSteps(_ name: String) throws {
        let f = try cnnFixture("optimizers")
        let optimizer = Self.optimizer(name)
        try optimizer.validate()
        var p = try f.floats("\(name).p0"), state = Optimizer.State()
        for t in 0..<5 {
            optimizer.step(parameters: &p, gradients: try f.floats("\(name).g.\(t)"), state: &state, learningRate: optimizer.learningRate)
            expectClose(p, try f.floats("\(name).p.\(t)"), atol: 1e-6, rtol: 1e-5, "\(name) after step \(t)")
        }
    }

    @Test func learningRateDecayEqualsStepLRAndMultiStepLR() throws {
        let f = try cnnFixture("optimizers")
        func list(_ key: String) throws -> [Float] {
            let data = try #require(f.metadata[key]?.data(using: .utf8))
            return try #require(try JSONSerialization.jsonObject(with: data) as? [NSNumber]).map(\.floatValue)
        }
        let step = LearningRateDecay.step(every: 3, factor: 0.5), multi = LearningRateDecay.multiStep(milestones: [2, 5], factor: 0.1)
        expectClose((0..<10).map { step.rate(base: 0.1, after: $0) }, try list("steplr"), atol: 0, rtol: 1e-6, "StepLR")
        expectClose((0..<10).map { multi.rate(base: 0.1, after: $0) }, try list("multisteplr"), atol: 0, rtol: 1e-6, "MultiStepLR")
    }

    /// The trajectory model of the fixture: conv-bn-relu-pool-conv-relu-flatten-dense on 1×8×8.
    static func trajectoryModel() -> Sequential {
        Sequential(Conv2D(inputChannels: 1, outputChannels: 4, kernelSize: 3), BatchNorm2D(features: 4), ReLU(), MaxPool2D(kernelSize: 2),
                   Conv2D(inputChannels: 4, outputChannels: 8, kernelSize: 3, padding: .explicit(height: 1, width: 1)), ReLU(), Flatten(),
                   Dense(inputFeatures: 72, outputFeatures: 10))
    }

    @Test("ten training steps follow PyTorch's losses and end at its weights", arguments: ["sgd", "adam"])
    func goldenTrajectory(_ optimizerName: String) throws {
        let f = try cnnFixture("trajectory")
        var network = try Network(Self.trajectoryModel(), inputShape: FeatureShape(channels: 1, height: 8, width: 8))
        try network.load(stateDict: f.prefixed("init."))
        let data = try ImageDataset(shape: network.inputShape, images: try f.floats("x"), targets: try f.floats("y"))
        var settings = NetworkTrainer.Settings()
        settings.epochs = 10
        settings.batchSize = 16
        settings.microShardRows = 16
        settings.shuffle = false
        if optimizerName == "sgd" {
            settings.optimizer = .sgd(learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4)
            settings.decay = .step(every: 4, factor: 0.5)
            settings.decayEveryStep = true
        } else {
            settings.optimizer = .adam(learningRate: 0.01)
        }
        let result = try NetworkTrainer(settings: settings).fit(network, train: data)
        let losses = result.state.history.flatMap(\.stepLosses)
        expectClose(losses, try f.floats("\(optimizerName).losses"), atol: 1e-5, rtol: 1e-4, "\(optimizerName) losses")
        let final = result.network.stateDict()
        // The first convolution's bias sits before batch norm, which cancels it: its true
        // gradient is 0 and the computed one is rounding noise (~1e-9). Adam divides by √v and
        // turns that noise into full-size steps whose direction depends on the last bits, so
        // that bias (and the running mean it shifts) is not comparable under Adam. The losses
        // above and every other tensor are.
        let incomparable: Set<String> = optimizerName == "adam" ? ["0.bias", "1.running_mean"] : []
        for name in final.tensors.keys.sorted() where !incomparable.contains(name) {
            expectClose(try final.floats(name), try f.floats("\(optimizerName).final.\(name)"), atol: 1e-4, rtol: 1e-3,
                        "\(optimizerName) final \(name)")
        }
        let outputTolerance: Float = optimizerName == "adam" ? 2e-2 : 1e-3
        expectClose(try result.network.predict(data.images), try f.floats("\(optimizerName).eval_output"), atol: outputTolerance, rtol: outputTolerance,
                    "\(optimizerName) eval output")
    }

    /// The checkpoint model of Fixtures/cnn/statedict.safetensors, on 1×14×14.
    static func checkpointModel() -> Sequential {
        Sequential(Conv2D(inputChannels: 1, outputChannels: 8, kernelSize: 3), BatchNorm2D(features: 8), ReLU(), MaxPool2D(kernelSize: 2),
                   Conv2D(inputChannels: 8, outputChannels: 16, kernelSize: 3), ReLU(), Flatten(),
                   Dense(inputFeatures: 256, outputFeatures: 32), ReLU(), Dropout(probability: 0.25), Dense(inputFeatures: 32, outputFeatures: 10))
    }

    @Test func loadsAPyTorchStateDictAndWritesTheSameLayout() throws {
        let torchFile = try cnnFixture("statedict"), check = try cnnFixture("statedict_check")
        var network = try Network(Self.checkpointModel(), inputShape: FeatureShape(channels: 1, height: 14, width: 14))
        try network.load(stateDict: torchFile)
        #expect(network.batchesTracked == 3)
        expectClose(try network.predict(try check.floats("x"), threads: 2), try check.floats("expected"), atol: 1e-5, rtol: 1e-5, "eval output")

        // Ours has exactly PyTorch's names, dtypes and shapes, so strict loading accepts it.
        let ours = network.stateDict()
        #expect(Set(ours.tensors.keys) == Set(torchFile.tensors.keys))
        for (name, tensor) in torchFile.tensors {
            #expect(ours.tensors[name]?.dtype == tensor.dtype, "\(name) dtype")
            #expect(ours.tensors[name]?.shape == tensor.shape, "\(name) shape")
            #expect(ours.tensors[name]?.bytes == tensor.bytes, "\(name) bytes after a round trip")
        }
        // And PyTorch itself loads a file we trained, when this machine has it (scripts/check_cnn_state_dict.py).
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let python = root.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python), Self.hasTorch(python) else { return }
        var trained = try Network(Self.checkpointModel(), inputShape: network.inputShape, seed: 5)
        var settings = NetworkTrainer.Settings()
        settings.epochs = 1
        settings.batchSize = 8
        let x = try check.floats("x")
        let data = try ImageDataset(shape: trained.inputShape, images: x + x, targets: (0..<10).map { Float($0) })
        trained = try NetworkTrainer(settings: settings).fit(trained, train: data).network
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mlcore-cnn-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try trained.stateDict().write(to: path)
        let (status, output) = try Self.run(python, [root.appendingPathComponent("scripts/check_cnn_state_dict.py").path, path, "--no-compare"])
        #expect(status == 0, "PyTorch refused our state dict: \(output)")
    }

    static func hasTorch(_ python: String) -> Bool {
        (try? run(python, ["-c", "import torch, safetensors"]).status) == 0
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
