/// The largest image a decoder accepts, checked against the dimensions in the file's header
/// before any pixel memory is allocated, so a header that lies (or a decompression bomb) cannot
/// make the decoder allocate without bound.
///
/// The defaults, 16,384 pixels per side and 100 megapixels, allow every photograph and scan an
/// image classifier meets (a 100-megapixel RGB image is 300 MB decoded) and refuse anything
/// larger with ``ImageProblem/tooLarge(format:width:height:limits:)``.
public struct ImageLimits: Sendable, Hashable {
    /// The largest width and the largest height, in pixels. Default 16,384.
    public var maximumSide: Int
    /// The largest `width × height`, in pixels. Default 100,000,000.
    public var maximumPixels: Int

    public init(maximumSide: Int = 16_384, maximumPixels: Int = 100_000_000) {
        self.maximumSide = maximumSide
        self.maximumPixels = maximumPixels
    }

    /// 16,384 per side, 100 megapixels.
    public static let `default` = ImageLimits()

    /// Whether a `width × height` image is within the limits (both sides positive is checked
    /// separately).
    public func allows(width: Int, height: Int) -> Bool {
        guard width <= maximumSide, height <= maximumSide else { return false }
        let (area, overflow) = width.multipliedReportingOverflow(by: height)
        return !overflow && area <= maximumPixels
    }
}
