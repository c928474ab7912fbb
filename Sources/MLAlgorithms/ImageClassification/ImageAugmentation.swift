import Foundation
import MLCore

/// How the image classifier turns a stored image (8-bit, interleaved HWC, at least the
/// network's height and width) into the network's float input (`[channels, height, width]`,
/// normalised): a crop — centred, or random with augmentation — and, with augmentation, a
/// horizontal flip, colour jitter and an affine transform, as SageMaker's `augmentation_type`
/// describes them (reference §4.5):
///
/// - `crop`: a uniformly random crop position and a horizontal flip with probability ½;
/// - `crop_color`: also a random shift of hue in [−36°, 36°] and of saturation and lightness in
///   [−50, 50] (on the 0–255 scale), in HLS space;
/// - `crop_color_transform`: also a random rotation of at most 10°, a shear of at most 0.1 and an
///   aspect-ratio change of at most ±25%, applied about the image's centre before the crop,
///   sampled bilinearly with the edge pixels repeated outside the image.
///
/// Every random choice comes from a stream keyed by `(seed, epoch, row)`, so a row's view
/// depends on nothing else: not on the worker, the order or the thread count.
public struct ImageAugmentation: Sendable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable, Hashable, CaseIterable {
        case crop
        case cropColor = "crop_color"
        case cropColorTransform = "crop_color_transform"
    }

    /// `nil`: no augmentation (centre crops, as for evaluation).
    public var kind: Kind?
    public var normalization: InputNormalization
    public var seed: UInt64

    /// The jitter's limits, as SageMaker documents them.
    public static let maximumHueShift: Float = 36
    public static let maximumSaturationShift: Float = 50
    public static let maximumLightnessShift: Float = 50
    public static let maximumRotationDegrees: Double = 10
    public static let maximumShear: Double = 0.1
    public static let maximumAspectChange: Double = 0.25

    public init(kind: Kind?, normalization: InputNormalization, seed: UInt64) {
        self.kind = kind
        self.normalization = normalization
        self.seed = seed
    }

    /// The random choices for one row in one epoch.
    struct Draw: Equatable {
        var x: Int, y: Int
        var flip: Bool
        var hue: Float = 0, saturation: Float = 0, lightness: Float = 0
        /// Inverse of the affine map (output → source), about the image centre; `nil`: identity.
        var inverse: (a: Double, b: Double, c: Double, d: Double)?

        static func == (l: Draw, r: Draw) -> Bool {
            l.x == r.x && l.y == r.y && l.flip == r.flip && l.hue == r.hue && l.saturation == r.saturation
                && l.lightness == r.lightness && l.inverse?.a == r.inverse?.a && l.inverse?.b == r.inverse?.b
                && l.inverse?.c == r.inverse?.c && l.inverse?.d == r.inverse?.d
        }
    }

    /// The choices for `row` in `epoch` on a `width × height` image cropped to
    /// `cropWidth × cropHeight`: centred without augmentation or when `training` is false.
    func draw(row: Int, epoch: Int, width: Int, height: Int, cropWidth: Int, cropHeight: Int, training: Bool) -> Draw {
        guard training, let kind else {
            return Draw(x: (width - cropWidth) / 2, y: (height - cropHeight) / 2, flip: false)
        }
        var random = RandomStream(seed: seed, path: [0x1A06_A467, UInt64(epoch), UInt64(row)])
        var draw = Draw(x: Int(random.next() % UInt64(width - cropWidth + 1)),
                        y: Int(random.next() % UInt64(height - cropHeight + 1)),
                        flip: random.next() & 1 == 1)
        if kind != .crop {
            draw.hue = (2 * random.nextFloat() - 1) * Self.maximumHueShift
            draw.saturation = (2 * random.nextFloat() - 1) * Self.maximumSaturationShift
            draw.lightness = (2 * random.nextFloat() - 1) * Self.maximumLightnessShift
        }
        if kind == .cropColorTransform {
            let angle = (2 * random.nextDouble() - 1) * Self.maximumRotationDegrees * Double.pi / 180
            let shear = (2 * random.nextDouble() - 1) * Self.maximumShear
            let ratio = 1 + (2 * random.nextDouble() - 1) * Self.maximumAspectChange
            // Forward map M = R(angle) · [[1, shear], [0, 1]] · diag(√ratio, 1/√ratio) (area kept).
            let sx = ratio.squareRoot(), sy = 1 / sx
            let cosA = Foundation.cos(angle), sinA = Foundation.sin(angle)
            let m00 = cosA * sx, m01 = (cosA * shear - sinA) * sy
            let m10 = sinA * sx, m11 = (sinA * shear + cosA) * sy
            let det = m00 * m11 - m01 * m10
            draw.inverse = (m11 / det, -m01 / det, -m10 / det, m00 / det)
        }
        return draw
    }

    /// Writes the network input for one image: `source` holds `height × width × channels` bytes
    /// (HWC); the output is `channels` planes of `cropHeight × cropWidth` floats. The image must
    /// be at least the crop in both directions (the caller checks when it loads the image).
    func apply(_ source: UnsafePointer<UInt8>, width: Int, height: Int, channels: Int, row: Int, epoch: Int, training: Bool,
               cropWidth: Int, cropHeight: Int, into out: UnsafeMutablePointer<Float>) {
        let d = draw(row: row, epoch: epoch, width: width, height: height, cropWidth: cropWidth, cropHeight: cropHeight,
                     training: training)
        let plane = cropWidth * cropHeight
        // Geometry first, into bytes in HWC order (scratch on the stack for small crops).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: plane * channels) { crop in
            // invariant: the crop has at least one pixel of at least one channel
            let dst = crop.baseAddress! // invariant: see above
            if let inverse = d.inverse {
                Self.sampleAffine(source, width: width, height: height, channels: channels, inverse: inverse, x0: d.x, y0: d.y,
                                  flip: d.flip, cropWidth: cropWidth, cropHeight: cropHeight, into: dst)
            } else {
                for y in 0..<cropHeight {
                    let src = source + ((d.y + y) * width + d.x) * channels, row = dst + y * cropWidth * channels
                    if d.flip {
                        for x in 0..<cropWidth {
                            for c in 0..<channels { row[x * channels + c] = src[(cropWidth - 1 - x) * channels + c] }
                        }
                    } else {
                        row.update(from: src, count: cropWidth * channels)
                    }
                }
            }
            if d.hue != 0 || d.saturation != 0 || d.lightness != 0 {
                Self.jitter(dst, pixels: plane, channels: channels, hue: d.hue, saturation: d.saturation, lightness: d.lightness)
            }
            normalization.write(UnsafePointer(dst), pixels: plane, channels: channels, into: out)
        }
    }

    /// Bilinear sampling of the affine-transformed image inside the crop window, edge pixels
    /// repeated outside the source.
    static func sampleAffine(_ source: UnsafePointer<UInt8>, width: Int, height: Int, channels: Int,
                             inverse m: (a: Double, b: Double, c: Double, d: Double), x0: Int, y0: Int, flip: Bool,
                             cropWidth: Int, cropHeight: Int, into dst: UnsafeMutablePointer<UInt8>) {
        let cx = Double(width) / 2, cy = Double(height) / 2
        for oy in 0..<cropHeight {
            let py = Double(y0 + oy) + 0.5 - cy
            for ox in 0..<cropWidth {
                let px = Double(x0 + (flip ? cropWidth - 1 - ox : ox)) + 0.5 - cx
                let sx = m.a * px + m.b * py + cx - 0.5, sy = m.c * px + m.d * py + cy - 0.5
                let fx = Foundation.floor(sx), fy = Foundation.floor(sy)
                let wx = Float(sx - fx), wy = Float(sy - fy)
                let xa = min(max(Int(fx), 0), width - 1), xb = min(max(Int(fx) + 1, 0), width - 1)
                let ya = min(max(Int(fy), 0), height - 1), yb = min(max(Int(fy) + 1, 0), height - 1)
                for c in 0..<channels {
                    let p00 = Float(source[(ya * width + xa) * channels + c]), p01 = Float(source[(ya * width + xb) * channels + c])
                    let p10 = Float(source[(yb * width + xa) * channels + c]), p11 = Float(source[(yb * width + xb) * channels + c])
                    let v = (p00 * (1 - wx) + p01 * wx) * (1 - wy) + (p10 * (1 - wx) + p11 * wx) * wy
                    dst[(oy * cropWidth + ox) * channels + c] = UInt8(min(max(v.rounded(), 0), 255))
                }
            }
        }
    }

    /// Shifts hue (degrees), saturation and lightness (0–255 scale) in HLS space; a gray image
    /// gets the lightness shift only.
    static func jitter(_ pixels: UnsafeMutablePointer<UInt8>, pixels count: Int, channels: Int, hue: Float, saturation: Float,
                       lightness: Float) {
        guard channels == 3 else {
            for i in 0..<(count * channels) { pixels[i] = UInt8(min(max((Float(pixels[i]) + lightness).rounded(), 0), 255)) }
            return
        }
        for i in 0..<count {
            let p = pixels + 3 * i
            var (h, l, s) = rgbToHLS(Float(p[0]) / 255, Float(p[1]) / 255, Float(p[2]) / 255)
            h += hue
            if h < 0 { h += 360 } else if h >= 360 { h -= 360 }
            l = min(max(l + lightness / 255, 0), 1)
            s = min(max(s + saturation / 255, 0), 1)
            let (r, g, b) = hlsToRGB(h, l, s)
            p[0] = UInt8((r * 255).rounded())
            p[1] = UInt8((g * 255).rounded())
            p[2] = UInt8((b * 255).rounded())
        }
    }

    /// RGB in [0, 1] to hue in [0, 360), lightness and saturation in [0, 1] (the HLS model
    /// Python's `colorsys` and OpenCV use).
    static func rgbToHLS(_ r: Float, _ g: Float, _ b: Float) -> (Float, Float, Float) {
        let hi = max(r, g, b), lo = min(r, g, b)
        let l = (hi + lo) / 2
        guard hi > lo else { return (0, l, 0) }
        let delta = hi - lo
        let s = l <= 0.5 ? delta / (hi + lo) : delta / (2 - hi - lo)
        var h: Float
        if hi == r {
            h = (g - b) / delta
        } else if hi == g {
            h = 2 + (b - r) / delta
        } else {
            h = 4 + (r - g) / delta
        }
        h *= 60
        if h < 0 { h += 360 }
        return (h, l, s)
    }

    static func hlsToRGB(_ h: Float, _ l: Float, _ s: Float) -> (Float, Float, Float) {
        guard s > 0 else { return (l, l, l) }
        let q = l <= 0.5 ? l * (1 + s) : l + s - l * s
        let p = 2 * l - q
        func channel(_ t: Float) -> Float {
            var t = t
            if t < 0 { t += 360 } else if t >= 360 { t -= 360 }
            if t < 60 { return p + (q - p) * t / 60 }
            if t < 180 { return q }
            if t < 240 { return p + (q - p) * (240 - t) / 60 }
            return p
        }
        return (min(max(channel(h + 120), 0), 1), min(max(channel(h), 0), 1), min(max(channel(h - 120), 0), 1))
    }
}

/// How 8-bit pixels become the network's input: `(v / 255 − mean[c]) / std[c]` per channel,
/// planar (CHW). The defaults are torchvision's ImageNet statistics for RGB (the usual input of
/// the torchvision ResNets our weights are laid out as) and their average for grayscale.
public struct InputNormalization: Sendable, Codable, Hashable {
    public var mean: [Float]
    public var std: [Float]

    public init(mean: [Float], std: [Float]) {
        self.mean = mean
        self.std = std
    }

    /// ImageNet's per-channel statistics (RGB), or their means for one channel.
    public static func imageNet(channels: Int) -> InputNormalization {
        channels == 3 ? InputNormalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
            : InputNormalization(mean: [Float](repeating: 0.449, count: channels), std: [Float](repeating: 0.226, count: channels))
    }

    /// Writes `pixels` interleaved pixels of `channels` bytes as `channels` normalised planes.
    func write(_ src: UnsafePointer<UInt8>, pixels: Int, channels: Int, into out: UnsafeMutablePointer<Float>) {
        for c in 0..<channels {
            let scale = 1 / (255 * std[c]), shift = -mean[c] / std[c]
            let plane = out + c * pixels
            for i in 0..<pixels { plane[i] = Float(src[i * channels + c]) * scale + shift }
        }
    }
}
