import Foundation
import MLCore

/// Image tensors and their targets in memory: `rows` images of ``shape`` (NCHW, row-major,
/// `rows × shape.count` floats) and ``targetWidth`` target values per row (a class index, or
/// one value per output for the element-wise losses).
public struct ImageDataset: Sendable {
    public let shape: FeatureShape
    public let rows: Int
    public let targetWidth: Int
    public var images: [Float]
    public var targets: [Float]

    public init(shape: FeatureShape, images: [Float], targets: [Float], targetWidth: Int = 1) throws(NetworkError) {
        guard shape.count > 0 else { throw .invalidInput(reason: "image shape \(shape) is empty") }
        guard images.count % shape.count == 0 else {
            throw .invalidInput(reason: "\(images.count) values are not a whole number of \(shape) images")
        }
        let rows = images.count / shape.count
        guard targetWidth > 0, targets.count == rows * targetWidth else {
            throw .invalidInput(reason: "\(rows) images need \(rows * targetWidth) target values (\(targetWidth) per row), got \(targets.count)")
        }
        if let bad = images.firstIndex(where: { !$0.isFinite }) {
            throw .invalidInput(reason: "image \(bad / shape.count) holds a non-finite value (\(images[bad]))")
        }
        self.shape = shape
        self.rows = rows
        self.targetWidth = targetWidth
        self.images = images
        self.targets = targets
    }

    /// Rows `range` as a new data set.
    public func slice(_ range: Range<Int>) throws(NetworkError) -> ImageDataset {
        guard range.lowerBound >= 0, range.upperBound <= rows else {
            throw .invalidInput(reason: "rows \(range) are outside 0..<\(rows)")
        }
        return try ImageDataset(shape: shape, images: Array(images[(range.lowerBound * shape.count)..<(range.upperBound * shape.count)]),
                                targets: Array(targets[(range.lowerBound * targetWidth)..<(range.upperBound * targetWidth)]),
                                targetWidth: targetWidth)
    }
}

extension ImageDataset {
    /// Images from an NPY file of shape `[N, C, H, W]` (or `[N, H, W]`, one channel) and
    /// targets from an NPY file of shape `[N]` (class indices) or `[N, k]`.
    ///
    /// `uint8` images are scaled to [0, 1] (divided by 255, as torchvision's `ToTensor` does);
    /// float images are used as stored. Any numeric dtype is accepted for the targets.
    public static func npy(images imagesPath: String, targets targetsPath: String) throws -> ImageDataset {
        let images = try NPYReader<Float>(path: imagesPath)
        let dims = images.shape
        let shape: FeatureShape
        switch dims.count {
        case 4: shape = FeatureShape(channels: dims[1], height: dims[2], width: dims[3])
        case 3: shape = FeatureShape(channels: 1, height: dims[1], width: dims[2])
        default:
            throw DataError.unsupported(DataLocation(file: imagesPath), reason: "images must be [N, C, H, W] or [N, H, W], the file holds \(dims)")
        }
        var values = images.rows == 0 ? [] : try images.readRows(0..<images.rows).elements
        if images.header.dtype == .uint8 {
            for i in values.indices { values[i] /= 255 }
        }
        let labels = try NPYReader<Float>(path: targetsPath)
        guard labels.rows == images.rows, labels.shape.count <= 2 else {
            throw DataError.unsupported(DataLocation(file: targetsPath),
                                        reason: "targets must be [N] or [N, k] with N = \(images.rows) (the images' count), the file holds \(labels.shape)")
        }
        let width = labels.shape.count == 2 ? labels.shape[1] : 1
        let targets = labels.rows == 0 ? [] : try labels.readRows(0..<labels.rows).elements
        do {
            return try ImageDataset(shape: shape, images: values, targets: targets, targetWidth: width)
        } catch {
            throw DataError.unsupported(DataLocation(file: imagesPath), reason: error.description)
        }
    }

    /// Images from dense RecordIO-protobuf records: `features["values"]` a float32 tensor whose
    /// `shape` is `[C, H, W]` (every record the same), `label["values"]` the targets.
    public static func recordIO(path: String) throws -> ImageDataset {
        var reader = try RecordIOProtobufReader(path: path)
        var shape: FeatureShape?
        var images: [Float] = [], targets: [Float] = []
        var width: Int?
        var index = 0
        while let record = try reader.nextRecord() {
            let location = "\(path): record \(index)"
            guard case .float32(let tensor)? = record.features["values"], !tensor.isSparse else {
                throw DataError.unsupported(DataLocation(file: path), reason: "\(location): features[\"values\"] must be a dense float32 tensor")
            }
            let dims = tensor.shape.map { Int(clamping: $0) }
            guard dims.count == 3, dims.allSatisfy({ $0 > 0 }), dims.reduce(1, *) == tensor.values.count else {
                throw DataError.unsupported(DataLocation(file: path),
                                            reason: "\(location): the features need shape [C, H, W] matching their \(tensor.values.count) values, got \(tensor.shape)")
            }
            let s = FeatureShape(channels: dims[0], height: dims[1], width: dims[2])
            if let shape, shape != s {
                throw DataError.unsupported(DataLocation(file: path), reason: "\(location): shape \(s) differs from the first record's \(shape)")
            }
            shape = s
            guard let label = record.label["values"]?.floatValues, !label.isEmpty else {
                throw DataError.unsupported(DataLocation(file: path), reason: "\(location): no label[\"values\"]")
            }
            if let width, width != label.count {
                throw DataError.unsupported(DataLocation(file: path), reason: "\(location): \(label.count) label values, the first record has \(width)")
            }
            width = label.count
            images += tensor.values
            targets += label
            index += 1
        }
        guard let shape, let width else {
            throw DataError.unsupported(DataLocation(file: path), reason: "no records")
        }
        do {
            return try ImageDataset(shape: shape, images: images, targets: targets, targetWidth: width)
        } catch {
            throw DataError.unsupported(DataLocation(file: path), reason: error.description)
        }
    }
}
