import Foundation
import MLAlgorithms
import MLCore

/// The image classifier as the inference container serves it (reference §4.5 "Inference").
///
/// Requests:
/// - `image/jpeg`, `image/png`, `application/x-image`: one encoded image per request, decoded to
///   the model's channels and resized to its height and width (bilinear; no crop, the aspect
///   ratio not kept, as SageMaker does), then normalised as in training;
/// - `application/x-recordio`: MXNet image records (each record's image; the labels are
///   ignored), for batch transform with `SplitType=RecordIO`;
/// - `application/x-npy`: tensors as the network takes them, `[C, H, W]` (one image) or
///   `[N, C, H, W]` float32 (uint8 arrays are scaled by 1/255, as training reads them).
///
/// Responses: the class probabilities (softmax; a sigmoid per class for multi-label models).
/// `application/json` (the default): for one image a bare JSON array `[p0, p1, …]`, as
/// SageMaker answers (clients take `argmax(json.loads(body))`); for several, an array of such
/// arrays. `application/jsonlines`: `{"prediction": [p0, p1, …]}` per image, one line each.
public struct ImageClassificationInference: InvocationHandler {
    public static let algorithm = ImageClassifierModel.algorithm
    public static let imageTypes: Set<String> = ["image/jpeg", "image/png", "application/x-image", "image/jpg"]
    public static let requestTypes = ["image/jpeg", "image/png", "application/x-image", "application/x-recordio", "application/x-npy"]
    public static let responseFormats: [ResponseFormat] = [.json, .jsonLines]

    public let model: ImageClassifierModel
    public let fallbackFormat: ResponseFormat
    /// The largest image decoded (before resizing): a request cannot make the server allocate
    /// more than this.
    public var limits = ImageLimits(maximumSide: 16_384, maximumPixels: 64_000_000)

    public var algorithm: String { Self.algorithm }
    /// One image is a whole forward pass of a ResNet (milliseconds to a second).
    public var isComputeHeavy: Bool { true }

    public init(model: ImageClassifierModel, defaultAccept: String? = nil) throws(ContainerError) {
        self.model = model
        if let defaultAccept, !defaultAccept.isEmpty {
            guard let essence = try? MediaType(parsing: defaultAccept).essence, let format = ResponseFormat(essence: essence),
                  Self.responseFormats.contains(format) else {
                throw .client("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT = '\(defaultAccept)' is not a response type the image classifier writes: "
                              + Self.responseFormats.map(\.rawValue).joined(separator: ", "))
            }
            fallbackFormat = format
        } else {
            fallbackFormat = .json
        }
    }

    public init(modelDirectory: String, defaultAccept: String? = nil) throws(ContainerError) {
        let model: ImageClassifierModel
        do {
            model = try ImageClassifierModel.load(from: modelDirectory)
        } catch {
            throw .client("cannot load the image-classification model from \(modelDirectory): \(error)")
        }
        try self.init(model: model, defaultAccept: defaultAccept)
    }

    public func invoke(_ request: InvocationRequest) -> InvocationResponse {
        do {
            return try respond(request)
        } catch {
            return error.response
        }
    }

    public func respond(_ request: InvocationRequest) throws(InvocationFailure) -> InvocationResponse {
        let list = Self.requestTypes.joined(separator: ", ")
        guard let contentType = request.contentType, !contentType.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw InvocationFailure(415, "the request has no Content-Type; send one of: \(list)")
        }
        guard let media = try? MediaType(parsing: contentType) else {
            throw InvocationFailure(415, "Content-Type '\(contentType)' is not a MIME type; send one of: \(list)")
        }
        let output = try ResponseFormat.negotiate(accept: request.accept, fallback: fallbackFormat, supported: Self.responseFormats)
        if request.body.isEmpty { return .noContent }
        let inputs: [Float]
        let single: Bool
        switch media.essence {
        case let e where Self.imageTypes.contains(e):
            inputs = try imageInput(request.body, source: "the request body")
            single = true
        case "application/x-recordio":
            (inputs, single) = (try recordInputs(request.body), false)
        case "application/x-npy":
            (inputs, single) = try tensorInputs(request.body)
        default:
            throw InvocationFailure(415, "Content-Type '\(contentType)' is not supported; send one of: \(list)")
        }
        let probabilities: [Float]
        do {
            probabilities = try model.probabilities(inputs)
        } catch {
            throw InvocationFailure(500, "prediction failed: \(error)")
        }
        var out: [UInt8] = []
        let k = model.classes, rows = probabilities.count / max(1, k)
        out.reserveCapacity(rows * (k * 12 + 20))
        switch output {
        case .jsonLines:
            for r in 0..<rows {
                PredictionEncoder.append("{\"prediction\": ", to: &out)
                Self.array(probabilities, row: r, width: k, into: &out)
                PredictionEncoder.append("}\n", to: &out)
            }
        default:
            if single {
                Self.array(probabilities, row: 0, width: k, into: &out)
            } else {
                out.append(0x5B)
                for r in 0..<rows {
                    if r > 0 { PredictionEncoder.append(", ", to: &out) }
                    Self.array(probabilities, row: r, width: k, into: &out)
                }
                out.append(0x5D)
            }
        }
        return InvocationResponse(status: 200, contentType: output.rawValue, body: out)
    }

    static func array(_ values: [Float], row: Int, width: Int, into out: inout [UInt8]) {
        out.append(0x5B)
        for j in 0..<width {
            if j > 0 { PredictionEncoder.append(", ", to: &out) }
            PredictionEncoder.number(values[row * width + j], integer: false, json: true, into: &out)
        }
        out.append(0x5D)
    }

    /// One encoded image as the network's input: decoded, resized to the model's height and
    /// width, normalised.
    func imageInput(_ bytes: [UInt8], source: String) throws(InvocationFailure) -> [Float] {
        let shape = model.imageShape
        var image: PixelImage
        do {
            image = try ImageDecoder.decode(bytes, source: source, channels: shape.channels, limits: limits)
        } catch {
            throw InvocationFailure(400, error.description)
        }
        if image.width != shape.width || image.height != shape.height {
            do {
                image = try image.resized(width: shape.width, height: shape.height)
            } catch {
                throw InvocationFailure(400, "\(source): \(error)")
            }
        }
        var input = [Float](repeating: 0, count: shape.count)
        image.pixels.withUnsafeBufferPointer { p in
            input.withUnsafeMutableBufferPointer { x in
                // invariant: a decoded image and the input both hold at least one value
                model.normalize(p.baseAddress!, into: x.baseAddress!) // invariant: see above
            }
        }
        return input
    }

    /// Every record's image of an MXNet image RecordIO body.
    func recordInputs(_ body: [UInt8]) throws(InvocationFailure) -> [Float] {
        var reader = MXNetImageRecordReader(bytes: body, name: "the request body")
        var inputs: [Float] = []
        do throws(DataError) {
            while let (record, location) = try reader.nextRecord() {
                do {
                    inputs += try imageInput(record.image, source: "\(location)")
                } catch {
                    throw DataError.unsupported(DataLocation(file: "\(location)"), reason: error.message)
                }
            }
        } catch {
            throw InvocationFailure(400, error.description)
        }
        return inputs
    }

    /// NPY tensors: `[C, H, W]` (one image) or `[N, C, H, W]` (several; several arrays may be
    /// concatenated). uint8 values are scaled by 1/255.
    func tensorInputs(_ body: [UInt8]) throws(InvocationFailure) -> ([Float], Bool) {
        let shape = model.imageShape
        let arrays: [(matrix: Matrix<Float>, shape: [Int])]
        let scaled: Bool
        do {
            scaled = try NPYHeader(bytes: body, name: "the request body").dtype == .uint8
            arrays = try NPYReader<Float>.decodeConcatenated(body, name: "the request body")
        } catch {
            throw InvocationFailure(400, "the NPY body is invalid: \(error)")
        }
        var inputs: [Float] = []
        let image = [shape.channels, shape.height, shape.width]
        for (index, array) in arrays.enumerated() {
            let dims = array.shape
            guard dims == image || (dims.count == 4 && Array(dims.dropFirst()) == image) else {
                throw InvocationFailure(400, "NPY array \(index + 1) has shape \(dims); the model takes [\(shape.channels), \(shape.height), \(shape.width)] "
                                             + "or [N, \(shape.channels), \(shape.height), \(shape.width)]")
            }
            inputs += array.matrix.elements
        }
        if scaled { for i in inputs.indices { inputs[i] /= 255 } }
        if let bad = inputs.firstIndex(where: { !$0.isFinite }) {
            throw InvocationFailure(400, "NPY image \(bad / shape.count + 1) holds a non-finite value")
        }
        return (inputs, arrays.count == 1 && arrays[0].shape.count == 3)
    }
}
