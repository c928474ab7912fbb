import MLCore

/// Decoded 8-bit images and their targets as a trainer's inputs: each row is cropped to the
/// network's height and width — randomly and augmented when training with an augmentation, else
/// centred — and normalised (see ``ImageAugmentation``).
///
/// Images are kept either decoded (the pixels, after the optional `resize`) or — when the
/// decoded set would not fit its memory budget — encoded (the file's bytes, decoded and resized
/// again each time a row is needed: slower, but memory stays about the size of the files).
/// Either way every image was decoded and checked once when the set was built, so filling a
/// batch never meets a bad file.
public struct AugmentedImages: NetworkInputs {
    /// How one image is kept.
    public enum Stored: Sendable {
        case decoded(PixelImage)
        /// The encoded bytes and the name errors use for them.
        case encoded([UInt8], source: String)
    }

    public let shape: FeatureShape
    public let targetWidth: Int
    public let targets: [Float]
    public let augmentation: ImageAugmentation
    /// Shorter side each image is resized to before cropping (`nil`: used as stored).
    public let resize: Int?
    let images: [Stored]

    public var rows: Int { images.count }

    /// `images` (each at least `shape`'s height and width after `resize`, with `shape.channels`
    /// channels — checked) and `targetWidth` targets per image.
    public init(shape: FeatureShape, images: [Stored], targets: [Float], targetWidth: Int, augmentation: ImageAugmentation,
                resize: Int?) throws(NetworkError) {
        guard targetWidth > 0, targets.count == images.count * targetWidth else {
            throw .invalidInput(reason: "\(images.count) images need \(images.count * targetWidth) target values (\(targetWidth) per image), got \(targets.count)")
        }
        guard augmentation.normalization.mean.count == shape.channels, augmentation.normalization.std.count == shape.channels else {
            throw .invalidInput(reason: "the normalisation has \(augmentation.normalization.mean.count) channels, the images \(shape.channels)")
        }
        self.shape = shape
        self.targetWidth = targetWidth
        self.targets = targets
        self.augmentation = augmentation
        self.resize = resize
        self.images = images
    }

    /// Decodes `bytes` for this set — `channels` channels, resized so the shorter side is
    /// `resize` — and checks the result can be cropped to `shape`: what every image goes
    /// through when it is added, and again (encoded storage) whenever it is used.
    public static func prepare(_ bytes: [UInt8], source: String, shape: FeatureShape, resize: Int?,
                               limits: ImageLimits = .default) throws(DataError) -> PixelImage {
        var image = try ImageDecoder.decode(bytes, source: source, channels: shape.channels, limits: limits)
        if let resize, min(image.width, image.height) != resize {
            do {
                image = try image.resizedShorterSide(to: resize, limits: limits)
            } catch {
                throw .badImage(source: source, error)
            }
        }
        guard image.width >= shape.width, image.height >= shape.height else {
            throw .unsupported(DataLocation(file: source),
                               reason: "the image is \(image.width)×\(image.height)"
                                   + (resize.map { " after resizing its shorter side to \($0)" } ?? "")
                                   + ", smaller than image_shape's \(shape.width)×\(shape.height); set resize to at least \(max(shape.width, shape.height)) or use larger images")
        }
        return image
    }

    /// The decoded pixels of row `row` (decoding again for encoded storage).
    func pixels(_ row: Int) throws -> PixelImage {
        switch images[row] {
        case .decoded(let image): return image
        case .encoded(let bytes, let source): return try Self.prepare(bytes, source: source, shape: shape, resize: resize)
        }
    }

    public func fill(_ rows: ArraySlice<Int>, epoch: Int, training: Bool, into x: UnsafeMutablePointer<Float>) throws {
        let features = shape.count
        for (i, r) in rows.enumerated() {
            let image = try pixels(r)
            image.pixels.withUnsafeBufferPointer { p in
                // invariant: a PixelImage has at least one pixel
                augmentation.apply(p.baseAddress!, width: image.width, height: image.height, channels: image.channels, // invariant: see above
                                   row: r, epoch: epoch, training: training, cropWidth: shape.width, cropHeight: shape.height,
                                   into: x + i * features)
            }
        }
    }

    /// Bytes the decoded images hold.
    public var decodedBytes: Int {
        images.reduce(0) { total, stored in
            if case .decoded(let image) = stored { return total + image.pixels.count }
            return total
        }
    }
}
