import Foundation
import MLCore
import Testing

// Shared by the image tests: fixture paths, expected pixels from the generator's .npy files
// (Fixtures/images/make_image_fixtures.py), random images, and the thrown image problem.

/// The path of `Fixtures/images/<name>`.
func imageFixture(_ name: String) throws -> String {
    try fixturesDirectory().appendingPathComponent("images").appendingPathComponent(name).path
}

/// A uint8 `.npy` fixture as a ``PixelImage``: shape `[H, W, 3]` (RGB) or `[H, W]` (gray).
func expectedImage(_ npyName: String) throws -> PixelImage {
    let reader = try NPYReader<Float>(path: try imageFixture(npyName))
    let shape = reader.shape
    try #require(shape.count == 2 || (shape.count == 3 && shape[2] == 3), "\(npyName): shape \(shape)")
    let values = try reader.readAll().elements
    return try PixelImage(width: shape[1], height: shape[0], channels: shape.count == 2 ? 1 : 3,
                          pixels: values.map { UInt8(exactly: $0) ?? 0 })
}

/// A fixture file's bytes.
func fixtureBytes(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: try imageFixture(name))))
}

/// A random image (seeded).
func randomImage(width: Int, height: Int, channels: Int, using rng: inout SeededRandom) throws -> PixelImage {
    try PixelImage(width: width, height: height, channels: channels,
                   pixels: (0..<(width * height * channels)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
}

/// The ``ImageProblem`` and source of a ``DataError/badImage(source:_:)`` thrown by `body`.
func imageProblem<R>(_ body: () throws(DataError) -> R) -> (source: String, problem: ImageProblem)? {
    guard case let .badImage(source, problem)? = dataError(body) else { return nil }
    return (source, problem)
}

/// Expects two images to be equal, reporting the size mismatch or the first differing samples
/// and the largest difference; with `tolerance`, samples may differ by that much.
@discardableResult
func expectSameImage(_ actual: PixelImage, _ expected: PixelImage, tolerance: Int = 0, _ comment: Comment? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    guard actual.width == expected.width, actual.height == expected.height, actual.channels == expected.channels else {
        Issue.record("image \(actual.width)×\(actual.height)×\(actual.channels) ≠ expected \(expected.width)×\(expected.height)×\(expected.channels)\(comment.map { " — \($0)" } ?? "")",
                     sourceLocation: sourceLocation)
        return false
    }
    let difference = maximumDifference(actual, expected)
    guard difference.maximum <= tolerance else {
        Issue.record("\(difference.count) samples differ, by up to \(difference.maximum) (tolerance \(tolerance)); first at \(difference.first)\(comment.map { " — \($0)" } ?? "")",
                     sourceLocation: sourceLocation)
        return false
    }
    return true
}

/// The largest absolute difference between two same-sized images, how many samples differ,
/// and where the first difference is (`x, y, channel`).
func maximumDifference(_ a: PixelImage, _ b: PixelImage) -> (maximum: Int, count: Int, first: String) {
    var maximum = 0, count = 0
    var first = "-"
    for i in a.pixels.indices where a.pixels[i] != b.pixels[i] {
        let d = abs(Int(a.pixels[i]) - Int(b.pixels[i]))
        maximum = max(maximum, d)
        if count == 0 {
            let pixel = i / a.channels
            first = "(x \(pixel % a.width), y \(pixel / a.width), c \(i % a.channels)): \(a.pixels[i]) vs \(b.pixels[i])"
        }
        count += 1
    }
    return (maximum, count, first)
}
