/// The encoded image formats ``ImageDecoder`` reads.
public enum ImageFormat: String, Sendable, Hashable, CustomStringConvertible {
    /// PNG (`89 50 4E 47 0D 0A 1A 0A`), decoded with libpng's simplified API.
    case png = "PNG"
    /// JPEG (`FF D8 FF`), decoded with libjpeg-turbo's TurboJPEG API.
    case jpeg = "JPEG"

    public var description: String { rawValue }
}

/// What is wrong with an image, carried by ``DataError/badImage(source:_:)`` (which adds the
/// image's source: a file path, a record of a `.rec` file, a request).
///
/// Decoding problems come first, then problems with the arguments of an image operation (a crop
/// outside the image, a channel count other than 1 or 3). Each message says what was expected.
public enum ImageProblem: Error, Equatable, Sendable, CustomStringConvertible {
    // MARK: Decoding

    /// No bytes at all (an empty file or request body).
    case empty
    /// The bytes start with neither the PNG nor the JPEG signature; `leadingBytes` are (up to)
    /// the first 8.
    case unrecognizedFormat(leadingBytes: [UInt8])
    /// The header says the image has no pixels.
    case zeroSize(format: ImageFormat, width: Int, height: Int)
    /// The header's dimensions exceed ``ImageLimits``; nothing was allocated.
    case tooLarge(format: ImageFormat, width: Int, height: Int, limits: ImageLimits)
    /// The decoder stopped: the data is truncated, corrupt, or lies about its size. `detail` is
    /// the library's own message (libpng's or libjpeg-turbo's).
    case corrupt(format: ImageFormat, detail: String)
    /// A well-formed image this decoder does not convert (a CMYK or YCCK JPEG).
    case unsupported(format: ImageFormat, reason: String)

    // MARK: Arguments

    /// A channel count other than 1 (gray) or 3 (RGB).
    case invalidChannelCount(Int)
    /// Pixel bytes that are not `width × height × channels`.
    case pixelCountMismatch(width: Int, height: Int, channels: Int, count: Int)
    /// A size that is not positive (or whose byte count overflows).
    case invalidSize(width: Int, height: Int)
    /// A resize whose result would exceed ``ImageLimits``.
    case resultTooLarge(width: Int, height: Int, limits: ImageLimits)
    /// A crop rectangle that does not lie inside the image.
    case cropOutOfBounds(x: Int, y: Int, width: Int, height: Int, imageWidth: Int, imageHeight: Int)
    /// A JPEG quality outside 1…100.
    case invalidQuality(Int)
    /// The encoder refused the image (`detail` is the library's message).
    case encodingFailed(format: ImageFormat, detail: String)

    public var description: String {
        switch self {
        case .empty:
            return "the image holds no bytes; expected a PNG or JPEG image"
        case let .unrecognizedFormat(leadingBytes):
            let hex = leadingBytes.map { byte in
                let digits = String(byte, radix: 16, uppercase: true)
                return digits.count == 1 ? "0" + digits : digits
            }.joined(separator: " ")
            let known = Self.knownSignature(leadingBytes).map { ", which looks like \($0)" } ?? ""
            return "is not a PNG or JPEG image (starts with \(hex)\(known)); PNG starts with 89 50 4E 47 0D 0A 1A 0A, JPEG with FF D8 FF — convert the image to PNG or JPEG"
        case let .zeroSize(format, width, height):
            return "the \(format) header says the image is \(width)×\(height) pixels; an image needs at least one pixel"
        case let .tooLarge(format, width, height, limits):
            return "the \(format) header says the image is \(width)×\(height) pixels, more than the limit of \(limits.maximumSide) pixels per side and \(limits.maximumPixels) pixels in all (ImageLimits); nothing was decoded — shrink the image or raise the limits"
        case let .corrupt(format, detail):
            return "the \(format) data is truncated or corrupt (\(detail))"
        case let .unsupported(format, reason):
            return "\(format): \(reason)"
        case let .invalidChannelCount(channels):
            return "\(channels) channels requested; images have 1 (gray) or 3 (RGB) channels"
        case let .pixelCountMismatch(width, height, channels, count):
            return "\(count) pixel bytes do not make a \(width)×\(height) image of \(channels) channels (width × height × channels bytes expected, row-major HWC)"
        case let .invalidSize(width, height):
            return "\(width)×\(height) is not a valid image size; both sides must be positive"
        case let .resultTooLarge(width, height, limits):
            return "a \(width)×\(height) result exceeds the limit of \(limits.maximumSide) pixels per side and \(limits.maximumPixels) pixels in all (ImageLimits)"
        case let .cropOutOfBounds(x, y, width, height, imageWidth, imageHeight):
            return "the crop \(width)×\(height) at (\(x), \(y)) does not fit inside the \(imageWidth)×\(imageHeight) image; the crop must lie within 0..<\(imageWidth) × 0..<\(imageHeight)"
        case let .invalidQuality(quality):
            return "JPEG quality \(quality) is outside 1…100"
        case let .encodingFailed(format, detail):
            return "the \(format) encoder failed (\(detail))"
        }
    }

    /// A name for a few common non-PNG/JPEG signatures, to make the message actionable.
    private static func knownSignature(_ bytes: [UInt8]) -> String? {
        func starts(_ prefix: [UInt8]) -> Bool { bytes.starts(with: prefix) }
        if starts([0x47, 0x49, 0x46, 0x38]) { return "GIF" }
        if starts([0x42, 0x4D]) { return "BMP" }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return "TIFF" }
        if starts([0x52, 0x49, 0x46, 0x46]) { return "RIFF (WebP?)" }
        if starts([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) { return "NumPy .npy" }
        if starts([0x0A, 0x23, 0xD7, 0xCE]) { return "RecordIO" }
        if starts([0x89, 0x50, 0x4E, 0x47]) { return "a PNG with a damaged signature" }
        if starts([0xFF, 0xD8]) { return "a JPEG with a damaged start" }
        return nil
    }
}
