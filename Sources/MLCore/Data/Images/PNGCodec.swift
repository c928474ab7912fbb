import CPNG

/// PNG through libpng's simplified API (`png_image_*`), which reports errors through the
/// `png_image` instead of `longjmp`ing into the caller. The rules are ``ImageDecoder``'s.
enum PNGCodec {
    // Chunk types as big-endian words.
    private static let ihdr: UInt32 = 0x4948_4452
    private static let idat: UInt32 = 0x4944_4154
    private static let iend: UInt32 = 0x4945_4E44
    private static let gama: UInt32 = 0x6741_4D41

    /// The IHDR chunk's dimensions and sample layout. The signature was checked by the caller.
    static func header(_ bytes: UnsafeRawBufferPointer) throws(ImageProblem) -> ImageHeader {
        // Signature (8), IHDR length and type (8), then width, height, depth, color type.
        guard bytes.count >= 8 + 8 + 13 else {
            throw .corrupt(format: .png, detail: "the file ends after \(bytes.count) bytes, inside the IHDR header chunk")
        }
        guard bigEndianWord(bytes, 12) == ihdr, bigEndianWord(bytes, 8) == 13 else {
            throw .corrupt(format: .png, detail: "the signature is not followed by a 13-byte IHDR chunk")
        }
        let depth = Int(bytes[24])
        let stored: Int
        switch bytes[25] {
        case 0: stored = 1
        case 2, 3: stored = 3
        case 4: stored = 2
        case 6: stored = 4
        default: throw .corrupt(format: .png, detail: "IHDR color type \(bytes[25]) is not one of 0, 2, 3, 4, 6")
        }
        return ImageHeader(format: .png, width: Int(bigEndianWord(bytes, 16)), height: Int(bigEndianWord(bytes, 20)),
                           storedChannels: stored, bitDepth: depth)
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, channels: Int, limits: ImageLimits) throws(ImageProblem) -> PixelImage {
        // Our own look at IHDR first, so zero and oversized images get their own errors
        // before libpng allocates anything.
        let header = try header(bytes)
        guard header.width > 0, header.height > 0 else {
            throw .zeroSize(format: .png, width: header.width, height: header.height)
        }
        guard limits.allows(width: header.width, height: header.height) else {
            throw .tooLarge(format: .png, width: header.width, height: header.height, limits: limits)
        }
        guard let stripped = withoutGammaChunks(bytes) else {
            return try decodeWithLibpng(bytes, channels: channels, limits: limits)
        }
        return try stripped.withUnsafeBufferPointer { (buffer) throws(ImageProblem) -> PixelImage in
            try decodeWithLibpng(UnsafeRawBufferPointer(buffer), channels: channels, limits: limits)
        }
    }

    private static func decodeWithLibpng(_ bytes: UnsafeRawBufferPointer, channels: Int, limits: ImageLimits) throws(ImageProblem) -> PixelImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        guard png_image_begin_read_from_memory(&image, bytes.baseAddress, bytes.count) != 0 else {
            // On failure libpng has freed the image already; freeing again is harmless.
            let detail = message(image)
            png_image_free(&image)
            throw .corrupt(format: .png, detail: detail)
        }
        defer { png_image_free(&image) }
        let width = Int(image.width), height = Int(image.height)
        guard width > 0, height > 0 else { throw .zeroSize(format: .png, width: width, height: height) }
        guard limits.allows(width: width, height: height) else {
            throw .tooLarge(format: .png, width: width, height: height, limits: limits)
        }

        // Ask for 8-bit samples with the file's own gray/color and alpha (a palette expands to
        // RGB or RGBA; tRNS becomes alpha), so libpng never composites or converts color; the
        // channel conversion and alpha dropping are ours.
        let stored = image.format
        let color = stored & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
        let alpha = stored & UInt32(PNG_FORMAT_FLAG_ALPHA) != 0
        let layout: PixelImage.SampleLayout = color ? (alpha ? .rgba : .rgb) : (alpha ? .grayAlpha : .gray)
        image.format = (color ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0) | (alpha ? UInt32(PNG_FORMAT_FLAG_ALPHA) : 0)
        if stored & UInt32(PNG_FORMAT_FLAG_LINEAR) != 0 {
            // 16-bit data without a gAMA chunk is taken to be linear by default and would be
            // gamma-encoded on the way to 8 bits; as sRGB it is only scaled: round(v·255/65535).
            image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
        }

        let count = width * height * layout.samples  // ≤ 4 × maximumPixels: no overflow
        if layout == .plain(channels: channels) {
            var failure: ImageProblem?
            let pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                if png_image_finish_read(&image, nil, buffer.baseAddress, 0, nil) != 0 {
                    initialized = count
                } else {
                    failure = .corrupt(format: .png, detail: message(image))
                    initialized = 0
                }
            }
            if let failure { throw failure }
            return PixelImage(uncheckedWidth: width, height: height, channels: channels, pixels: pixels)
        }
        let decoded = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: count)
        defer { decoded.deallocate() }
        guard png_image_finish_read(&image, nil, decoded.baseAddress, 0, nil) != 0 else {
            throw .corrupt(format: .png, detail: message(image))
        }
        return PixelImage.converting(UnsafeBufferPointer(decoded), layout: layout, width: width, height: height, toChannels: channels)
    }

    /// libpng's message in the `png_image` (NUL-terminated, at most 64 bytes).
    private static func message(_ image: png_image) -> String {
        let text = withUnsafeBytes(of: image.message) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        return text.isEmpty ? "libpng gave no reason" : "libpng: " + text
    }

    /// The bytes without their `gAMA` chunks (before the first IDAT), or `nil` when there are
    /// none. libpng's simplified API converts from the file's gamma to sRGB; Pillow and OpenCV
    /// return the stored samples. Without gAMA, 8-bit data is taken as sRGB and passes through
    /// unchanged. The other chunks keep their own CRCs, so nothing else changes. A malformed
    /// chunk list stops the scan; libpng then reports it.
    static func withoutGammaChunks(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        var offset = 8
        var cuts: [Range<Int>] = []
        while offset + 8 <= bytes.count {
            let length = Int(bigEndianWord(bytes, offset))
            let type = bigEndianWord(bytes, offset + 4)
            if type == idat || type == iend { break }
            let end = offset + 12 + length  // length < 2^32: no overflow in Int
            guard end <= bytes.count else { break }
            if type == gama { cuts.append(offset..<end) }
            offset = end
        }
        guard !cuts.isEmpty else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var start = 0
        for cut in cuts {
            out.append(contentsOf: bytes[start..<cut.lowerBound])
            start = cut.upperBound
        }
        out.append(contentsOf: bytes[start...])
        return out
    }

    @inline(__always)
    private static func bigEndianWord(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    // MARK: Encoding

    /// PNG bytes of an 8-bit gray or RGB image (`png_image_write_to_memory`, default compression).
    static func encode(_ image: PixelImage) throws(ImageProblem) -> [UInt8] {
        guard image.width <= Int(Int32.max) / 4, image.height <= Int(Int32.max) else {
            throw .encodingFailed(format: .png, detail: "\(image.width)×\(image.height) is too large for PNG")
        }
        func control() -> png_image {
            var control = png_image()
            control.version = UInt32(PNG_IMAGE_VERSION)
            control.width = UInt32(image.width)
            control.height = UInt32(image.height)
            control.format = image.channels == 1 ? UInt32(PNG_FORMAT_GRAY) : UInt32(PNG_FORMAT_RGB)
            return control
        }
        // PNG_IMAGE_PNG_SIZE_MAX: deflate's bound on the filtered rows plus every chunk's overhead.
        let filtered = (image.rowBytes + 1) * image.height
        let deflated = filtered + (filtered + 7) / 8 + (filtered + 63) / 64 + 11
        var capacity = deflated + 12 * (deflated / 8192 + 1) + 1024
        var detail = "libpng gave no reason"
        for _ in 0..<2 {
            var writer = control()
            var size = png_alloc_size_t(capacity)
            var written = false
            let bytes = image.withUnsafePixels { pixels in
                [UInt8](unsafeUninitializedCapacity: capacity) { out, initialized in
                    written = png_image_write_to_memory(&writer, out.baseAddress, &size, 0, pixels.baseAddress, 0, nil) != 0
                    initialized = written ? Int(size) : 0
                }
            }
            detail = message(writer)
            png_image_free(&writer)
            if written { return bytes }
            // A buffer too small leaves the size needed in `size`; anything else is an error.
            guard Int(size) > capacity else { break }
            capacity = Int(size)
        }
        throw .encodingFailed(format: .png, detail: detail)
    }
}
