/// The shape of one sample flowing through a network: `[channels, height, width]`, the NCHW
/// layout without the batch dimension. A flat feature vector is `[features, 1, 1]`.
public struct FeatureShape: Sendable, Hashable, Codable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int = 1, width: Int = 1) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// A flat vector of `features` values.
    public static func vector(_ features: Int) -> FeatureShape { FeatureShape(channels: features) }

    /// Values per sample.
    public var count: Int { channels * height * width }
    /// Values per channel plane.
    public var planeSize: Int { height * width }
    public var isVector: Bool { height == 1 && width == 1 }

    public var description: String { isVector ? "[\(channels)]" : "[\(channels), \(height), \(width)]" }
}
