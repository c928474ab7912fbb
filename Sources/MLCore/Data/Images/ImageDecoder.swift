#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Decodes PNG and JPEG images into ``PixelImage``s, never crashing on bad input.
///
/// **Format** comes from the first bytes, never from a file name or content type: PNG starts
/// with `89 50 4E 47 0D 0A 1A 0A`, JPEG with `FF D8 FF`; anything else is
/// ``ImageProblem/unrecognizedFormat(leadingBytes:)``.
///
/// **Libraries.** PNG goes through libpng's simplified API (`png_image_*`) and JPEG through
/// libjpeg-turbo's TurboJPEG API: both catch the decoder's errors internally and return a code and
/// a message, so bad data becomes a thrown ``DataError`` (never a `longjmp`, an `exit()` or a
/// partial image). A JPEG *warning* — "Premature end of JPEG file" for a truncated file, "Corrupt
/// JPEG data" — is an error too: the image would otherwise come back with gray or garbage rows.
///
/// **Limits.** The header's dimensions are checked against ``ImageLimits`` before any pixel
/// memory is allocated.
///
/// **Channels.** The result has the channel count asked for, converted as Pillow's
/// `Image.convert("RGB")` and `convert("L")` do (``PixelImage/converted(toChannels:)``):
/// - gray sources are replicated into RGB; RGB sources become gray by Pillow's integer luma;
/// - **alpha is dropped, not composited** (a transparent pixel keeps its stored color), as
///   Pillow's `convert("RGB")` does; palette PNGs are expanded through their palette (and
///   `tRNS` transparency dropped the same way);
/// - **16-bit PNGs** become 8 bits per sample as `round(v · 255 / 65535)` (libpng's
///   `png_set_scale_16`), for every 16-bit color type. Pillow and OpenCV keep the high byte
///   (`v >> 8`, Pillow for RGB/RGBA, OpenCV for all); the two rules agree on every 16-bit value
///   made from an 8-bit one (`v = 257·k`) and differ by one on a quarter of all other values.
///   (libpng's simplified API would give the exact 16-bit samples only as *linear* data with
///   alpha premultiplied, which cannot drop alpha; Pillow clips 16-bit gray to 255, which
///   ruins the image, so there is no single Pillow rule to follow.)
/// - **EXIF orientation is not applied** (Pillow's `Image.open` does not apply it either).
/// - **Color management is not applied**: the PNG `gAMA` chunk is ignored (libpng would
///   otherwise gamma-correct images whose gAMA is far from sRGB's), as Pillow, OpenCV and so
///   MXNet ignore it; ICC profiles are ignored. Samples are returned as stored.
///
/// **JPEG** decoding uses libjpeg-turbo's defaults, which are Pillow's: the accurate integer
/// IDCT (`JDCT_ISLOW`) and fancy (triangular) chroma upsampling. Gray JPEGs decode as gray;
/// YCbCr JPEGs as RGB; progressive and arithmetic-coded JPEGs are fine; CMYK and YCCK JPEGs are
/// ``ImageProblem/unsupported(format:reason:)`` (TurboJPEG cannot convert them to RGB).
/// Progressive JPEGs with an unreasonable number of scans are refused (`TJFLAG_LIMITSCANS`).
public enum ImageDecoder {
    /// The PNG signature.
    public static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// The start of every JPEG (SOI marker, then the first marker's `FF`).
    public static let jpegSignature: [UInt8] = [0xFF, 0xD8, 0xFF]

    /// The format the bytes' signature announces, or `nil`.
    public static func format(of bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        if bytes.starts(with: pngSignature) { return .png }
        if bytes.starts(with: jpegSignature) { return .jpeg }
        return nil
    }

    /// The format the bytes' signature announces, or `nil`.
    public static func format(of bytes: [UInt8]) -> ImageFormat? {
        bytes.withUnsafeBufferPointer { format(of: UnsafeRawBufferPointer($0)) }
    }

    /// Decodes a PNG or JPEG image to `channels` channels (1: gray, 3: RGB).
    ///
    /// - Parameters:
    ///   - bytes: the encoded image (a whole file, a record's image bytes, a request body).
    ///   - source: names the image in errors — a file path, `"x.rec: record 17 (byte 96)"`.
    ///   - channels: 1 or 3; see the type's documentation for the conversions.
    ///   - limits: the largest image accepted, checked before allocating.
    /// - Throws: ``DataError/badImage(source:_:)`` with the ``ImageProblem``.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, source: String, channels: Int = 3, limits: ImageLimits = .default
    ) throws(DataError) -> PixelImage {
        do throws(ImageProblem) {
            guard channels == 1 || channels == 3 else { throw .invalidChannelCount(channels) }
            guard !bytes.isEmpty else { throw .empty }
            switch format(of: bytes) {
            case .png: return try PNGCodec.decode(bytes, channels: channels, limits: limits)
            case .jpeg: return try JPEGCodec.decode(bytes, channels: channels, limits: limits)
            case nil: throw .unrecognizedFormat(leadingBytes: Array(bytes.prefix(8)))
            }
        } catch {
            throw .badImage(source: source, error)
        }
    }

    /// Decodes a PNG or JPEG image held in an array (see the `UnsafeRawBufferPointer` form).
    public static func decode(
        _ bytes: [UInt8], source: String, channels: Int = 3, limits: ImageLimits = .default
    ) throws(DataError) -> PixelImage {
        try bytes.withUnsafeBufferPointer { (buffer) throws(DataError) -> PixelImage in
            try decode(UnsafeRawBufferPointer(buffer), source: source, channels: channels, limits: limits)
        }
    }

    /// Reads and decodes the image file at `path` (errors name the path).
    public static func decode(
        contentsOfFile path: String, channels: Int = 3, limits: ImageLimits = .default
    ) throws(DataError) -> PixelImage {
        try decode(try readFile(path), source: path, channels: channels, limits: limits)
    }

    /// The format and dimensions the image's header states, without decoding the pixels
    /// (and without checking limits).
    public static func header(of bytes: [UInt8], source: String) throws(DataError) -> ImageHeader {
        do throws(ImageProblem) {
            return try bytes.withUnsafeBufferPointer { (buffer) throws(ImageProblem) -> ImageHeader in
                let raw = UnsafeRawBufferPointer(buffer)
                guard !raw.isEmpty else { throw .empty }
                switch format(of: raw) {
                case .png: return try PNGCodec.header(raw)
                case .jpeg: return try JPEGCodec.header(raw)
                case nil: throw .unrecognizedFormat(leadingBytes: Array(raw.prefix(8)))
                }
            }
        } catch {
            throw .badImage(source: source, error)
        }
    }

    /// A whole file's bytes (regular files and FIFOs alike).
    static func readFile(_ path: String) throws(DataError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, reason: ChannelFiles.reason(errno)) }
        defer { close(fd) }
        var info = stat()
        var capacity = 1 << 16
        if fstat(fd, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR { throw .io(path: path, reason: "is a directory, not an image file") }
            if (info.st_mode & S_IFMT) == S_IFREG { capacity = max(Int(info.st_size), 1) }
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(capacity)
        var chunk = [UInt8](repeating: 0, count: min(max(capacity, 4096), 1 << 20))
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, reason: ChannelFiles.reason(errno))
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }
}

/// What an image header states: the format, the dimensions and the channels stored.
public struct ImageHeader: Sendable, Hashable {
    public var format: ImageFormat
    public var width: Int
    public var height: Int
    /// Samples per pixel as stored: 1 gray, 2 gray + alpha, 3 color, 4 color + alpha (PNG
    /// palette images count as 3 or 4; a CMYK JPEG as 4).
    public var storedChannels: Int
    /// Bits per sample as stored (8, or 16 for 16-bit PNGs; 1, 2, 4 for low-depth PNGs).
    public var bitDepth: Int

    public init(format: ImageFormat, width: Int, height: Int, storedChannels: Int, bitDepth: Int) {
        self.format = format
        self.width = width
        self.height = height
        self.storedChannels = storedChannels
        self.bitDepth = bitDepth
    }
}
