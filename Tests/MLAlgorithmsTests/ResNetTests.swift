import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// `ResNet` against torchvision and PyTorch: Fixtures/cnn/resnet*.safetensors and
/// resnet_state_dicts.json from scripts/generate_resnet_fixtures.py (torch 2.13.0+cpu,
/// torchvision 0.28.0); the small-image module is `cifar_resnet` of Benchmarks/peers/cnn/torch_cnn.py.
@Suite struct ResNetTests {
    // MARK: configuration

    @Test func refusesOtherDepthsClassesAndChannelsNamingTheRule() throws {
        for depth in ResNet.imageNetDepths + ResNet.smallImageDepths {
            let net = try ResNet(depth: depth, classes: 10)
            #expect(net.depth == depth && net.inputChannels == 3)
        }
        for depth in [0, 19, 26, 100, 8, 14] {
            #expect(throws: NetworkError.self) { try ResNet(depth: depth, classes: 10) }
            do {
                _ = try ResNet(depth: depth, classes: 10)
            } catch {
                guard case .invalidSetting(let name, _, let rule) = error else { Issue.record("\(error)"); continue }
                #expect(name == "depth")
                #expect(rule.contains("18") && rule.contains("110"))
            }
        }
        #expect(throws: NetworkError.invalidSetting(name: "classes", value: "0", rule: "must be at least 1")) {
            try ResNet(depth: 18, classes: 0)
        }
        #expect(throws: NetworkError.invalidSetting(name: "input channels", value: "0", rule: "must be at least 1")) {
            try ResNet(depth: 20, classes: 10, inputChannels: 0)
        }
        // A value mutated into an invalid depth is refused when bound, naming the layer.
        var net = try ResNet(depth: 18, classes: 10)
        net.depth = 17
        #expect(throws: NetworkError.self) { try net.outputShape(for: FeatureShape(channels: 3, height: 32, width: 32)) }
    }

    @Test func architectureRoundTripsThroughJSONAndRejectsBadDepths() throws {
        let architecture = try ResNet(depth: 50, classes: 7, inputChannels: 1).architecture
        let data = try JSONEncoder().encode(architecture)
        #expect(try JSONDecoder().decode(LayerArchitecture.self, from: data) == architecture)
        let bad = try #require(String(data: data, encoding: .utf8)).replacingOccurrences(of: "50", with: "51")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(LayerArchitecture.self, from: Data(bad.utf8)) }
    }

    @Test func anyInputSizeThatSurvivesTheStridesWorks() throws {
        let imageNet = try ResNet(depth: 18, classes: 4)
        for (h, w) in [(224, 224), (64, 64), (37, 45), (7, 9), (1, 1)] {
            #expect(try imageNet.outputShape(for: FeatureShape(channels: 3, height: h, width: w)) == .vector(4))
        }
        let small = try ResNet(depth: 20, classes: 10, inputChannels: 1)
        #expect(try small.outputShape(for: FeatureShape(channels: 1, height: 28, width: 28)) == .vector(10))
        #expect(try small.outputShape(for: FeatureShape(channels: 1, height: 3, width: 2)) == .vector(10))
        #expect(try ResNet(depth: 50, classes: 3).outputShape(for: FeatureShape(channels: 3, height: 33, width: 20)) == .vector(3))
        // Too small (an empty plane) or the wrong channel count: typed errors naming `conv1`.
        #expect(throws: NetworkError.shapeMismatch(path: "conv1", expected: "[3, H, W] with H, W ≥ 1",
                                                   actual: FeatureShape(channels: 3, height: 0, width: 32))) {
            try imageNet.outputShape(for: FeatureShape(channels: 3, height: 0, width: 32))
        }
        #expect(throws: NetworkError.shapeMismatch(path: "conv1", expected: "[1, H, W]", actual: FeatureShape(channels: 3, height: 28, width: 28))) {
            try small.outputShape(for: FeatureShape(channels: 3, height: 28, width: 28))
        }
        #expect(throws: NetworkError.self) { try Network(imageNet, inputShape: FeatureShape(channels: 1, height: 32, width: 32)) }
    }

    // MARK: names against torchvision

    struct StateDictListing: Decodable {
        let classes: Int
        let models: [String: [Entry]]
        struct Entry: Decodable {
            let name: String, shape: [Int], dtype: String
            init(from decoder: any Decoder) throws {
                var c = try decoder.unkeyedContainer()
                name = try c.decode(String.self)
                shape = try c.decode([Int].self)
                dtype = try c.decode(String.self)
            }
        }
    }

    static func listing() throws -> StateDictListing {
        let url = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures/cnn/resnet_state_dicts.json")
        return try JSONDecoder().decode(StateDictListing.self, from: Data(contentsOf: url))
    }

    static let listedModels = ResNet.imageNetDepths.map { "resnet\($0)" } + ResNet.smallImageDepths.map { "resnet\($0)" } + ["resnet18_gray"]

    @Test("state-dict names, order, shapes and dtypes equal torchvision's", arguments: listedModels)
    func stateDictLayoutEqualsTorchvision(_ model: String) throws {
        let listing = try Self.listing()
        let expected = try #require(listing.models[model], "\(model) is not in resnet_state_dicts.json")
        let gray = model.hasSuffix("_gray")
        let depth = try #require(Int(model.dropFirst("resnet".count).prefix { $0.isNumber }))
        let resnet = try ResNet(depth: depth, classes: listing.classes, inputChannels: gray ? 1 : 3)
        // Binding lays out the tensors exactly as `Network` does, without allocating ResNet-200's 65M floats.
        var layout = LayoutBuilder(batchCapacity: 1)
        _ = try resnet.bind(input: FeatureShape(channels: resnet.inputChannels, height: 64, width: 64), path: "", layout: &layout)
        #expect(layout.names == expected.map(\.name))
        var ours: [String: (shape: [Int], dtype: String)] = [:]
        for p in layout.parameters { ours[p.name] = (p.shape, "F32") }
        for b in layout.buffers {
            if case .batchesTracked = b.kind { ours[b.name] = (b.shape, "I64") } else { ours[b.name] = (b.shape, "F32") }
        }
        #expect(ours.count == expected.count)
        for entry in expected {
            let mine = try #require(ours[entry.name], "\(model): \(entry.name) is missing")
            #expect(mine.shape == entry.shape, "\(model): \(entry.name) shape")
            #expect(mine.dtype == entry.dtype, "\(model): \(entry.name) dtype")
        }
    }

    // MARK: a torchvision-made checkpoint

    @Test func loadsATorchvisionResNet18AndPredictsAsTorchvision() throws {
        let torchFile = try cnnFixture("resnet18_torchvision"), check = try cnnFixture("resnet18_check")
        let resnet = try ResNet(depth: 18, classes: 5)
        var network = try Network(resnet, inputShape: FeatureShape(channels: 3, height: 64, width: 64))
        try network.load(stateDict: torchFile)
        #expect(network.batchesTracked == 3)
        // 20 layers of float32 arithmetic in different orders (oneDNN's against our GEMMs): the
        // logits are O(1), agreement to 1e-4 absolute is ~1e-5 relative to their spread.
        expectClose(try network.predict(try check.floats("x"), threads: 2), try check.floats("expected"), atol: 1e-4, rtol: 1e-4, "eval output")
        var odd = try Network(resnet, inputShape: FeatureShape(channels: 3, height: 37, width: 45))
        try odd.load(stateDict: torchFile)
        expectClose(try odd.predict(try check.floats("x_odd")), try check.floats("expected_odd"), atol: 1e-4, rtol: 1e-4, "eval output at 37×45")

        // Our state dict: torchvision's names, dtypes and shapes, and the same bytes after the round trip.
        let ours = network.stateDict()
        #expect(Set(ours.tensors.keys) == Set(torchFile.tensors.keys))
        #expect(ours.tensors.count == 122)
        for (name, tensor) in torchFile.tensors {
            #expect(ours.tensors[name]?.dtype == tensor.dtype, "\(name) dtype")
            #expect(ours.tensors[name]?.shape == tensor.shape, "\(name) shape")
            #expect(ours.tensors[name]?.bytes == tensor.bytes, "\(name) bytes after a round trip")
        }
        #expect(network.stateDictNames == (try Self.listing()).models["resnet18"]?.map(\.name))

        // torchvision loads the file we write with strict=True and reproduces its own outputs.
        guard let python = Self.pythonWithTorchvision() else { return }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mlcore-resnet18-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try ours.write(to: path)
        let checkPath = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures/cnn/resnet18_check.safetensors").path
        let (status, output) = try NetworkTrainingTests.run(python, [Self.root.appendingPathComponent("scripts/check_cnn_state_dict.py").path, path,
                                                                     "--model", "resnet18", "--classes", "5", "--check", checkPath])
        #expect(status == 0, "torchvision refused our ResNet-18 state dict: \(output)")
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `.venv/bin/python` when it can import torch, torchvision and safetensors.
    static func pythonWithTorchvision() -> String? {
        let python = root.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python),
              (try? NetworkTrainingTests.run(python, ["-c", "import torch, torchvision, safetensors"]).status) == 0 else { return nil }
        return python
    }

    // MARK: ResNet-20 against the PyTorch module

    static let cifar = FeatureShape(channels: 3, height: 32, width: 32)

    @Test func resNet20ForwardAndGradientsEqualPyTorch() throws {
        let f = try cnnFixture("resnet20")
        var network = try Network(try ResNet(depth: 20, classes: 10), inputShape: Self.cifar)
        try network.load(stateDict: f.prefixed("param."))
        #expect(network.batchesTracked == 5)
        let x = try f.floats("x")
        // Eval mode first (running statistics as loaded).
        expectClose(try network.predict(x), try f.floats("eval_output"), atol: 1e-4, rtol: 1e-4, "eval output")

        // Train mode: the 8 rows are one micro-shard, so batch norm is PyTorch's over the batch.
        let (output, inputGradient, gradients) = try network.forwardBackward(x, upstream: try f.floats("upstream"), training: true)
        expectClose(output, try f.floats("output"), atol: 1e-4, rtol: 1e-4, "train output")
        expectClose(inputGradient, try f.floats("grad_input"), atol: 1e-5, rtol: 1e-3, "input gradient")
        #expect(network.parameterEntries.count == 65)
        for entry in network.parameterEntries {
            let expected = try f.floats("grad.\(entry.name)")
            let scale = expected.map { abs($0) }.max() ?? 0
            // Gradients are sums over 8×32×32 positions: compare relative to the tensor's largest.
            expectClose(Array(gradients[entry.offset..<(entry.offset + entry.count)]), expected,
                        atol: 2e-4 * max(scale, 1e-3), rtol: 1e-3, "gradient of \(entry.name)")
        }
        let after = network.stateDict()
        for entry in network.bufferEntries {
            expectClose(try after.floats(entry.name), try f.floats("after.\(entry.name)"), atol: 1e-5, rtol: 1e-4, "\(entry.name) after the pass")
        }
        #expect(network.batchesTracked == 6)
    }

    /// `|ours − torch32| ≤ floor + factor · spread`, the spread being PyTorch's own float32 run's
    /// largest distance from its float64 run over the tensor (or, for the losses, over the steps
    /// so far): how far rounding alone carries this trajectory.
    static func expectWithinRoundingSpread(_ ours: [Float], _ torch32: [Float], _ torch64: [Float], floor: Float, factor: Float = 3,
                                           perStep: Bool = false, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard ours.count == torch32.count, torch32.count == torch64.count else {
            Issue.record("\(what): \(ours.count), \(torch32.count) and \(torch64.count) values", sourceLocation: sourceLocation)
            return
        }
        var spread: Float = 0
        let whole = zip(torch32, torch64).map { abs($0 - $1) }.max() ?? 0
        for i in ours.indices {
            spread = perStep ? max(spread, abs(torch32[i] - torch64[i])) : whole
            let tolerance = floor * max(1, abs(torch32[i])) + factor * spread
            if !(abs(ours[i] - torch32[i]) <= tolerance) {
                Issue.record("\(what): element \(i) is \(ours[i]), PyTorch float32 \(torch32[i]), float64 \(torch64[i]) (tolerance \(tolerance))",
                             sourceLocation: sourceLocation)
                return
            }
        }
    }

    @Test func resNet20GoldenTrajectoryFollowsPyTorch() throws {
        let f = try cnnFixture("resnet20_trajectory")
        var network = try Network(try ResNet(depth: 20, classes: 10), inputShape: Self.cifar)
        try network.load(stateDict: f.prefixed("init."))
        let data = try ImageDataset(shape: Self.cifar, images: try f.floats("x"), targets: try f.floats("y"))
        var settings = NetworkTrainer.Settings()
        settings.epochs = 8
        settings.batchSize = 16
        settings.microShardRows = 16
        settings.shuffle = false
        settings.workers = 2
        settings.optimizer = .sgd(learningRate: 0.05, momentum: 0.9, weightDecay: 5e-3)
        let result = try NetworkTrainer(settings: settings).fit(network, train: data)
        let losses = result.state.history.flatMap(\.stepLosses)
        // This trajectory amplifies rounding (batch norm at torchvision's initialization: the
        // backward pass's Jacobian is badly conditioned): PyTorch's float32 and float64 runs
        // agree to 2e-5 for three steps and drift apart by ~0.7% by step 8 (the fixture's
        // losses and losses_f64). The first three steps are held tight; all steps, the final
        // tensors and the eval outputs within 3× PyTorch's own float32-to-float64 spread.
        let torch32 = try f.floats("losses"), torch64 = try f.floats("losses_f64")
        expectClose(Array(losses.prefix(3)), Array(torch32.prefix(3)), atol: 0, rtol: 1e-4, "the first three losses")
        Self.expectWithinRoundingSpread(losses, torch32, torch64, floor: 1e-4, perStep: true, "losses")
        let final = result.network.stateDict()
        // The fixture keeps every tensor but most convolution weights (scripts/generate_resnet_fixtures.py).
        let kept = final.tensors.keys.filter { f.tensors["final.\($0)"] != nil }
        #expect(kept.count == final.tensors.count - 17)
        for name in kept.sorted() {
            Self.expectWithinRoundingSpread(try final.floats(name), try f.floats("final.\(name)"), try f.floats("final_f64.\(name)"),
                                            floor: 1e-4, "final \(name)")
        }
        Self.expectWithinRoundingSpread(try result.network.predict(data.images), try f.floats("eval_output"), try f.floats("eval_output_f64"),
                                        floor: 1e-4, "eval output")
    }

    @Test func resNetTrainsToTheSameBitsOnOneAndThreeWorkers() throws {
        // Ghost batch norm over 4 uneven micro-shards per mini-batch, on small 8×8 images.
        var random = RandomStream(seed: 41)
        let shape = FeatureShape(channels: 3, height: 8, width: 8)
        var images = [Float](repeating: 0, count: 40 * shape.count)
        try random.fillUniform(&images, in: 0..<1)
        let data = try ImageDataset(shape: shape, images: images, targets: (0..<40).map { Float($0 % 4) })
        let network = try Network(try ResNet(depth: 20, classes: 4), inputShape: shape, seed: 3)
        var settings = NetworkTrainer.Settings()
        settings.epochs = 2
        settings.batchSize = 20
        settings.microShardRows = 6
        settings.optimizer = .sgd(learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4)
        var results: [NetworkTrainer.Result] = []
        for workers in [1, 3] {
            settings.workers = workers
            results.append(try NetworkTrainer(settings: settings).fit(network, train: data))
        }
        #expect(results[0].network.parameters == results[1].network.parameters)
        #expect(results[0].network.buffers == results[1].network.buffers)
        #expect(results[0].state.history.flatMap(\.stepLosses) == results[1].state.history.flatMap(\.stepLosses))
    }
}
