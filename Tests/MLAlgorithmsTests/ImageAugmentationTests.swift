import MLCore
import Testing
@testable import MLAlgorithms

/// The image pipeline against naive oracles: crops and flips by index arithmetic, the HLS
/// conversion against Python's `colorsys` formulas, the affine sampler against the plain crop at
/// the identity, and the contract that a row's view depends only on (seed, epoch, row).
@Suite struct ImageAugmentationTests {
    static func randomImage(width: Int, height: Int, channels: Int, seed: UInt64) throws -> PixelImage {
        var random = RandomStream(seed: seed)
        return try PixelImage(width: width, height: height, channels: channels,
                              pixels: (0..<(width * height * channels)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
    }

    /// The naive view: crop at (x, y), optional flip, normalise, planar.
    static func naive(_ image: PixelImage, x: Int, y: Int, flip: Bool, width: Int, height: Int, normalization: InputNormalization) -> [Float] {
        var out = [Float](repeating: 0, count: image.channels * width * height)
        for c in 0..<image.channels {
            for oy in 0..<height {
                for ox in 0..<width {
                    let sx = x + (flip ? width - 1 - ox : ox), sy = y + oy
                    let v = Float(image.pixels[(sy * image.width + sx) * image.channels + c])
                    out[(c * height + oy) * width + ox] = (v / 255 - normalization.mean[c]) / normalization.std[c]
                }
            }
        }
        return out
    }

    static func view(_ image: PixelImage, augmentation: ImageAugmentation, row: Int, epoch: Int, training: Bool,
                     width: Int, height: Int) -> [Float] {
        var out = [Float](repeating: 0, count: image.channels * width * height)
        image.pixels.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                augmentation.apply(p.baseAddress!, width: image.width, height: image.height, channels: image.channels, row: row,
                                   epoch: epoch, training: training, cropWidth: width, cropHeight: height, into: o.baseAddress!)
            }
        }
        return out
    }

    @Test(arguments: [1, 3])
    func centreCropWithoutAugmentation(channels: Int) throws {
        let image = try Self.randomImage(width: 13, height: 9, channels: channels, seed: 1)
        let normalization = InputNormalization.imageNet(channels: channels)
        let plain = ImageAugmentation(kind: nil, normalization: normalization, seed: 5)
        let expected = Self.naive(image, x: 3, y: 1, flip: false, width: 7, height: 6, normalization: normalization)
        for training in [false, true] {
            expectClose(Self.view(image, augmentation: plain, row: 4, epoch: 2, training: training, width: 7, height: 6), expected,
                        atol: 1e-6, rtol: 1e-6, "centre crop")
        }
        // With augmentation, evaluation still sees the centre crop.
        let augmented = ImageAugmentation(kind: .cropColorTransform, normalization: normalization, seed: 5)
        expectClose(Self.view(image, augmentation: augmented, row: 4, epoch: 2, training: false, width: 7, height: 6), expected,
                    atol: 1e-6, rtol: 1e-6, "evaluation view")
    }

    @Test func randomCropsAndFlipsMatchTheNaiveViewOfTheirDraw() throws {
        let image = try Self.randomImage(width: 20, height: 16, channels: 3, seed: 2)
        let normalization = InputNormalization.imageNet(channels: 3)
        let augmentation = ImageAugmentation(kind: .crop, normalization: normalization, seed: 9)
        var positions = Set<[Int]>(), flips = 0
        for row in 0..<40 {
            let d = augmentation.draw(row: row, epoch: 1, width: 20, height: 16, cropWidth: 12, cropHeight: 10, training: true)
            #expect((0...8).contains(d.x) && (0...6).contains(d.y))
            #expect(d.inverse == nil && d.hue == 0)
            positions.insert([d.x, d.y])
            if d.flip { flips += 1 }
            expectClose(Self.view(image, augmentation: augmentation, row: row, epoch: 1, training: true, width: 12, height: 10),
                        Self.naive(image, x: d.x, y: d.y, flip: d.flip, width: 12, height: 10, normalization: normalization),
                        atol: 1e-6, rtol: 1e-6, "row \(row)")
        }
        #expect(positions.count > 20, "crops should vary: \(positions.count) distinct positions")
        #expect((8...32).contains(flips), "about half the rows flip: \(flips) of 40")
    }

    @Test func drawsDependOnlyOnSeedEpochAndRow() throws {
        let a = ImageAugmentation(kind: .cropColorTransform, normalization: .imageNet(channels: 3), seed: 3)
        func draw(_ aug: ImageAugmentation, row: Int, epoch: Int) -> ImageAugmentation.Draw {
            aug.draw(row: row, epoch: epoch, width: 40, height: 40, cropWidth: 32, cropHeight: 32, training: true)
        }
        #expect(draw(a, row: 7, epoch: 2) == draw(a, row: 7, epoch: 2))
        #expect(draw(a, row: 7, epoch: 2) != draw(a, row: 7, epoch: 3))
        #expect(draw(a, row: 7, epoch: 2) != draw(a, row: 8, epoch: 2))
        var b = a
        b.seed = 4
        #expect(draw(a, row: 7, epoch: 2) != draw(b, row: 7, epoch: 2))
        for row in 0..<50 {
            let d = draw(a, row: row, epoch: 0)
            #expect(abs(d.hue) <= 36 && abs(d.saturation) <= 50 && abs(d.lightness) <= 50)
            let m = try #require(d.inverse)
            // The forward map keeps the area (det 1): so does its inverse.
            #expect(abs((m.a * m.d - m.b * m.c) - 1) < 1e-9)
        }
    }

    @Test func affineSamplerAtTheIdentityIsThePlainCrop() throws {
        let image = try Self.randomImage(width: 11, height: 10, channels: 3, seed: 4)
        var sampled = [UInt8](repeating: 0, count: 6 * 5 * 3)
        for flip in [false, true] {
            image.pixels.withUnsafeBufferPointer { p in
                sampled.withUnsafeMutableBufferPointer { o in
                    ImageAugmentation.sampleAffine(p.baseAddress!, width: 11, height: 10, channels: 3, inverse: (1, 0, 0, 1), x0: 2, y0: 3,
                                                   flip: flip, cropWidth: 6, cropHeight: 5, into: o.baseAddress!)
                }
            }
            var expected: [UInt8] = []
            for y in 0..<5 { for x in 0..<6 { for c in 0..<3 {
                expected.append(image.pixels[((3 + y) * 11 + 2 + (flip ? 5 - x : x)) * 3 + c])
            } } }
            #expect(sampled == expected, "flip \(flip)")
        }
    }

    @Test func rotationByAQuarterTurnMovesPixelsAsExpected() throws {
        // A 4×4 gray image rotated a quarter turn about its centre (inverse of R(90°)).
        let image = try PixelImage(width: 4, height: 4, channels: 1, pixels: (0..<16).map { UInt8($0 * 10) })
        var out = [UInt8](repeating: 0, count: 16)
        image.pixels.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                ImageAugmentation.sampleAffine(p.baseAddress!, width: 4, height: 4, channels: 1, inverse: (0, 1, -1, 0), x0: 0, y0: 0,
                                               flip: false, cropWidth: 4, cropHeight: 4, into: o.baseAddress!)
            }
        }
        // Output (x, y) samples source (y, 3 − x): exact, pixel centres map onto pixel centres.
        var expected = [UInt8](repeating: 0, count: 16)
        for y in 0..<4 { for x in 0..<4 { expected[y * 4 + x] = image.pixels[(3 - x) * 4 + y] } }
        #expect(out == expected)
    }

    @Test func hlsConversionRoundTripsAndMatchesColorsys() {
        // colorsys.rgb_to_hls(0.2, 0.6, 0.4) = (0.41666…, 0.4, 0.5); hue in degrees here.
        let (h, l, s) = ImageAugmentation.rgbToHLS(0.2, 0.6, 0.4)
        #expect(abs(h - 150) < 1e-4 && abs(l - 0.4) < 1e-6 && abs(s - 0.5) < 1e-6)
        var random = RandomStream(seed: 6)
        for _ in 0..<2000 {
            let r = Float(random.next() % 256) / 255, g = Float(random.next() % 256) / 255, b = Float(random.next() % 256) / 255
            let (h, l, s) = ImageAugmentation.rgbToHLS(r, g, b)
            let (r2, g2, b2) = ImageAugmentation.hlsToRGB(h, l, s)
            #expect(abs(r - r2) < 1e-5 && abs(g - g2) < 1e-5 && abs(b - b2) < 1e-5, "\(r) \(g) \(b)")
        }
        // Zero shifts leave every pixel as it was.
        var pixels: [UInt8] = (0..<300).map { UInt8(($0 * 37) % 256) }
        let before = pixels
        pixels.withUnsafeMutableBufferPointer { ImageAugmentation.jitter($0.baseAddress!, pixels: 100, channels: 3, hue: 0, saturation: 0, lightness: 0) }
        #expect(pixels == before)
        // Lightness up brightens a gray pixel by exactly that much.
        var gray: [UInt8] = [100, 100, 100]
        gray.withUnsafeMutableBufferPointer { ImageAugmentation.jitter($0.baseAddress!, pixels: 1, channels: 3, hue: 20, saturation: 0, lightness: 30) }
        #expect(gray == [130, 130, 130])
    }

    @Test func augmentedImagesFillAnyOrderTheSame() throws {
        let shape = FeatureShape(channels: 3, height: 8, width: 8)
        let images = try (0..<6).map { i in AugmentedImages.Stored.decoded(try Self.randomImage(width: 10 + i, height: 9 + i % 3, channels: 3, seed: UInt64(i))) }
        let set = try AugmentedImages(shape: shape, images: images, targets: [0, 1, 2, 0, 1, 2], targetWidth: 1,
                                      augmentation: ImageAugmentation(kind: .cropColorTransform, normalization: .imageNet(channels: 3), seed: 1),
                                      resize: nil)
        var together = [Float](repeating: 0, count: 2 * shape.count), apart = [Float](repeating: 0, count: 2 * shape.count)
        try together.withUnsafeMutableBufferPointer { try set.fill([4, 1][...], epoch: 3, training: true, into: $0.baseAddress!) }
        try apart.withUnsafeMutableBufferPointer {
            try set.fill([1][...], epoch: 3, training: true, into: $0.baseAddress! + shape.count)
            try set.fill([4][...], epoch: 3, training: true, into: $0.baseAddress!)
        }
        #expect(together == apart)
        var other = [Float](repeating: 0, count: 2 * shape.count)
        try other.withUnsafeMutableBufferPointer { try set.fill([4, 1][...], epoch: 4, training: true, into: $0.baseAddress!) }
        #expect(other != together)
    }

    @Test func preparingRefusesImagesSmallerThanTheCrop() throws {
        let small = try Self.randomImage(width: 10, height: 6, channels: 3, seed: 1).pngData()
        let shape = FeatureShape(channels: 3, height: 8, width: 8)
        #expect(throws: DataError.self) { try AugmentedImages.prepare(small, source: "small.png", shape: shape, resize: nil) }
        let resized = try AugmentedImages.prepare(small, source: "small.png", shape: shape, resize: 8)
        #expect(resized.height == 8 && resized.width == 13)
        // Encoded storage decodes to the same pixels as decoded storage.
        let set = try AugmentedImages(shape: shape, images: [.encoded(small, source: "small.png")], targets: [0], targetWidth: 1,
                                      augmentation: ImageAugmentation(kind: nil, normalization: .imageNet(channels: 3), seed: 0), resize: 8)
        #expect(try set.pixels(0) == resized)
    }
}
