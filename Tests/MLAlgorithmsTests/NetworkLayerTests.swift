import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// Every layer against PyTorch (Fixtures/cnn/layers.safetensors, made by
/// scripts/generate_cnn_fixtures.py with torch 2.13.0+cpu): the forward output, the gradient of
/// `Σ output·upstream` with respect to the input and every parameter, and batch norm's running
/// statistics after a training pass; then the backward against central finite differences.
@Suite struct NetworkLayerTests {
    static let cases: [String] = {
        guard let f = try? cnnFixture("layers"), let list = f.metadata["cases"]?.data(using: .utf8),
              let names = try? JSONSerialization.jsonObject(with: list) as? [String] else { return [] }
        return names.filter { !$0.hasPrefix("loss_") }
    }()

    /// The layer a fixture case describes, built from its metadata.
    static func layer(_ c: [String: Any]) throws -> any Layer {
        func ints(_ k: String) -> [Int] { (c[k] as? [Any])?.compactMap { ($0 as? NSNumber)?.intValue } ?? [] }
        func int(_ k: String) -> Int { (c[k] as? NSNumber)?.intValue ?? 0 }
        switch c["layer"] as? String {
        case "conv2d":
            let k = ints("kernel"), p = ints("padding")
            let padding: Conv2D.Padding = (c["padding_mode"] as? String) == "same" ? .same : .explicit(height: p[0], width: p[1])
            return Conv2D(inputChannels: int("in_channels"), outputChannels: int("out_channels"), kernelHeight: k[0], kernelWidth: k[1],
                          stride: ints("stride")[0], padding: padding, dilation: ints("dilation")[0], groups: int("groups"),
                          useBias: c["bias"] as? Bool ?? true)
        case "maxpool2d": return MaxPool2D(kernelSize: ints("kernel")[0], stride: ints("stride")[0], padding: ints("padding")[0])
        case "avgpool2d":
            return AvgPool2D(kernelSize: ints("kernel")[0], stride: ints("stride")[0], padding: ints("padding")[0],
                             countIncludesPadding: c["count_include_pad"] as? Bool ?? true)
        case "global_avgpool": return GlobalAvgPool2D()
        case "dense": return Dense(inputFeatures: int("in_features"), outputFeatures: int("out_features"), useBias: c["bias"] as? Bool ?? true)
        case "flatten": return Flatten()
        case "relu": return ReLU()
        case "leaky_relu": return LeakyReLU(negativeSlope: (c["negative_slope"] as? NSNumber)?.floatValue ?? 0.01)
        case "sigmoid": return Sigmoid()
        case "tanh": return Tanh()
        case "softmax": return Softmax()
        case "batchnorm2d":
            return BatchNorm2D(features: int("num_features"), epsilon: (c["eps"] as? NSNumber)?.floatValue ?? 1e-5,
                               momentum: (c["momentum"] as? NSNumber)?.floatValue ?? 0.1)
        case "basic_block": return ResidualBlock(.basic, inputChannels: int("inplanes"), planes: int("planes"), stride: int("stride"))
        case "bottleneck": return ResidualBlock(.bottleneck, inputChannels: int("inplanes"), planes: int("planes"), stride: int("stride"))
        case "sequential":
            let children = try (c["layers"] as? [[String: Any]] ?? []).map { try layer($0) }
            return Sequential(children)
        case let other: throw NetworkError.invalidLayer(path: "", reason: "fixture layer \(other ?? "nil") unknown to this test")
        }
    }

    static func inputShape(_ dims: [Int]) -> FeatureShape {
        dims.count == 4 ? FeatureShape(channels: dims[1], height: dims[2], width: dims[3]) : .vector(dims[1])
    }

    struct Case {
        var network: Network
        var input: [Float]
        var upstream: [Float]
        var training: Bool
        var fixture: Safetensors
        var name: String
    }

    static func load(_ name: String) throws -> Case {
        let f = try cnnFixture("layers")
        let meta = try #require(f.metadata[name]?.data(using: .utf8))
        let config = try #require(try JSONSerialization.jsonObject(with: meta) as? [String: Any])
        let layer = try layer(config)
        var network = try Network(layer, inputShape: inputShape(f.shape("\(name).input")))
        try network.load(stateDict: f.prefixed("\(name).param."))
        return Case(network: network, input: try f.floats("\(name).input"), upstream: try f.floats("\(name).upstream"),
                    training: (config["mode"] as? String) != "eval", fixture: f, name: name)
    }

    @Test("forward and backward equal PyTorch's", arguments: cases)
    func matchesPyTorch(_ name: String) throws {
        var c = try Self.load(name)
        let f = c.fixture
        let (output, dx, grads) = try c.network.forwardBackward(c.input, upstream: c.upstream, training: c.training)
        expectClose(output, try f.floats("\(name).output"), atol: 1e-5, rtol: 1e-5, "\(name) output")
        expectClose(dx, try f.floats("\(name).grad_input"), atol: 1e-4, rtol: 1e-4, "\(name) input gradient")
        for entry in c.network.parameterEntries {
            expectClose(Array(grads[entry.offset..<(entry.offset + entry.count)]), try f.floats("\(name).grad.\(entry.name)"),
                        atol: 1e-4, rtol: 1e-4, "\(name) gradient of \(entry.name)")
        }
        let after = f.prefixed("\(name).after.")
        if !after.tensors.isEmpty {
            let saved = c.network.stateDict()
            for (key, _) in after.tensors {
                let mine = try saved.floats(key), theirs = try after.floats(key)
                expectClose(mine, theirs, atol: 1e-6, rtol: 1e-5, "\(name) \(key) after the pass")
            }
        }
    }

    @Test("backward equals central finite differences", arguments: cases)
    func finiteDifferences(_ name: String) throws {
        var c = try Self.load(name)
        // Batch norm in training mode moves its running statistics; every probe starts from these.
        let start = c.network
        let (_, dx, grads) = try c.network.forwardBackward(c.input, upstream: c.upstream, training: c.training)
        func objective(_ network: Network, _ input: [Float]) throws -> Double {
            var n = network
            let out = try n.forwardBackward(input, upstream: c.upstream, training: c.training).output
            return zip(out, c.upstream).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        // Inputs are multiples of 1/64 with no ties in a pooling window, so h = 1/1024 never
        // crosses a kink of ReLU or a max on the input itself. Small h keeps batch norm's
        // curvature out of the difference; the objective's float rounding stays far below it.
        let h: Float = 1.0 / 1024
        let base = try objective(start, c.input)
        // The central difference, or nil when the one-sided differences disagree: the probe
        // straddles a kink (a ReLU input near 0 after batch norm), where no difference is the
        // derivative. PyTorch's gradient (the test above) covers those points.
        func probe(_ up: Double, _ mid: Double, _ down: Double) throws -> Double? {
            let right = (up - mid) / Double(h), left = (mid - down) / Double(h), central = (up - down) / Double(2 * h)
            return abs(right - left) > 0.05 * (1 + abs(central)) ? nil : central
        }
        var skipped = 0
        var random = RandomStream(seed: 7, path: [UInt64(name.hashValue & 0xFFFF)])
        for _ in 0..<12 {
            let i = random.integer(in: 0...(c.input.count - 1))
            var plus = c.input, minus = c.input
            plus[i] += h
            minus[i] -= h
            guard let numeric = try probe(try objective(start, plus), base, try objective(start, minus)) else { skipped += 1; continue }
            #expect(abs(numeric - Double(dx[i])) <= 2e-2 + 5e-2 * abs(numeric), "\(name): d/dx[\(i)] analytic \(dx[i]), numeric \(numeric)")
        }
        guard !start.parameters.isEmpty else { #expect(skipped <= 4); return }
        for _ in 0..<12 {
            let i = random.integer(in: 0...(start.parameters.count - 1))
            var plus = start, minus = start
            plus.parameters[i] += h
            minus.parameters[i] -= h
            guard let numeric = try probe(try objective(plus, c.input), base, try objective(minus, c.input)) else { skipped += 1; continue }
            #expect(abs(numeric - Double(grads[i])) <= 2e-2 + 5e-2 * abs(numeric), "\(name): d/dθ[\(i)] analytic \(grads[i]), numeric \(numeric)")
        }
        #expect(skipped <= 8, "\(name): \(skipped) of 24 probes straddled a kink")
    }

    @Test("losses equal PyTorch's", arguments: ["loss_softmax_ce", "loss_softmax_ce_smooth", "loss_bce_logits", "loss_bce", "loss_mse"])
    func losses(_ name: String) throws {
        let f = try cnnFixture("layers")
        let logits = try f.floats("\(name).logits"), targets = try f.floats("\(name).targets")
        let shape = f.shape("\(name).logits"), rows = shape[0], width = shape[1]
        let loss: Loss = switch name {
        case "loss_softmax_ce": .crossEntropy
        case "loss_softmax_ce_smooth": .softmaxCrossEntropy(labelSmoothing: 0.1)
        case "loss_bce_logits": .binaryCrossEntropyWithLogits
        case "loss_bce": .binaryCrossEntropy
        default: .meanSquaredError
        }
        try loss.validate(targets: targets, outputs: width)
        var gradient = [Float](repeating: 0, count: logits.count)
        let (sum, _) = logits.withUnsafeBufferPointer { z in
            targets.withUnsafeBufferPointer { t in
                gradient.withUnsafeMutableBufferPointer { g in
                    loss.evaluate(z.baseAddress!, targets: t.baseAddress!, rows: rows, width: width, scale: 1 / Float(rows), gradient: g.baseAddress!)
                }
            }
        }
        expectClose([Float(sum / Double(rows))], try f.floats("\(name).loss"), atol: 1e-6, rtol: 1e-5, "\(name) loss")
        expectClose(gradient, try f.floats("\(name).grad_input"), atol: 1e-6, rtol: 1e-4, "\(name) gradient")
    }
}
