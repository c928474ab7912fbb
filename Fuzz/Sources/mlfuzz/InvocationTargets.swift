import Foundation
import MLAlgorithms
import MLContainer
import MLCore

/// `POST /invocations` below HTTP: the handler the server calls with the body and the two headers
/// (InvocationHandler.invoke), so every content type's decoder, Accept negotiation and the
/// response encoders run as they do when served. Input layout: byte 0 picks the model, then the
/// Content-Type line, the Accept line, and the body.
private struct Handlers {
    let tabular: [any InvocationHandler]
    let image: any InvocationHandler

    static let shared: Handlers = {
        // Harness set-up, not a finding: these are fixed, known-good models.
        do {
            let features = 3
            let linearLayout = LinearParameterLayout(features: features, outputs: 1)
            let linear = try LinearModel(predictorType: .binaryClassifier, layout: linearLayout,
                                         parameters: (0..<linearLayout.count).map { Float($0 % 5) * 0.25 - 0.5 },
                                         scaler: LinearScaler(features: features))
            let multiLayout = LinearParameterLayout(features: features, outputs: 3)
            let multiclass = try LinearModel(predictorType: .multiclassClassifier, layout: multiLayout,
                                             parameters: (0..<multiLayout.count).map { Float($0 % 7) * 0.125 - 0.25 },
                                             scaler: LinearScaler(features: features))
            let pca = PCAModel(components: try Matrix(rows: features, columns: 2, elements: [1, 0, 0, 1, 0, 0]), singularValues: [2, 1],
                               explainedVariance: [4, 1], explainedVarianceRatio: [0.8, 0.2], mean: [0.5, 0, -0.5],
                               subtractMean: true, mode: .regular, rows: 10)
            let kmeans = KMeansModel(centroids: try Matrix(rows: 2, columns: features, elements: [0, 0, 0, 1, 1, 1]))
            let binaryTrees = try BoostedTreesModel.decode(Data(try fixture("Tests/MLAlgorithmsTests/Fixtures/xgboost/model_tiny.json")))
            let softprob = try BoostedTreesModel.decode(Data(try fixture("Tests/MLAlgorithmsTests/Fixtures/xgboost/model_softprob.json")))
            let tabular: [any InvocationHandler] = [
                try ModelInvocations(model: LinearLearnerInference(model: linear)),
                try ModelInvocations(model: LinearLearnerInference(model: multiclass)),
                try ModelInvocations(model: PCAInference(model: pca)),
                try ModelInvocations(model: KMeansInference(model: kmeans)),
                try ModelInvocations(model: XGBoostInference(model: binaryTrees)),
                try ModelInvocations(model: XGBoostInference(model: softprob, selectedOutputs: "predicted_label,probabilities")),
            ]
            let hp = try ImageClassificationHyperparameters(strings: [
                "num_classes": "3", "num_training_samples": "24", "num_layers": "20", "image_shape": "3,8,8", "top_k": "2",
            ])
            let network = try ImageClassifierTrainer(hyperparameters: hp, workers: 1).network()
            let image = try ImageClassificationInference(
                model: ImageClassifierModel(network: network, numLayers: 20, multiLabel: false, normalization: .imageNet(channels: 3)))
            return Handlers(tabular: tabular, image: image)
        } catch {
            fatalError("mlfuzz: cannot build the inference handlers: \(error)")
        }
    }()
}

/// Splits an invocation input into the model index, the two headers and the body.
private func invocation(_ input: [UInt8]) -> (model: Int, request: InvocationRequest)? {
    guard let first = input.first else { return nil }
    let parts = Array(input.dropFirst()).split(separator: [0x0A], limit: 3)
    guard parts.count == 3 else { return nil }
    func header(_ part: ArraySlice<UInt8>) -> String? { part.isEmpty ? nil : String(decoding: part, as: UTF8.self) }
    return (Int(first), InvocationRequest(contentType: header(parts[0]), accept: header(parts[1]), body: Array(parts[2])))
}

/// An NPY version 1.0 header for any dtype (NPYWriter writes only the float types).
func npyHeader(descr: String, shape: [Int]) -> [UInt8] {
    let dims = shape.count == 1 ? "\(shape[0])," : shape.map(String.init).joined(separator: ", ")
    var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }"
    while (10 + dict.utf8.count + 1) % 64 != 0 { dict += " " }
    dict += "\n"
    let length = UInt16(dict.utf8.count)
    return [0x93] + bytes("NUMPY") + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + bytes(dict)
}

private func seed(_ model: UInt8, _ contentType: String, _ accept: String, _ body: [UInt8]) -> [UInt8] {
    [model] + bytes(contentType + "\n" + accept + "\n") + body
}

let invocationTargets: [FuzzTarget] = [
    FuzzTarget(
        name: "invocations",
        summary: "/invocations for linear learner (binary, multiclass), PCA, k-means and XGBoost (binary, softprob): CSV, JSON, JSON Lines, RecordIO-protobuf, NPY, LibSVM bodies; Content-Type and Accept parsing",
        maxLength: 8192,
        run: { input in
            guard let (model, request) = invocation(input) else { return }
            let handlers = Handlers.shared.tabular
            _ = handlers[model % handlers.count].invoke(request)
        },
        seeds: {
            let row = "1.5,-2,0.25"
            let trees = try BoostedTreesModel.decode(Data(try fixture("Tests/MLAlgorithmsTests/Fixtures/xgboost/model_tiny.json")))
            let treeRow = (0..<trees.featureCount).map { "\(Double($0) * 0.5)" }.joined(separator: ",")
            let softprob = try BoostedTreesModel.decode(Data(try fixture("Tests/MLAlgorithmsTests/Fixtures/xgboost/model_softprob.json")))
            let softRow = (0..<softprob.featureCount).map { $0 % 3 == 0 ? "" : "\($0)" }.joined(separator: ",")
            var npy = NPYWriter.header(for: Float.self, shape: [2, 3])
            for v: Float in [1, 2, 3, 4, 5, 6] { withUnsafeBytes(of: v.bitPattern.littleEndian) { npy.append(contentsOf: $0) } }
            let dense = try RecordIOProtobufWriter.encode(Batch(features: .dense(Matrix(rows: 2, columns: 3, elements: [1, 0, 2, 0, 3, 0]))))
            let sparse = try RecordIOProtobufWriter.encode(Batch(features: .sparse(
                SparseMatrix(rows: 2, columns: 3, rowOffsets: [0, 1, 3], columnIndices: [2, 0, 1], values: [1, 2, 3]))))
            return [
                ("linear-csv", seed(0, "text/csv", "application/json", bytes(row + "\n" + row + "\r\n"))),
                ("linear-csv-label", seed(0, "text/csv; label_size=1", "text/csv", bytes("1," + row + "\n"))),
                ("linear-json-dense", seed(0, "application/json", "application/jsonlines", bytes(#"{"instances": [{"features": [1, 2, 3]}, {"data": {"features": {"values": [1, 2, 3]}}}]}"#))),
                ("linear-json-sparse", seed(1, "application/json", "*/*", bytes(#"{"instances": [{"data": {"features": {"keys": [0, 2], "shape": [3], "values": [1.5, -1]}}}]}"#))),
                ("multiclass-jsonlines", seed(1, "application/jsonlines", "application/json", bytes("{\"features\": [1, 2, 3]}\n[4, 5, 6]\n"))),
                ("pca-recordio-dense", seed(2, "application/x-recordio-protobuf", "application/x-recordio-protobuf", dense)),
                ("pca-npy", seed(2, "application/x-npy", "text/csv", npy)),
                ("kmeans-recordio-sparse", seed(3, "application/x-recordio-protobuf", "application/json", sparse)),
                ("kmeans-libsvm", seed(3, "text/libsvm", "application/json", bytes("0 1:1 3:2\n1:0.5\n"))),
                ("xgboost-csv", seed(4, "text/csv", "text/csv", bytes(treeRow + "\n"))),
                ("xgboost-libsvm", seed(4, "text/x-libsvm", "application/json", bytes("0 1:1 3:2\n"))),
                ("softprob-missing", seed(5, "text/csv", "application/jsonlines", bytes(softRow + "\n"))),
                ("no-content-type", seed(0, "", "", bytes(row))),
                ("bad-accept", seed(0, "text/csv", "image/png", bytes(row))),
            ]
        }
    ),
    FuzzTarget(
        name: "batch-transform",
        summary: "batch transform / `mlc predict` input files: split by line or RecordIO record into requests of at most 64 or 1024 bytes, each answered by the k-means handler; byte 0 picks the content type and the payload limit",
        maxLength: 8192,
        run: { input in
            guard let mode = input.first else { return }
            let types = ["text/csv", "application/jsonlines", "application/x-recordio-protobuf", "text/libsvm", "application/json", "application/x-npy"]
            let transform = BatchTransform(handler: Handlers.shared.tabular[3], contentType: types[Int(mode & 7) % types.count],
                                           accept: "text/csv", maxPayloadBytes: mode & 0x08 == 0 ? 64 : 1024)
            let path = Scratch.write(input.dropFirst(), to: "transform.in")
            _ = try? transform.run(input: path, output: Scratch.directory + "/transform.out")
        },
        seeds: {
            let dense = try RecordIOProtobufWriter.encode(Batch(features: .dense(Matrix(rows: 4, columns: 3, elements: (0..<12).map(Float.init)))))
            return [
                ("csv-lines", [0x00] + bytes("1,2,3\n4,5,6\n\n7,8,9\r\n" + String(repeating: "0.5,0.25,1\n", count: 8))),
                ("jsonlines", [0x09] + bytes("[1, 2, 3]\n{\"features\": [4, 5, 6]}\n")),
                ("recordio", [0x02] + dense),
                ("libsvm", [0x03] + bytes("0 1:1 2:3\n1 3:0.5\n")),
                ("json-whole", [0x0C] + bytes(#"{"instances": [[1, 2, 3], [4, 5, 6]]}"#)),
            ]
        }
    ),
    FuzzTarget(
        name: "invocations-image",
        summary: "/invocations for the image classifier (ResNet-20 on 3×8×8): image/png, image/jpeg, application/x-image, MXNet image RecordIO and NPY tensor bodies",
        maxLength: 16_384,
        run: { input in
            guard let (_, request) = invocation(input) else { return }
            _ = Handlers.shared.image.invoke(request)
        },
        seeds: {
            let png = try fixture("Tests/MLCoreTests/Fixtures/images/rgb8.png")
            let jpeg = try fixture("Tests/MLCoreTests/Fixtures/images/gray.jpg")
            let record = try RecordIOFraming.encode([MXNetImageRecord.encode(labels: [1], image: png)])
            let npy = npyHeader(descr: "|u1", shape: [3, 8, 8]) + (0..<192).map { UInt8($0) }
            return [
                ("png", seed(0, "image/png", "application/json", png)),
                ("jpeg", seed(0, "application/x-image", "application/jsonlines", jpeg)),
                ("recordio", seed(0, "application/x-recordio", "application/json", record)),
                ("npy-uint8", seed(0, "application/x-npy", "application/json", npy)),
            ]
        }
    ),
]
