/// A decoded 8-bit image in memory: gray or RGB, interleaved, row-major.
///
/// Layout (HWC): ``pixels`` holds `height × width × channels` bytes; the value of channel `c` of
/// the pixel in column `x` and row `y` (origin top left) is
/// `pixels[(y × width + x) × channels + c]`. Channels are R, G, B for 3-channel images. This is
/// the layout of a NumPy `uint8` array of shape `[height, width, channels]` (as Pillow's
/// `np.asarray(image)` gives for RGB, with a trailing axis of 1 for gray), of OpenCV's `Mat`
/// (in RGB order, not BGR), and of MXNet's decoded images before their `[C, H, W]` transpose.
///
/// The sizes are checked on construction (both sides ≥ 1, 1 or 3 channels, exactly the pixel
/// bytes they need), so every `PixelImage` is a valid image.
public struct PixelImage: Sendable, Hashable {
    /// Columns, ≥ 1.
    public let width: Int
    /// Rows, ≥ 1.
    public let height: Int
    /// 1 (gray) or 3 (RGB).
    public let channels: Int
    /// `height × width × channels` bytes, HWC, row-major (see the type's documentation).
    public private(set) var pixels: [UInt8]

    /// An image from its pixel bytes (`height × width × channels`, HWC). Throws
    /// ``ImageProblem/invalidSize(width:height:)``, ``ImageProblem/invalidChannelCount(_:)`` or
    /// ``ImageProblem/pixelCountMismatch(width:height:channels:count:)``.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) throws(ImageProblem) {
        let count = try Self.byteCount(width: width, height: height, channels: channels)
        guard pixels.count == count else {
            throw .pixelCountMismatch(width: width, height: height, channels: channels, count: pixels.count)
        }
        self.init(uncheckedWidth: width, height: height, channels: channels, pixels: pixels)
    }

    /// An image of one value everywhere.
    public init(width: Int, height: Int, channels: Int, repeating value: UInt8 = 0) throws(ImageProblem) {
        let count = try Self.byteCount(width: width, height: height, channels: channels)
        self.init(uncheckedWidth: width, height: height, channels: channels,
                  pixels: [UInt8](repeating: value, count: count))
    }

    /// For callers that have checked the sizes (decoders, geometry).
    init(uncheckedWidth width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// `width × height × channels`, or the problem with the sizes.
    static func byteCount(width: Int, height: Int, channels: Int) throws(ImageProblem) -> Int {
        guard channels == 1 || channels == 3 else { throw .invalidChannelCount(channels) }
        guard width > 0, height > 0 else { throw .invalidSize(width: width, height: height) }
        let (area, o1) = width.multipliedReportingOverflow(by: height)
        let (count, o2) = area.multipliedReportingOverflow(by: channels)
        guard !o1, !o2 else { throw .invalidSize(width: width, height: height) }
        return count
    }

    /// Bytes per row: `width × channels`.
    public var rowBytes: Int { width * channels }

    /// Channel `channel` of the pixel at column `x`, row `y`. Out-of-range coordinates trap, as
    /// array subscripts do.
    public subscript(x: Int, y: Int, channel: Int) -> UInt8 {
        get {
            // invariant: the caller's contract, as for Array's subscript — no decoder or trainer
            // path indexes pixels from input data through this (they work on the buffers)
            precondition(x >= 0 && x < width && y >= 0 && y < height && channel >= 0 && channel < channels, // invariant: see above
                         "pixel (\(x), \(y), \(channel)) outside a \(width)×\(height)×\(channels) image")
            return pixels[(y * width + x) * channels + channel]
        }
        set {
            // invariant: the caller's contract, as for the getter
            precondition(x >= 0 && x < width && y >= 0 && y < height && channel >= 0 && channel < channels, // invariant: see above
                         "pixel (\(x), \(y), \(channel)) outside a \(width)×\(height)×\(channels) image")
            pixels[(y * width + x) * channels + channel] = newValue
        }
    }

    /// Calls `body` with the pixel bytes (HWC) for reading.
    public func withUnsafePixels<R, E: Error>(_ body: (UnsafeBufferPointer<UInt8>) throws(E) -> R) throws(E) -> R {
        try pixels.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with the pixel bytes (HWC) for in-place changes (augmentation, say). The
    /// buffer's size is fixed: the image keeps its dimensions.
    public mutating func withUnsafeMutablePixels<R, E: Error>(_ body: (UnsafeMutableBufferPointer<UInt8>) throws(E) -> R) throws(E) -> R {
        try pixels.withUnsafeMutableBufferPointer { (buffer: inout UnsafeMutableBufferPointer<UInt8>) throws(E) -> R in
            try body(buffer)
        }
    }
}

// MARK: - Channel conversion

extension PixelImage {
    /// This image with `channels` channels (1 or 3), converted as Pillow's `convert("L")` and
    /// `convert("RGB")` do:
    /// - gray → RGB replicates the gray value into R, G and B;
    /// - RGB → gray is ITU-R 601-2 luma in Pillow's integer arithmetic,
    ///   `L = (R·19595 + G·38470 + B·7471 + 0x8000) >> 16` (the weights are 0.299, 0.587, 0.114
    ///   scaled by 2^16 and sum to 2^16, so white stays 255).
    ///
    /// Returns the image itself when it already has `channels` channels.
    public func converted(toChannels channels: Int) throws(ImageProblem) -> PixelImage {
        guard channels == 1 || channels == 3 else { throw .invalidChannelCount(channels) }
        if channels == self.channels { return self }
        let layout: SampleLayout = self.channels == 1 ? .gray : .rgb
        return pixels.withUnsafeBufferPointer { source in
            PixelImage.converting(source, layout: layout, width: width, height: height, toChannels: channels)
        }
    }

    /// Pillow's `L` from R, G, B (see ``converted(toChannels:)``).
    @inline(__always)
    static func luma(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        UInt8(truncatingIfNeeded: (UInt32(r) &* 19595 &+ UInt32(g) &* 38470 &+ UInt32(b) &* 7471 &+ 0x8000) >> 16)
    }

    /// The interleaved sample layouts decoders produce.
    enum SampleLayout: Int {
        case gray = 1, grayAlpha = 2, rgb = 3, rgba = 4

        var samples: Int { rawValue }
        var isColor: Bool { self == .rgb || self == .rgba }
        /// The layout that holds exactly `channels` (1 or 3) output channels, no alpha.
        static func plain(channels: Int) -> SampleLayout { channels == 1 ? .gray : .rgb }
    }

    /// An image of `channels` (1 or 3) channels from `width × height` pixels of `layout`:
    /// alpha is dropped (never composited), gray is replicated, RGB becomes Pillow's luma.
    static func converting(_ source: UnsafeBufferPointer<UInt8>, layout: SampleLayout, width: Int, height: Int,
                           toChannels channels: Int) -> PixelImage {
        let n = width * height
        // invariant: the decoders and `converted(toChannels:)` pass buffers of exactly
        // width × height × layout.samples bytes
        precondition(source.count >= n * layout.samples, "internal: \(source.count) bytes for \(n) pixels of \(layout)") // invariant: see above
        let pixels = [UInt8](unsafeUninitializedCapacity: n * channels) { out, initialized in
            // invariant: both buffers hold at least one pixel
            let s = source.baseAddress!, o = out.baseAddress! // invariant: see above
            switch (layout, channels) {
            case (.gray, 1), (.rgb, 3):
                o.update(from: s, count: n * channels)
            case (.gray, 3):
                for i in 0..<n { let v = s[i]; o[3 * i] = v; o[3 * i + 1] = v; o[3 * i + 2] = v }
            case (.grayAlpha, 1):
                for i in 0..<n { o[i] = s[2 * i] }
            case (.grayAlpha, 3):
                for i in 0..<n { let v = s[2 * i]; o[3 * i] = v; o[3 * i + 1] = v; o[3 * i + 2] = v }
            case (.rgb, 1):
                for i in 0..<n { o[i] = luma(s[3 * i], s[3 * i + 1], s[3 * i + 2]) }
            case (.rgba, 1):
                for i in 0..<n { o[i] = luma(s[4 * i], s[4 * i + 1], s[4 * i + 2]) }
            case (.rgba, 3):
                for i in 0..<n { o[3 * i] = s[4 * i]; o[3 * i + 1] = s[4 * i + 1]; o[3 * i + 2] = s[4 * i + 2] }
            default:
                preconditionFailure("internal: \(channels) output channels")
            }
            initialized = n * channels
        }
        return PixelImage(uncheckedWidth: width, height: height, channels: channels, pixels: pixels)
    }
}
