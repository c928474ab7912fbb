import Foundation
import MLAlgorithms
import MLContainer
import MLCore

/// Separates `model.json` from `model.safetensors` in a model-directory input.
private let safetensorsSeparator = bytes("\n#model.safetensors#\n")

private let modelAlgorithms = ["linear-learner", "pca", "kmeans", "image-classification"]

/// Packs a saved model directory as a model-directory input.
private func packedModel(_ algorithm: Int, directory: String) throws -> [UInt8] {
    [UInt8(algorithm)] + (try fixture(directory + "/model.json")) + safetensorsSeparator + (try fixture(directory + "/model.safetensors"))
}

/// Models served by `mlc serve` and read by `mlc predict` and incremental training.
let modelTargets: [FuzzTarget] = [
    FuzzTarget(
        name: "safetensors",
        summary: "model.safetensors alone: Safetensors.decode (header length, JSON header, dtypes, shapes, data_offsets that lie)",
        maxLength: 4096,
        run: { input in
            _ = try? Safetensors.decode(Data(input))
        },
        seeds: {
            let reference = try fixture("Tests/MLCoreTests/Fixtures/safetensors/reference.safetensors")
            let small = try Safetensors(tensors: [
                "a": .init([1, 2, 3, 4] as [Float], shape: [2, 2]), "b": .init([0.5] as [Double], shape: []),
                "c": .init(dtype: .u8, shape: [3], bytes: [1, 2, 3]),
            ], metadata: ["format": "pt"]).serialized()
            return (reference.count <= 4096 ? [("reference", reference)] : []) + [("small", Array(small))]
        }
    ),
    FuzzTarget(
        name: "model-dir",
        summary: "a model directory as the inference handlers load it (model.json + model.safetensors) for the linear learner, PCA, k-means and the image classifier, then one prediction of the width it declares; byte 0 picks the algorithm",
        maxLength: 16_384,
        run: { input in
            guard let first = input.first else { return }
            let algorithm = modelAlgorithms[Int(first) % modelAlgorithms.count]
            let parts = Array(input.dropFirst()).split(separator: safetensorsSeparator, limit: 2)
            let directory = Scratch.emptyDirectory("model")
            Scratch.write(parts[0], to: "model/model.json")
            if parts.count == 2 { Scratch.write(parts[1], to: "model/model.safetensors") }
            guard let handler = try? InferenceHandlers.load(algorithm: algorithm, modelDirectory: directory) else { return }
            // A model that loads must also answer: one all-zero row (image: tensor) of its own width.
            let request: InvocationRequest
            if let image = handler as? ImageClassificationInference {
                let shape = image.model.imageShape
                guard shape.count <= 1 << 16 else { return }
                request = InvocationRequest(contentType: "application/x-npy", accept: "application/json",
                                            body: npyHeader(descr: "|u1", shape: [shape.channels, shape.height, shape.width])
                                                + [UInt8](repeating: 0, count: shape.count))
            } else {
                let width: Int
                switch handler {
                case let h as ModelInvocations<LinearLearnerInference>: width = h.model.featureCount
                case let h as ModelInvocations<PCAInference>: width = h.model.featureCount
                case let h as ModelInvocations<KMeansInference>: width = h.model.featureCount
                default: return
                }
                guard width <= 1 << 16 else { return }
                request = InvocationRequest(contentType: "text/csv", accept: "application/json",
                                            body: Array(repeating: bytes("0,"), count: width).joined().dropLast() + [0x0A])
            }
            _ = handler.invoke(request)
        },
        seeds: {
            let directory = Scratch.emptyDirectory("seed-model")
            var seeds: [(String, [UInt8])] = []
            let layout = LinearParameterLayout(features: 3, outputs: 3)
            try LinearModel(predictorType: .multiclassClassifier, layout: layout, parameters: (0..<layout.count).map { Float($0) * 0.25 },
                            scaler: LinearScaler(features: 3)).save(to: directory)
            seeds.append(("linear-learner", try packedModel(0, directory: directory)))
            try PCAModel(components: try Matrix(rows: 3, columns: 2, elements: [1, 0, 0, 1, 0, 0]), singularValues: [2, 1],
                         explainedVariance: [4, 1], explainedVarianceRatio: [0.8, 0.2], mean: [0.5, 0, -0.5],
                         subtractMean: true, mode: .regular, rows: 10).save(to: directory)
            seeds.append(("pca", try packedModel(1, directory: directory)))
            try KMeansModel(centroids: try Matrix(rows: 2, columns: 3, elements: [0, 0, 0, 1, 1, 1])).save(to: directory)
            seeds.append(("kmeans", try packedModel(2, directory: directory)))
            // A small network of every layer kind the image classifier's architecture can name
            // (ResNet-20 itself is 1 MB of weights: too large a seed).
            let layers = Sequential(
                Conv2D(inputChannels: 3, outputChannels: 2, kernelSize: 3, padding: .same), BatchNorm2D(features: 2), ReLU(),
                ResidualBlock(.basic, inputChannels: 2, planes: 2), MaxPool2D(kernelSize: 2), Dropout(probability: 0.1),
                Flatten(), Dense(inputFeatures: 8, outputFeatures: 3))
            let network = try Network(layers, inputShape: FeatureShape(channels: 3, height: 4, width: 4), seed: 1)
            try ImageClassifierModel(network: network, numLayers: 0, multiLabel: false, normalization: .imageNet(channels: 3)).save(to: directory)
            seeds.append(("image-classification", try packedModel(3, directory: directory)))
            let json = try fixture(directory + "/model.json")
            seeds.append(("json-only", [3] + json))
            return seeds
        }
    ),
    FuzzTarget(
        name: "xgboost-model",
        summary: "XGBoost models (JSON and UBJSON, as xgboost-model files): BoostedTreesModel.decode, the inference handler built from it, one prediction of a row of zeros and one of missing values",
        maxLength: 16_384,
        run: { input in
            guard let model = try? BoostedTreesModel.decode(Data(input)),
                  let handler = try? ModelInvocations(model: XGBoostInference(model: model)),
                  model.featureCount <= 1 << 16 else { return }
            // A model that loads must also answer: a row of zeros and a row of missing values.
            let zeros = Array(repeating: bytes("0,"), count: model.featureCount).joined().dropLast()
            let missing = Array(repeating: bytes(","), count: model.featureCount).joined().dropLast()
            _ = handler.invoke(InvocationRequest(contentType: "text/csv", accept: "application/json",
                                                 body: Array(zeros) + [0x0A] + Array(missing) + [0x0A]))
        },
        seeds: {
            let folder = "Tests/MLAlgorithmsTests/Fixtures/xgboost/"
            var seeds: [(String, [UInt8])] = []
            for name in ["model_tiny", "model_binary", "model_poisson", "model_regression_missing", "model_softprob"] {
                for ext in ["json", "ubj"] {
                    let data = try fixture(folder + name + "." + ext)
                    if data.count <= 16_384 { seeds.append(("\(name).\(ext)", data)) }
                }
            }
            return seeds
        }
    ),
]
