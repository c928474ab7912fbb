import Foundation
import Testing
@testable import MLCore

// PixelImage+Geometry against naive per-pixel loops (the oracles below), against the same formula
// in NumPy float32 (Fixtures/images/make_image_fixtures.py, `resize`), and against MXNet's sizes.

/// The bilinear resize computed one output sample at a time, with the source coordinate worked
/// out per pixel: `sx = (x + 0.5) · (inWidth / width) − 0.5`, clamped as OpenCV clamps, and the
/// documented Float formula in the documented order. The fast path must match it bit for bit.
private func naiveResize(_ image: PixelImage, width: Int, height: Int) throws -> PixelImage {
    func taps(_ o: Int, _ input: Int, _ output: Int) -> (Int, Int, Float, Float) {
        let f = (Double(o) + 0.5) * (Double(input) / Double(output)) - 0.5
        var i = Int(f.rounded(.down)), a = f - f.rounded(.down)
        if i < 0 { i = 0; a = 0 }
        if i >= input - 1 { i = input - 1; a = 0 }
        return (i, min(i + 1, input - 1), 1 - Float(a), Float(a))
    }
    var out = [UInt8](repeating: 0, count: width * height * image.channels)
    for y in 0..<height {
        let (y0, y1, v0, v1) = taps(y, image.height, height)
        for x in 0..<width {
            let (x0, x1, w0, w1) = taps(x, image.width, width)
            for c in 0..<image.channels {
                let top = w0 * Float(image[x0, y0, c]) + w1 * Float(image[x1, y0, c])
                let bottom = w0 * Float(image[x0, y1, c]) + w1 * Float(image[x1, y1, c])
                let v = v0 * top + v1 * bottom
                out[(y * width + x) * image.channels + c] = UInt8(min(v + 0.5, 255))
            }
        }
    }
    return try PixelImage(width: width, height: height, channels: image.channels, pixels: out)
}

/// Bilinear interpolation in Double with the same sampling positions, rounded half up: the
/// mathematical value the Float computation approximates.
private func doubleResize(_ image: PixelImage, width: Int, height: Int) throws -> PixelImage {
    func position(_ o: Int, _ input: Int, _ output: Int) -> (Int, Int, Double) {
        let f = (Double(o) + 0.5) * Double(input) / Double(output) - 0.5
        let clamped = min(max(f, 0), Double(input - 1))
        let i = min(Int(clamped), input - 1)
        return (i, min(i + 1, input - 1), clamped - Double(i))
    }
    var out = [UInt8](repeating: 0, count: width * height * image.channels)
    for y in 0..<height {
        let (y0, y1, b) = position(y, image.height, height)
        for x in 0..<width {
            let (x0, x1, a) = position(x, image.width, width)
            for c in 0..<image.channels {
                let p = { (xx: Int, yy: Int) in Double(image[xx, yy, c]) }
                let v = (1 - b) * ((1 - a) * p(x0, y0) + a * p(x1, y0)) + b * ((1 - a) * p(x0, y1) + a * p(x1, y1))
                out[(y * width + x) * image.channels + c] = UInt8((v + 0.5).rounded(.down))
            }
        }
    }
    return try PixelImage(width: width, height: height, channels: image.channels, pixels: out)
}

/// The crop as a loop over pixels.
private func naiveCrop(_ image: PixelImage, x: Int, y: Int, width: Int, height: Int) throws -> PixelImage {
    var out: [UInt8] = []
    for r in y..<(y + height) { for q in x..<(x + width) { for c in 0..<image.channels { out.append(image[q, r, c]) } } }
    return try PixelImage(width: width, height: height, channels: image.channels, pixels: out)
}

@Suite("Image geometry")
struct ImageGeometryTests {
    @Test("resize equals the per-pixel oracle bit for bit: random sizes × seeds, gray and RGB, up and down")
    func resizeMatchesOracle() throws {
        var rng = SeededRandom(seed: 3)
        for trial in 0..<120 {
            let channels = trial % 2 == 0 ? 3 : 1
            let image = try randomImage(width: rng.int(in: 1...40), height: rng.int(in: 1...40), channels: channels, using: &rng)
            let width = rng.int(in: 1...60), height = rng.int(in: 1...60)
            let fast = try image.resized(width: width, height: height)
            expectSameImage(fast, try naiveResize(image, width: width, height: height),
                            "\(image.width)×\(image.height)×\(channels) → \(width)×\(height)")
            // The Float result is the Double bilinear value, rounded, give or take one level.
            expectSameImage(fast, try doubleResize(image, width: width, height: height), tolerance: 1,
                            "Double bilinear, \(image.width)×\(image.height) → \(width)×\(height)")
        }
    }

    @Test("resize equals the NumPy float32 implementation of the same formula",
          arguments: [(5, 4), (29, 17), (13, 20), (1, 1), (26, 9), (3, 11)])
    func resizeMatchesNumPy(size: (Int, Int)) throws {
        let (width, height) = size
        let rgb = try expectedImage("resize_src_rgb.npy")
        expectSameImage(try rgb.resized(width: width, height: height), try expectedImage("resize_rgb_\(width)x\(height).npy"))
        let gray = try expectedImage("resize_src_gray.npy")
        expectSameImage(try gray.resized(width: width, height: height), try expectedImage("resize_gray_\(width)x\(height).npy"))
    }

    @Test("resize: identity, constants stay constant (255 stays 255), 2× upsampling keeps the corners, bad sizes throw")
    func resizeProperties() throws {
        var rng = SeededRandom(seed: 5)
        let image = try randomImage(width: 9, height: 7, channels: 3, using: &rng)
        #expect(try image.resized(width: 9, height: 7) == image)
        for value: UInt8 in [0, 1, 128, 254, 255] {
            let flat = try PixelImage(width: 13, height: 5, channels: 3, repeating: value)
            #expect(try flat.resized(width: 31, height: 2).pixels.allSatisfy { $0 == value })
            #expect(try flat.resized(width: 4, height: 17).pixels.allSatisfy { $0 == value })
        }
        let up = try image.resized(width: 18, height: 14)
        for c in 0..<3 {
            // Half-pixel centres: output (0,0) sits at source (−0.25, −0.25), clamped to pixel (0,0).
            #expect(up[0, 0, c] == image[0, 0, c] && up[17, 13, c] == image[8, 6, c])
        }
        #expect(throws: ImageProblem.invalidSize(width: 0, height: 3)) { try image.resized(width: 0, height: 3) }
        #expect(throws: ImageProblem.invalidSize(width: 3, height: -1)) { try image.resized(width: 3, height: -1) }
        #expect(throws: ImageProblem.resultTooLarge(width: 100_000, height: 100_000, limits: .default)) {
            try image.resized(width: 100_000, height: 100_000)
        }
    }

    @Test("resizedShorterSide: the shorter side becomes the size and the longer ⌊size·long/short⌋, as MXNet computes")
    func shorterSide() throws {
        // MXNet resize_short / ImageRecordIter `resize`: new_long = size * long // short.
        #expect(try PixelImage.shorterSideSize(width: 3482, height: 2321, shorterSide: 640) == (960, 640))  // 960.1
        #expect(try PixelImage.shorterSideSize(width: 300, height: 500, shorterSide: 224) == (224, 373))    // 373.3
        #expect(try PixelImage.shorterSideSize(width: 500, height: 300, shorterSide: 256) == (426, 256))    // 426.7: floor, not round
        #expect(try PixelImage.shorterSideSize(width: 64, height: 64, shorterSide: 32) == (32, 32))
        #expect(try PixelImage.shorterSideSize(width: 1, height: 1000, shorterSide: 1) == (1, 1000))
        #expect(throws: ImageProblem.invalidSize(width: 0, height: 0)) { try PixelImage.shorterSideSize(width: 5, height: 5, shorterSide: 0) }

        var rng = SeededRandom(seed: 9)
        let image = try randomImage(width: 40, height: 25, channels: 3, using: &rng)
        let resized = try image.resizedShorterSide(to: 16)
        #expect(resized.width == 25 && resized.height == 16)   // 16·40/25 = 25.6
        #expect(resized == (try image.resized(width: 25, height: 16)))
    }

    @Test("crops equal the pixel loop; center crops start at ⌊(W − w)/2⌋, ⌊(H − h)/2⌋")
    func crops() throws {
        var rng = SeededRandom(seed: 13)
        for _ in 0..<60 {
            let channels = 1 + 2 * rng.below(2)
            let image = try randomImage(width: rng.int(in: 1...20), height: rng.int(in: 1...20), channels: channels, using: &rng)
            let w = rng.int(in: 1...image.width), h = rng.int(in: 1...image.height)
            let x = rng.int(in: 0...(image.width - w)), y = rng.int(in: 0...(image.height - h))
            #expect(try image.cropped(x: x, y: y, width: w, height: h) == (try naiveCrop(image, x: x, y: y, width: w, height: h)))
            #expect(try image.centerCropped(width: w, height: h)
                    == (try naiveCrop(image, x: (image.width - w) / 2, y: (image.height - h) / 2, width: w, height: h)))
        }
        let image = try randomImage(width: 7, height: 5, channels: 3, using: &rng)
        #expect(try image.centerCropped(width: 4, height: 2) == (try image.cropped(x: 1, y: 1, width: 4, height: 2)))
        #expect(try image.cropped(x: 0, y: 0, width: 7, height: 5) == image)
    }

    @Test("a crop outside the image, empty or larger than it is a typed error, never a trap")
    func cropErrors() throws {
        let image = try PixelImage(width: 7, height: 5, channels: 3)
        let bad: [(Int, Int, Int, Int)] = [(-1, 0, 2, 2), (0, -1, 2, 2), (6, 0, 2, 1), (0, 4, 1, 2), (0, 0, 0, 1), (0, 0, 1, 0),
                                           (0, 0, 8, 5), (Int.max, 0, 1, 1), (1, 1, Int.max, 1)]
        for (x, y, w, h) in bad {
            #expect(throws: ImageProblem.cropOutOfBounds(x: x, y: y, width: w, height: h, imageWidth: 7, imageHeight: 5)) {
                try image.cropped(x: x, y: y, width: w, height: h)
            }
        }
        #expect(throws: ImageProblem.cropOutOfBounds(x: 0, y: 0, width: 8, height: 5, imageWidth: 7, imageHeight: 5)) {
            try image.centerCropped(width: 8, height: 5)
        }
        #expect(throws: ImageProblem.cropOutOfBounds(x: 0, y: 0, width: 224, height: 224, imageWidth: 7, imageHeight: 5)) {
            try image.centerCropped(width: 224, height: 224)
        }
        let message = ImageProblem.cropOutOfBounds(x: 0, y: 0, width: 224, height: 224, imageWidth: 7, imageHeight: 5).description
        #expect(message == "the crop 224×224 at (0, 0) does not fit inside the 7×5 image; the crop must lie within 0..<7 × 0..<5")
    }

    @Test("the vectorizable rounding equals UInt8(min(v + 0.5, 255)) around every half-integer and at random")
    func roundedByte() {
        var mismatches = 0
        for k in 0...300 {
            var v = Float(k) + 0.5 - 0.002
            while v < Float(k) + 0.5 + 0.002 {   // every Float near the rounding boundary
                if v >= 0, ResizeAxis.roundedByte(v) != UInt8(min(v + 0.5, 255)) { mismatches += 1 }
                v = v.nextUp
            }
        }
        var rng = SeededRandom(seed: 21)
        for _ in 0..<100_000 {
            let v = Float(rng.unit() * 270)
            if ResizeAxis.roundedByte(v) != UInt8(min(v + 0.5, 255)) { mismatches += 1 }
        }
        for v: Float in [0, .leastNonzeroMagnitude, 0.5, 254.5, 255, 255.49998, 255.5, 1e6] where ResizeAxis.roundedByte(v) != UInt8(min(v + 0.5, 255)) {
            mismatches += 1
        }
        #expect(mismatches == 0)
    }

    @Test("speed: 256×256 → 224×224 RGB takes well under a millisecond")
    func resizeSpeed() throws {
        var rng = SeededRandom(seed: 17)
        let image = try randomImage(width: 256, height: 256, channels: 3, using: &rng)
        var times: [Double] = []
        var checksum = 0
        for _ in 0..<30 {
            let start = DispatchTime.now().uptimeNanoseconds
            let resized = try image.resized(width: 224, height: 224)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            checksum &+= Int(resized.pixels[12345])
        }
        times.sort()
        let median = times[times.count / 2]
        print("resize 256×256 → 224×224 RGB: median \(median) ms, min \(times[0]) ms (checksum \(checksum))")
        // Generous for a busy 2-core machine; typical is a few tenths of a millisecond.
        #expect(median < 2, "median \(median) ms")
    }
}
