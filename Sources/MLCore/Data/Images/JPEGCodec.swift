import CTurboJPEG

/// JPEG through libjpeg-turbo's TurboJPEG API (v2: Debian 12's libjpeg-turbo 2.1.5), which
/// catches libjpeg's errors internally and returns -1 with a message. The rules are
/// ``ImageDecoder``'s.
enum JPEGCodec {
    /// Stop at the first warning (a truncated or corrupt stream: the rest of the image would be
    /// filled with gray) and refuse progressive JPEGs with an unreasonable number of scans
    /// (a decompression-time bomb).
    private static let decodeFlags = Int32(TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS)

    static func header(_ bytes: UnsafeRawBufferPointer) throws(ImageProblem) -> ImageHeader {
        let handle = try decompressor()
        defer { tjDestroy(handle) }
        return try readHeader(handle, bytes).header
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, channels: Int, limits: ImageLimits) throws(ImageProblem) -> PixelImage {
        let handle = try decompressor()
        defer { tjDestroy(handle) }
        let (header, colorspace) = try readHeader(handle, bytes)
        let width = header.width, height = header.height
        guard width > 0, height > 0 else { throw .zeroSize(format: .jpeg, width: width, height: height) }
        guard limits.allows(width: width, height: height) else {
            throw .tooLarge(format: .jpeg, width: width, height: height, limits: limits)
        }
        if colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue) {
            let name = colorspace == Int32(TJCS_CMYK.rawValue) ? "CMYK" : "YCCK (Adobe CMYK)"
            throw .unsupported(format: .jpeg, reason: "the image is \(name); only gray and RGB/YCbCr JPEGs are decoded — convert it to RGB (e.g. Pillow: Image.open(p).convert(\"RGB\").save(q))")
        }
        // Gray JPEGs decode as gray (replicated for RGB), others as RGB (luma for gray): the
        // samples Pillow decodes, then Pillow's conversion.
        let layout: PixelImage.SampleLayout = colorspace == Int32(TJCS_GRAY.rawValue) ? .gray : .rgb
        let pixelFormat = Int32(layout == .gray ? TJPF_GRAY.rawValue : TJPF_RGB.rawValue)
        let count = width * height * layout.samples  // ≤ 3 × maximumPixels: no overflow
        let source = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)

        func decompress(into destination: UnsafeMutablePointer<UInt8>?) -> Bool {
            tjDecompress2(handle, source, UInt(bytes.count), destination, Int32(width), 0, Int32(height), pixelFormat, decodeFlags) == 0
        }
        if layout == .plain(channels: channels) {
            var ok = false
            let pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                ok = decompress(into: buffer.baseAddress)
                initialized = ok ? count : 0
            }
            guard ok else { throw decodeFailure(handle) }
            return PixelImage(uncheckedWidth: width, height: height, channels: channels, pixels: pixels)
        }
        let decoded = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: count)
        defer { decoded.deallocate() }
        guard decompress(into: decoded.baseAddress) else { throw decodeFailure(handle) }
        return PixelImage.converting(UnsafeBufferPointer(decoded), layout: layout, width: width, height: height, toChannels: channels)
    }

    private static func decompressor() throws(ImageProblem) -> tjhandle {
        guard let handle = tjInitDecompress() else {
            throw .corrupt(format: .jpeg, detail: "TurboJPEG could not create a decompressor (\(String(cString: tjGetErrorStr2(nil))))")
        }
        return handle
    }

    private static func readHeader(_ handle: tjhandle, _ bytes: UnsafeRawBufferPointer) throws(ImageProblem) -> (header: ImageHeader, colorspace: Int32) {
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let source = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        guard tjDecompressHeader3(handle, source, UInt(bytes.count), &width, &height, &subsampling, &colorspace) == 0 else {
            throw decodeFailure(handle)
        }
        let stored: Int
        switch colorspace {
        case Int32(TJCS_GRAY.rawValue): stored = 1
        case Int32(TJCS_CMYK.rawValue), Int32(TJCS_YCCK.rawValue): stored = 4
        default: stored = 3
        }
        return (ImageHeader(format: .jpeg, width: Int(width), height: Int(height), storedChannels: stored, bitDepth: 8), colorspace)
    }

    /// The handle's last error as an ``ImageProblem``: TurboJPEG's fatal errors and its warnings
    /// (`TJERR_WARNING`: "Premature end of JPEG file", "Corrupt JPEG data: …") alike.
    private static func decodeFailure(_ handle: tjhandle) -> ImageProblem {
        let text = String(cString: tjGetErrorStr2(handle))
        let kind = tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue) ? "libjpeg-turbo warning" : "libjpeg-turbo"
        return .corrupt(format: .jpeg, detail: "\(kind): \(text)")
    }

    // MARK: Encoding

    static func encode(_ image: PixelImage, quality: Int, subsampling: JPEGSubsampling, progressive: Bool) throws(ImageProblem) -> [UInt8] {
        guard (1...100).contains(quality) else { throw .invalidQuality(quality) }
        guard image.width <= 65_535, image.height <= 65_535 else {
            throw .encodingFailed(format: .jpeg, detail: "\(image.width)×\(image.height) exceeds JPEG's 65,535 pixels per side")
        }
        guard let handle = tjInitCompress() else {
            throw .encodingFailed(format: .jpeg, detail: "TurboJPEG could not create a compressor (\(String(cString: tjGetErrorStr2(nil))))")
        }
        defer { tjDestroy(handle) }
        let pixelFormat = Int32(image.channels == 1 ? TJPF_GRAY.rawValue : TJPF_RGB.rawValue)
        let sampling: Int32
        if image.channels == 1 {
            sampling = Int32(TJSAMP_GRAY.rawValue)
        } else {
            switch subsampling {
            case .yuv444: sampling = Int32(TJSAMP_444.rawValue)
            case .yuv422: sampling = Int32(TJSAMP_422.rawValue)
            case .yuv420: sampling = Int32(TJSAMP_420.rawValue)
            }
        }
        let flags = progressive ? Int32(TJFLAG_PROGRESSIVE) : 0
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let status = image.withUnsafePixels { pixels in
            tjCompress2(handle, pixels.baseAddress, Int32(image.width), 0, Int32(image.height), pixelFormat,
                        &output, &size, sampling, Int32(quality), flags)
        }
        defer { if let output { tjFree(output) } }
        guard status == 0, let output else {
            throw .encodingFailed(format: .jpeg, detail: "libjpeg-turbo: " + String(cString: tjGetErrorStr2(handle)))
        }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }
}

/// Chroma subsampling for ``PixelImage/jpegData(quality:subsampling:progressive:)`` (ignored for
/// gray images).
public enum JPEGSubsampling: Sendable, Hashable {
    /// 4:4:4 — full-resolution chroma.
    case yuv444
    /// 4:2:2 — chroma halved horizontally.
    case yuv422
    /// 4:2:0 — chroma halved both ways (Pillow's and most cameras' default).
    case yuv420
}
