import Foundation
import Testing
@testable import MLCore

// ImageDecoder against the fixtures of Fixtures/images/make_image_fixtures.py: expected pixels
// are Pillow's convert("RGB") / convert("L") of the same files (8-bit), or MLCore's 16-bit rule
// computed with NumPy (16-bit PNGs).

@Suite("ImageDecoder")
struct ImageDecoderTests {
    static let pngFixtures = ["gray8", "gray_alpha8", "rgb8", "rgba8", "palette4", "palette_trns", "gray1",
                              "rgb8_gamma1", "rgb16", "rgba16", "gray_alpha16"]
    static let jpegFixtures = ["gray", "rgb420", "rgb444", "progressive"]

    @Test("PNG: every color type, bit depth, palette and alpha decodes to the expected pixels exactly", arguments: pngFixtures)
    func decodesPNG(name: String) throws {
        let path = try imageFixture(name + ".png")
        let rgb = try ImageDecoder.decode(contentsOfFile: path, channels: 3)
        expectSameImage(rgb, try expectedImage(name + ".rgb.npy"), "\(name).png as RGB")
        let gray = try ImageDecoder.decode(contentsOfFile: path, channels: 1)
        expectSameImage(gray, try expectedImage(name + ".l.npy"), "\(name).png as gray")
    }

    /// libjpeg-turbo 2.1.5 (Debian, here) and 3.x (bundled with Pillow) give the same samples
    /// for the accurate integer IDCT and fancy upsampling: the check is exact.
    @Test("JPEG: gray, 4:2:0, 4:4:4 and progressive decode to Pillow's pixels exactly", arguments: jpegFixtures)
    func decodesJPEG(name: String) throws {
        let bytes = try fixtureBytes(name + ".jpg")
        let rgb = try ImageDecoder.decode(bytes, source: name, channels: 3)
        expectSameImage(rgb, try expectedImage(name + ".rgb.npy"), "\(name).jpg as RGB")
        let gray = try ImageDecoder.decode(bytes, source: name, channels: 1)
        expectSameImage(gray, try expectedImage(name + ".l.npy"), "\(name).jpg as gray")
    }

    @Test("16-bit PNG: all 65,536 sample values become round(v · 255 / 65535)")
    func sixteenBitRule() throws {
        let gray = try ImageDecoder.decode(contentsOfFile: try imageFixture("gray16_ramp.png"), channels: 1)
        #expect(gray.width == 256 && gray.height == 256)
        var wrong = 0
        for v in 0..<65536 where Int(gray.pixels[v]) != (v * 255 + 32767) / 65535 { wrong += 1 }
        #expect(wrong == 0, "\(wrong) of 65,536 values differ from round(v·255/65535)")
        // Every 16-bit value made from an 8-bit one (v = 257·k) comes back as k, as v >> 8 would.
        #expect((0..<256).allSatisfy { k in Int(gray.pixels[257 * k]) == k })
        let rgb = try ImageDecoder.decode(contentsOfFile: try imageFixture("gray16_ramp.png"), channels: 3)
        #expect(rgb.pixels == gray.pixels.flatMap { [$0, $0, $0] })
    }

    @Test("alpha is dropped, not composited: fully transparent pixels keep their color")
    func alphaDropped() throws {
        let rgba = try ImageDecoder.decode(contentsOfFile: try imageFixture("rgba8.png"), channels: 3)
        let rgb = try ImageDecoder.decode(contentsOfFile: try imageFixture("rgb8.png"), channels: 3)
        // The generator made rgba8 from rgb8's colors with alpha 0 on the first three pixels.
        #expect(rgba == rgb)
        #expect(rgb.pixels[0..<9].contains { $0 != 0 }, "the transparent pixels are not black")
    }

    @Test("a gAMA chunk is ignored: samples come back as stored, as Pillow returns them")
    func gammaIgnored() throws {
        let plain = try ImageDecoder.decode(contentsOfFile: try imageFixture("rgb8.png"))
        let withGamma = try ImageDecoder.decode(contentsOfFile: try imageFixture("rgb8_gamma1.png"))
        #expect(plain == withGamma)
        let bytes = try fixtureBytes("rgb8_gamma1.png")
        let stripped = try #require(bytes.withUnsafeBufferPointer { PNGCodec.withoutGammaChunks(UnsafeRawBufferPointer($0)) })
        #expect(stripped.count == bytes.count - 16, "the 16-byte gAMA chunk is cut, nothing else")
        #expect(try fixtureBytes("rgb8.png").withUnsafeBufferPointer { PNGCodec.withoutGammaChunks(UnsafeRawBufferPointer($0)) } == nil,
                "Pillow writes no gAMA chunk: nothing to cut, no copy")
    }

    @Test("the format comes from the signature; the header gives sizes without decoding")
    func formatAndHeader() throws {
        #expect(ImageDecoder.format(of: try fixtureBytes("rgb8.png")) == .png)
        #expect(ImageDecoder.format(of: try fixtureBytes("rgb420.jpg")) == .jpeg)
        #expect(ImageDecoder.format(of: try fixtureBytes("random.bin")) == nil)
        #expect(ImageDecoder.format(of: [0xFF, 0xD8]) == nil)
        let png = try ImageDecoder.header(of: try fixtureBytes("rgba16.png"), source: "rgba16")
        #expect(png == ImageHeader(format: .png, width: 5, height: 4, storedChannels: 4, bitDepth: 16))
        let jpeg = try ImageDecoder.header(of: try fixtureBytes("rgb420.jpg"), source: "rgb420")
        #expect(jpeg == ImageHeader(format: .jpeg, width: 17, height: 13, storedChannels: 3, bitDepth: 8))
        let huge = try ImageDecoder.header(of: try fixtureBytes("huge_header.png"), source: "huge")
        #expect(huge.width == 100_000 && huge.height == 100_000, "header(of:) reports, it does not limit")
        #expect(try ImageDecoder.header(of: try fixtureBytes("cmyk.jpg"), source: "cmyk").storedChannels == 4)
    }
}

// MARK: - Bad input

@Suite("ImageDecoder errors")
struct ImageDecoderErrorTests {
    /// The problem decoding fixture `name` raises, checking the source is the path.
    private func problem(_ name: String, channels: Int = 3, limits: ImageLimits = .default,
                         sourceLocation: SourceLocation = #_sourceLocation) throws -> ImageProblem? {
        let path = try imageFixture(name)
        guard let (source, problem) = imageProblem({ () throws(DataError) in
            try ImageDecoder.decode(contentsOfFile: path, channels: channels, limits: limits)
        }) else {
            Issue.record("\(name) decoded without an error", sourceLocation: sourceLocation)
            return nil
        }
        #expect(source == path, sourceLocation: sourceLocation)
        let message = DataError.badImage(source: source, problem).description
        #expect(message.hasPrefix(path + ": "), "\(message)", sourceLocation: sourceLocation)
        return problem
    }

    @Test("truncated, corrupt and lying PNGs are .corrupt with libpng's reason")
    func brokenPNG() throws {
        for name in ["truncated.png", "corrupt.png", "lying_size.png"] {
            guard case let .corrupt(format, detail)? = try problem(name) else {
                Issue.record("\(name): not .corrupt")
                continue
            }
            #expect(format == .png)
            #expect(detail.hasPrefix("libpng: "), "\(name): \(detail)")
        }
        if case let .corrupt(_, detail)? = try problem("lying_size.png") {
            #expect(detail.contains("Not enough image data"), "\(detail)")
        }
    }

    @Test("truncated and corrupt JPEGs are .corrupt; a truncated one is libjpeg-turbo's warning")
    func brokenJPEG() throws {
        guard case let .corrupt(format, detail)? = try problem("truncated.jpg") else { Issue.record("not .corrupt"); return }
        #expect(format == .jpeg)
        #expect(detail == "libjpeg-turbo warning: Premature end of JPEG file", "\(detail)")
        guard case let .corrupt(format2, detail2)? = try problem("corrupt.jpg") else { Issue.record("not .corrupt"); return }
        #expect(format2 == .jpeg)
        #expect(detail2.contains("precision"), "\(detail2)")
    }

    @Test("headers past the limits are refused before decoding; zero-sized images are refused")
    func sizes() throws {
        #expect(try problem("huge_header.png") == .tooLarge(format: .png, width: 100_000, height: 100_000, limits: .default))
        #expect(try problem("huge_header.jpg") == .tooLarge(format: .jpeg, width: 65_000, height: 65_000, limits: .default))
        #expect(try problem("zero_width.png") == .zeroSize(format: .png, width: 0, height: 8))
        let message = ImageProblem.tooLarge(format: .png, width: 100_000, height: 100_000, limits: .default).description
        #expect(message.contains("100000×100000") && message.contains("16384") && message.contains("ImageLimits"))

        // Configurable: rgb8.png is 7×5 = 35 pixels.
        let side = ImageLimits(maximumSide: 6)
        #expect(try problem("rgb8.png", limits: side) == .tooLarge(format: .png, width: 7, height: 5, limits: side))
        let area = ImageLimits(maximumPixels: 34)
        #expect(try problem("rgb420.jpg", limits: ImageLimits(maximumPixels: 17 * 13 - 1))
                == .tooLarge(format: .jpeg, width: 17, height: 13, limits: ImageLimits(maximumPixels: 17 * 13 - 1)))
        #expect(try problem("rgb8.png", limits: area) == .tooLarge(format: .png, width: 7, height: 5, limits: area))
        #expect(try ImageDecoder.decode(contentsOfFile: try imageFixture("rgb8.png"), limits: ImageLimits(maximumSide: 7, maximumPixels: 35)).width == 7)
    }

    @Test("random bytes, an empty file and a CMYK JPEG are typed errors naming the source")
    func notImages() throws {
        let random = try fixtureBytes("random.bin")
        #expect(try problem("random.bin") == .unrecognizedFormat(leadingBytes: Array(random.prefix(8))))
        #expect(try problem("empty.bin") == .empty)
        guard case let .unsupported(format, reason)? = try problem("cmyk.jpg") else { Issue.record("CMYK decoded"); return }
        #expect(format == .jpeg && reason.contains("CMYK"))

        let gif = imageProblem { () throws(DataError) in try ImageDecoder.decode(Array("GIF89a\u{1}\u{0}".utf8), source: "x.rec: record 17 (byte 96)") }
        #expect(gif?.source == "x.rec: record 17 (byte 96)")
        #expect(DataError.badImage(source: "x.rec: record 17 (byte 96)", gif!.problem).description
                == "x.rec: record 17 (byte 96): is not a PNG or JPEG image (starts with 47 49 46 38 39 61 01 00, which looks like GIF); PNG starts with 89 50 4E 47 0D 0A 1A 0A, JPEG with FF D8 FF — convert the image to PNG or JPEG")
    }

    @Test("a channel count other than 1 or 3, and a file that is missing or a directory")
    func arguments() throws {
        #expect(try problem("rgb8.png", channels: 4) == .invalidChannelCount(4))
        #expect(try problem("rgb8.png", channels: 0) == .invalidChannelCount(0))
        #expect(dataError { () throws(DataError) in try ImageDecoder.decode(contentsOfFile: "/nonexistent/x.png") }
                == .io(path: "/nonexistent/x.png", reason: "No such file or directory"))
        let directory = try fixturesDirectory().appendingPathComponent("images").path
        guard case .io(directory, _)? = dataError({ () throws(DataError) in try ImageDecoder.decode(contentsOfFile: directory) }) else {
            Issue.record("a directory is not an io error")
            return
        }
    }

    /// A PNG cut inside its final IEND chunk still holds every pixel: libpng (like Pillow)
    /// returns the whole image then. Every shorter prefix must fail; a JPEG without its final
    /// EOI marker is libjpeg-turbo's "Premature end" warning, so every JPEG prefix fails.
    @Test("every prefix of a PNG and a JPEG fails cleanly or gives the whole image: never a crash, never a partial image")
    func everyPrefix() throws {
        for name in ["rgb8.png", "palette4.png", "rgba16.png", "rgb420.jpg", "progressive.jpg"] {
            let bytes = try fixtureBytes(name)
            let whole = try ImageDecoder.decode(bytes, source: name)
            let complete = name.hasSuffix(".png") ? bytes.count - 12 : bytes.count   // IEND is 12 bytes
            for length in 0..<bytes.count {
                guard let image = try? ImageDecoder.decode(Array(bytes[0..<length]), source: name) else { continue }
                #expect(length >= complete, "\(name): a prefix of \(length) of \(bytes.count) bytes decoded")
                #expect(image == whole, "\(name): a prefix of \(length) bytes decoded to a different image")
            }
        }
    }

    @Test("random damage: every damaged file either decodes to a full image or throws a typed error")
    func fuzz() throws {
        var rng = SeededRandom(seed: 7)
        var failures = 0, successes = 0
        for name in ["rgb8.png", "rgba16.png", "palette4.png", "gray.jpg", "rgb420.jpg", "progressive.jpg"] {
            let original = try fixtureBytes(name)
            for _ in 0..<150 {
                var bytes = original
                for _ in 0..<(1 + rng.below(4)) {
                    bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next())
                }
                do {
                    let image = try ImageDecoder.decode(bytes, source: name, channels: 1 + 2 * rng.below(2))
                    #expect(image.pixels.count == image.width * image.height * image.channels)
                    successes += 1
                } catch {
                    failures += 1
                }
            }
        }
        #expect(failures > 0 && failures + successes == 900)
    }
}

// MARK: - Encoding

@Suite("Image encoding")
struct ImageEncodingTests {
    @Test("PNG: our encoder's bytes decode back to the same pixels, gray and RGB, many sizes")
    func pngRoundTrip() throws {
        var rng = SeededRandom(seed: 11)
        for _ in 0..<20 {
            let image = try randomImage(width: rng.int(in: 1...40), height: rng.int(in: 1...40), channels: 1 + 2 * rng.below(2), using: &rng)
            let bytes = try image.pngData()
            #expect(Array(bytes.prefix(8)) == ImageDecoder.pngSignature)
            #expect(try ImageDecoder.decode(bytes, source: "round trip", channels: image.channels) == image)
        }
    }

    @Test("JPEG: quality 100 4:4:4 comes back within a few levels; gray stays gray; progressive writes SOF2")
    func jpegRoundTrip() throws {
        // Smooth content, as JPEG expects (no wrap-around edges).
        let width = 33, height = 21
        let pixels = (0..<(width * height * 3)).map { i -> UInt8 in
            let p = i / 3, x = p % width, y = p / width
            return UInt8(x * 3 + y * 4 + (i % 3) * 30)
        }
        let image = try PixelImage(width: width, height: height, channels: 3, pixels: pixels)
        let best = try ImageDecoder.decode(try image.jpegData(quality: 100, subsampling: .yuv444), source: "q100")
        #expect(maximumDifference(best, image).maximum <= 4)
        for subsampling in [JPEGSubsampling.yuv420, .yuv422, .yuv444] {
            let decoded = try ImageDecoder.decode(try image.jpegData(quality: 90, subsampling: subsampling), source: "q90")
            #expect(decoded.width == width && decoded.height == height)
            #expect(maximumDifference(decoded, image).maximum <= 8, "\(subsampling)")
        }
        let progressive = try image.jpegData(quality: 90, progressive: true)
        #expect(progressive.windowsContain([0xFF, 0xC2]), "a progressive JPEG has an SOF2 marker")
        #expect(try ImageDecoder.decode(progressive, source: "progressive").width == width)

        let gray = try image.converted(toChannels: 1)
        let grayJPEG = try gray.jpegData(quality: 95)
        #expect(try ImageDecoder.header(of: grayJPEG, source: "gray").storedChannels == 1)
        #expect(maximumDifference(try ImageDecoder.decode(grayJPEG, source: "gray", channels: 1), gray).maximum <= 8)
    }

    @Test("JPEG quality outside 1…100 is a typed error")
    func badQuality() throws {
        let image = try PixelImage(width: 2, height: 2, channels: 3)
        #expect(throws: ImageProblem.invalidQuality(0)) { try image.jpegData(quality: 0) }
        #expect(throws: ImageProblem.invalidQuality(101)) { try image.jpegData(quality: 101) }
    }

    /// Files MLCore's encoder wrote (`MLCORE_WRITE_IMAGE_SAMPLES=<dir>` makes the test below
    /// write them again); Fixtures/images/check_encoder_samples.py checked with Pillow that it
    /// reads the PNGs as exactly these pixels and the JPEG as the pixels MLCore decodes.
    @Test("committed encoder samples decode to their pattern (PNG) and to the pixels Pillow read (JPEG)")
    func committedSamples() throws {
        let (rgb, gray) = try Self.samplePatterns()
        #expect(try ImageDecoder.decode(contentsOfFile: try imageFixture("encoded/rgb.png")) == rgb)
        #expect(try ImageDecoder.decode(contentsOfFile: try imageFixture("encoded/gray.png"), channels: 1) == gray)
        let jpeg = try ImageDecoder.decode(contentsOfFile: try imageFixture("encoded/rgb_q90.jpg"))
        expectSameImage(jpeg, try expectedImage("encoded/rgb_q90.pillow.npy"))
        // Today's encoder still writes what decodes to the pattern.
        #expect(try ImageDecoder.decode(try rgb.pngData(), source: "now") == rgb)
    }

    @Test("writes the encoder samples when MLCORE_WRITE_IMAGE_SAMPLES names a directory")
    func writeSamples() throws {
        guard let directory = ProcessInfo.processInfo.environment["MLCORE_WRITE_IMAGE_SAMPLES"] else { return }
        let (rgb, gray) = try Self.samplePatterns()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(try rgb.pngData()).write(to: URL(fileURLWithPath: directory + "/rgb.png"))
        try Data(try gray.pngData()).write(to: URL(fileURLWithPath: directory + "/gray.png"))
        try Data(try rgb.jpegData(quality: 90, subsampling: .yuv420)).write(to: URL(fileURLWithPath: directory + "/rgb_q90.jpg"))
    }

    /// The encoder samples' pixels: a 23×17 RGB pattern and its gray conversion (the checker
    /// script computes the same formula).
    static func samplePatterns() throws -> (rgb: PixelImage, gray: PixelImage) {
        let width = 23, height = 17
        let pixels = (0..<(width * height * 3)).map { i -> UInt8 in
            let p = i / 3, x = p % width, y = p / width, c = i % 3
            return UInt8(x * 4 + y * (4 + c) + c * 30)  // ≤ 244: smooth, no wrap-around edges
        }
        let rgb = try PixelImage(width: width, height: height, channels: 3, pixels: pixels)
        return (rgb, try rgb.converted(toChannels: 1))
    }
}

// MARK: - PixelImage

@Suite("PixelImage")
struct PixelImageTests {
    @Test("construction checks sizes, channels and the pixel count")
    func construction() throws {
        #expect(throws: ImageProblem.pixelCountMismatch(width: 2, height: 2, channels: 3, count: 11)) {
            try PixelImage(width: 2, height: 2, channels: 3, pixels: [UInt8](repeating: 0, count: 11))
        }
        #expect(throws: ImageProblem.invalidChannelCount(2)) { try PixelImage(width: 2, height: 2, channels: 2) }
        #expect(throws: ImageProblem.invalidSize(width: 0, height: 2)) { try PixelImage(width: 0, height: 2, channels: 1) }
        #expect(throws: ImageProblem.invalidSize(width: Int.max, height: 2)) { try PixelImage(width: Int.max, height: 2, channels: 1) }
        var image = try PixelImage(width: 3, height: 2, channels: 3, repeating: 9)
        image[2, 1, 0] = 200
        #expect(image.pixels[(1 * 3 + 2) * 3] == 200, "HWC: (y · width + x) · channels + c")
        #expect(image[2, 1, 0] == 200 && image.rowBytes == 9)
        image.withUnsafeMutablePixels { $0[0] = 1 }
        #expect(image.withUnsafePixels { $0[0] } == 1)
    }

    @Test("RGB → gray is Pillow's L; gray → RGB replicates; alpha-free layouts convert without loss")
    func channelConversion() throws {
        let rgb = try ImageDecoder.decode(contentsOfFile: try imageFixture("rgb8.png"))
        expectSameImage(try rgb.converted(toChannels: 1), try expectedImage("rgb8.l.npy"))
        #expect(try rgb.converted(toChannels: 3) == rgb)
        let gray = try expectedImage("gray8.l.npy")
        expectSameImage(try gray.converted(toChannels: 3), try expectedImage("gray8.rgb.npy"))
        #expect(throws: ImageProblem.invalidChannelCount(4)) { try gray.converted(toChannels: 4) }
        // White stays white, black black; the weights are Pillow's.
        #expect(PixelImage.luma(255, 255, 255) == 255 && PixelImage.luma(0, 0, 0) == 0)
        #expect(PixelImage.luma(255, 0, 0) == 76 && PixelImage.luma(0, 255, 0) == 150 && PixelImage.luma(0, 0, 255) == 29)
    }
}

extension Array where Element == UInt8 {
    /// Whether `pattern` occurs anywhere.
    fileprivate func windowsContain(_ pattern: [UInt8]) -> Bool {
        guard count >= pattern.count else { return false }
        return (0...(count - pattern.count)).contains { Array(self[$0..<($0 + pattern.count)]) == pattern }
    }
}
