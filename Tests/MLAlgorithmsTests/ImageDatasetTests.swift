import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// The trainer's image sources: NPY tensors (uint8 scaled, float32 as stored) and dense
/// RecordIO-protobuf records with a `[C, H, W]` shape, and their refusals.
@Suite struct ImageDatasetTests {
    static func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("mlcore-images-\(UUID().uuidString)-\(name)").path
    }

    /// A uint8 `.npy` of `shape`, written by hand (NPYWriter writes floats only).
    static func writeUInt8(_ values: [UInt8], shape: [Int], to path: String) throws {
        var dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (" + shape.map(String.init).joined(separator: ", ") + "), }"
        let total = (10 + dict.utf8.count + 1 + 63) / 64 * 64
        dict += String(repeating: " ", count: total - 10 - dict.utf8.count - 1) + "\n"
        let length = UInt16(dict.utf8.count)
        var bytes: [UInt8] = [0x93]
        bytes += Array("NUMPY".utf8)
        bytes += [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)]
        bytes += Array(dict.utf8)
        bytes += values
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test func npyUInt8ImagesAreScaledAndFloatImagesKept() throws {
        let images = Self.temporary("x.npy"), labels = Self.temporary("y.npy"), floats = Self.temporary("xf.npy")
        defer { for p in [images, labels, floats] { try? FileManager.default.removeItem(atPath: p) } }
        let pixels: [UInt8] = (0..<24).map { (i: Int) -> UInt8 in UInt8(i * 10) }
        try Self.writeUInt8(pixels, shape: [3, 2, 2, 2], to: images)
        try NPYWriter.write([Float(2), 0, 1], to: labels)
        let data = try ImageDataset.npy(images: images, targets: labels)
        #expect(data.shape == FeatureShape(channels: 2, height: 2, width: 2) && data.rows == 3)
        #expect(data.images == pixels.map { Float($0) / 255 })
        #expect(data.targets == [2, 0, 1])
        let values: [Float] = (0..<60).map { (i: Int) -> Float in Float(i) / 7 }
        try NPYWriter.write(values, shape: [3, 4, 5], to: floats)
        let gray = try ImageDataset.npy(images: floats, targets: labels)
        #expect(gray.shape == FeatureShape(channels: 1, height: 4, width: 5) && gray.images == values)
        // Row counts must agree, and a matrix is not images.
        try NPYWriter.write([Float(1), 0], to: labels)
        #expect(throws: DataError.self) { try ImageDataset.npy(images: floats, targets: labels) }
        try NPYWriter.write(Matrix<Float>(rows: 2, columns: 3), to: floats)
        #expect(throws: DataError.self) { try ImageDataset.npy(images: floats, targets: labels) }
    }

    @Test func recordIOImagesKeepTheirShape() throws {
        let path = Self.temporary("x.rec")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var writer = RecordIOProtobufWriter()
        for r in 0..<4 {
            let values = (0..<12).map { Float(r * 12 + $0) }
            try writer.append(RecordIOProtobufRecord(
                features: ["values": .float32(RecordIOTensor(values: values, shape: [3, 2, 2]))],
                label: ["values": .dense([Float(r % 2)])]))
        }
        try writer.write(to: path)
        let data = try ImageDataset.recordIO(path: path)
        #expect(data.shape == FeatureShape(channels: 3, height: 2, width: 2) && data.rows == 4)
        #expect(data.images == (0..<48).map(Float.init) && data.targets == [0, 1, 0, 1])

        // A record whose shape differs from the first is refused, naming the record.
        var bad = RecordIOProtobufWriter()
        try bad.append(RecordIOProtobufRecord(features: ["values": .float32(RecordIOTensor(values: [1, 2, 3, 4], shape: [1, 2, 2]))],
                                              label: ["values": .dense([0])]))
        try bad.append(RecordIOProtobufRecord(features: ["values": .float32(RecordIOTensor(values: [1, 2, 3, 4], shape: [1, 4, 1]))],
                                              label: ["values": .dense([0])]))
        try bad.write(to: path)
        #expect { try ImageDataset.recordIO(path: path) } throws: { "\($0)".contains("record 1") }
        // A flat feature vector (no [C, H, W] shape) is not an image.
        var flat = RecordIOProtobufWriter()
        try flat.append(dense: Matrix<Float>(rows: 2, columns: 4), labels: [0, 1])
        try flat.write(to: path)
        #expect { try ImageDataset.recordIO(path: path) } throws: { "\($0)".contains("[C, H, W]") }
    }
}
