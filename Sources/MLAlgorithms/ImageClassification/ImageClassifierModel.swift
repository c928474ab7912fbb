import Foundation
import MLCore

/// A trained image classifier: the network (a ResNet for the container's models), what it
/// classifies, and how pixels become its input.
///
/// Outputs are class probabilities: a softmax over the classes, or — multi-label — an
/// independent sigmoid per class.
public struct ImageClassifierModel: Sendable {
    public var network: Network
    /// The `num_layers` it was built with (0 for a network that is not one of the ResNets).
    public var numLayers: Int
    public var multiLabel: Bool
    /// How 8-bit pixels become the network's input (the training pipeline's, applied again to
    /// every image served).
    public var normalization: InputNormalization
    /// What training measured on the kept epoch (`validation_accuracy`, `epoch`, …): written to
    /// `model.json` for people, never read back into predictions.
    public var trainingMetrics: [String: Double]

    public init(network: Network, numLayers: Int, multiLabel: Bool, normalization: InputNormalization,
                trainingMetrics: [String: Double] = [:]) {
        self.network = network
        self.numLayers = numLayers
        self.multiLabel = multiLabel
        self.normalization = normalization
        self.trainingMetrics = trainingMetrics
    }

    /// The network's input, `[channels, height, width]`.
    public var imageShape: FeatureShape { network.inputShape }
    public var classes: Int { network.outputShape.count }

    /// Class probabilities (`rows × classes`) for `images`, `rows × imageShape.count` values
    /// already normalised (NCHW), in blocks of ``Network/inferenceRows`` on up to `threads`
    /// threads; the result does not depend on `threads`.
    public func probabilities(_ images: [Float], threads: Int = 1) throws(NetworkError) -> [Float] {
        var out = try network.predict(images, threads: threads)
        let k = classes
        if multiLabel {
            for i in out.indices {
                let z = out[i]
                out[i] = z >= 0 ? 1 / (1 + Foundation.exp(-z)) : Foundation.exp(z) / (1 + Foundation.exp(z))
            }
        } else {
            for r in 0..<(out.count / max(1, k)) {
                let row = r * k
                var m = -Float.infinity
                for j in 0..<k { m = max(m, out[row + j]) }
                var s: Float = 0
                for j in 0..<k {
                    let e = Foundation.exp(out[row + j] - m)
                    out[row + j] = e
                    s += e
                }
                for j in 0..<k { out[row + j] /= s }
            }
        }
        return out
    }

    /// Writes the network input for an 8-bit interleaved image already at the network's
    /// height and width (`imageShape.height × imageShape.width × channels` bytes).
    public func normalize(_ pixels: UnsafePointer<UInt8>, into out: UnsafeMutablePointer<Float>) {
        normalization.write(pixels, pixels: imageShape.planeSize, channels: imageShape.channels, into: out)
    }
}

// MARK: Artifacts

extension ImageClassifierModel {
    /// `model.json`'s `algorithm`.
    public static let algorithm = "image-classification"
    /// `model.safetensors` + `model.json` format version.
    public static let formatVersion = 1

    /// Writes `model.safetensors` — the network's PyTorch state dict (for the ResNets,
    /// torchvision's names and layouts, so `torchvision.models.resnet18(num_classes=K)` loads
    /// it with `strict=True`) — and `model.json` (the architecture, the input shape and
    /// normalisation, the classes, the training metrics), each atomically.
    public func save(to directory: String) throws(ArtifactError) {
        let file = network.stateDict(metadata: ["algorithm": Self.algorithm, "format_version": String(Self.formatVersion)])
        try file.write(to: directory + "/model.safetensors")
        let architecture: Any
        do {
            let data = try JSONEncoder().encode(network.architecture)
            architecture = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw .invalid(path: directory + "/model.json", reason: "cannot encode the architecture: \(error)")
        }
        let shape = imageShape
        try ModelJSON.write([
            "algorithm": Self.algorithm, "format_version": Self.formatVersion,
            "num_layers": numLayers, "num_classes": classes, "multi_label": multiLabel ? 1 : 0,
            "image_shape": [shape.channels, shape.height, shape.width],
            "normalization": ["mean": normalization.mean.map(Double.init), "std": normalization.std.map(Double.init)],
            "architecture": architecture,
            "output": multiLabel ? "sigmoid" : "softmax",
            "training_metrics": trainingMetrics,
        ], to: directory + "/model.json")
    }

    /// Loads what ``save(to:)`` wrote: the architecture is rebuilt from `model.json`, and the
    /// state dict must fit it exactly (every name, shape and dtype).
    public static func load(from directory: String) throws(ArtifactError) -> ImageClassifierModel {
        let jsonPath = directory + "/model.json", tensorPath = directory + "/model.safetensors"
        let expected = "an \(algorithm) model.json of format_version \(formatVersion) with num_layers, num_classes, image_shape, normalization and architecture"
        guard let json = try ModelJSON.read(jsonPath), json["algorithm"] as? String == algorithm,
              json["format_version"] as? Int == formatVersion,
              let numLayers = json["num_layers"] as? Int, let classes = json["num_classes"] as? Int, classes > 0,
              let dims = json["image_shape"] as? [Int], dims.count == 3, dims.allSatisfy({ $0 > 0 && $0 <= 65_536 }),
              let normalization = json["normalization"] as? [String: Any],
              let mean = (normalization["mean"] as? [Double])?.map(Float.init), let std = (normalization["std"] as? [Double])?.map(Float.init),
              mean.count == dims[0], std.count == dims[0], std.allSatisfy({ $0 > 0 && $0.isFinite }), mean.allSatisfy(\.isFinite),
              let architectureObject = json["architecture"]
        else {
            throw .invalid(path: jsonPath, reason: "expected \(expected)")
        }
        let architecture: LayerArchitecture
        do {
            let data = try JSONSerialization.data(withJSONObject: architectureObject)
            architecture = try JSONDecoder().decode(LayerArchitecture.self, from: data)
        } catch {
            throw .invalid(path: jsonPath, reason: "the architecture does not describe a network: \(error)")
        }
        let shape = FeatureShape(channels: dims[0], height: dims[1], width: dims[2])
        var network: Network
        do {
            network = try Network(architecture.layer, inputShape: shape)
            guard network.outputShape.count == classes else {
                throw NetworkError.invalidInput(reason: "the architecture has \(network.outputShape.count) outputs, num_classes is \(classes)")
            }
            try network.load(stateDict: try Safetensors.read(path: tensorPath))
        } catch let error as ArtifactError {
            throw error
        } catch {
            throw .invalid(path: tensorPath, reason: "\(error)")
        }
        let metrics = (json["training_metrics"] as? [String: Any])?.compactMapValues { $0 as? Double } ?? [:]
        return ImageClassifierModel(network: network, numLayers: numLayers, multiLabel: (json["multi_label"] as? Int) == 1,
                                    normalization: InputNormalization(mean: mean, std: std), trainingMetrics: metrics)
    }
}
