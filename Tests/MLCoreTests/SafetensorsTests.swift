import Foundation
import Testing
@testable import MLCore

@Suite struct SafetensorsTests {
    /// A file written by the Python `safetensors` package (Fixtures/make_safetensors_fixture.py).
    @Test func readsTheReferenceImplementation() throws {
        let base = try #require(Bundle.module.resourceURL)
        let file = try Safetensors.read(path: base.appendingPathComponent("Fixtures/safetensors/reference.safetensors").path)
        #expect(file.metadata == ["format": "mlcore-test"])
        let weight = try #require(file.tensors["weight"])
        #expect(weight.dtype == .f32 && weight.shape == [2, 3])
        #expect(weight.values(as: Float.self) == [0, 0.25, 0.5, 0.75, 1, 1.25])
        #expect(file.tensors["bias"]?.values(as: Double.self) == [-1.5, 2])
        #expect(file.tensors["counts"]?.dtype == .i64 && file.tensors["counts"]?.bytes.count == 24)
        #expect(file.tensors["empty"]?.shape == [0, 4])
        #expect(weight.values(as: Double.self) == nil, "a dtype mismatch is nil, not a reinterpretation")
    }

    @Test func roundTripsAndIsDeterministic() throws {
        let matrix = try Matrix<Float>([[1, 2], [3, 4], [5, 6]])
        let file = Safetensors(tensors: ["w": .init(matrix), "b": .init([0.5, -0.5] as [Double], shape: [2])],
                               metadata: ["algorithm": "linear-learner"])
        let bytes = try file.serialized()
        #expect(bytes == (try file.serialized()), "same model, same bytes")
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(headerLength % 8 == 0, "the header is padded to 8 bytes")
        let back = try Safetensors.decode(bytes)
        #expect(back == file)

        let dir = try TemporaryDirectory()
        let path = dir.url.appendingPathComponent("model.safetensors").path
        try file.write(to: path)
        #expect(try Safetensors.read(path: path) == file)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.url.path)
        #expect(leftovers == ["model.safetensors"], "no temporary file left behind")
    }

    /// Headers that lie about sizes and offsets are errors, never crashes or huge allocations.
    @Test func rejectsLyingHeaders() throws {
        func file(_ header: String, data: [UInt8]) -> Data {
            var d = Data()
            withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { d.append(contentsOf: $0) }
            d.append(contentsOf: Array(header.utf8))
            d.append(contentsOf: data)
            return d
        }
        let eight = [UInt8](repeating: 0, count: 8)
        let cases: [(String, Data)] = [
            ("too short", Data([1, 2, 3])),
            ("length past the end", Data([255, 255, 255, 255, 255, 255, 255, 127]) + Data(repeating: 0, count: 10)),
            ("not JSON", file("{nope", data: [])),
            ("not an object", file("[1, 2]", data: [])),
            ("unknown dtype", file(#"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])),
            ("offsets past the data", file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0])),
            ("shape and offsets disagree", file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight)),
            ("overlap", file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight)),
            ("gap", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight)),
            ("bytes left over", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: eight)),
            ("negative dimension", file(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])),
            ("overflowing shape", file(#"{"a":{"dtype":"F64","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, data: eight)),
            ("bad metadata", file(#"{"__metadata__":{"a":1}}"#, data: [])),
        ]
        for (name, data) in cases {
            #expect(throws: ArtifactError.self, "\(name)") { _ = try Safetensors.decode(data) }
        }
    }

    @Test func refusesToWriteInconsistentTensors() {
        let bad = Safetensors(tensors: ["x": .init(dtype: .f32, shape: [3], bytes: [0, 0, 0, 0])])
        #expect(throws: ArtifactError.self) { _ = try bad.serialized() }
        #expect(throws: ArtifactError.self) { _ = try Safetensors.read(path: "/nonexistent/model.safetensors") }
    }
}
