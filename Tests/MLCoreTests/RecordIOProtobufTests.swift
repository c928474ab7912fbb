import Foundation
import Testing
@testable import MLCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: Helpers (file-private: other test files define their own)

/// A protobuf encoder written from the wire-format spec, independent of SwiftProtobuf.
private enum Wire {
    static func varint(_ value: UInt64) -> [UInt8] {
        var v = value, out: [UInt8] = []
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        return out + [UInt8(v)]
    }
    static func tag(_ field: Int, _ wireType: Int) -> [UInt8] { varint(UInt64(field << 3 | wireType)) }
    /// A length-delimited field (wire type 2).
    static func bytes(_ field: Int, _ content: [UInt8]) -> [UInt8] { tag(field, 2) + varint(UInt64(content.count)) + content }
    static func float(_ x: Float) -> [UInt8] { withUnsafeBytes(of: x.bitPattern.littleEndian) { Array($0) } }
    static func packedFloats(_ field: Int, _ xs: [Float]) -> [UInt8] { xs.isEmpty ? [] : bytes(field, xs.flatMap(float)) }
    static func packedVarints(_ field: Int, _ xs: [UInt64]) -> [UInt8] { xs.isEmpty ? [] : bytes(field, xs.flatMap(varint)) }
    static func float32Tensor(_ values: [Float], keys: [UInt64] = [], shape: [UInt64] = []) -> [UInt8] {
        packedFloats(1, values) + packedVarints(2, keys) + packedVarints(3, shape)
    }
    /// `Value { float32_tensor = 2 }`.
    static func value(float32 tensor: [UInt8]) -> [UInt8] { bytes(2, tensor) }
    /// A map entry of `Record.features` (field 1) or `Record.label` (field 2).
    static func entry(_ field: Int, _ key: String, _ value: [UInt8]) -> [UInt8] {
        bytes(field, bytes(1, Array(key.utf8)) + bytes(2, value))
    }
}

private func at(_ record: Int, _ offset: Int, file: String = "<recordio-protobuf>") -> RecordLocation {
    RecordLocation(file: file, record: record, byteOffset: offset)
}

private func fixture(_ name: String) throws -> String {
    let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
    return root.appendingPathComponent("recordio").appendingPathComponent(name).path
}

/// The arrays a fixture was made from (see Fixtures/recordio/make_recordio_fixtures.py).
private struct FixtureExpectation: Decodable {
    struct Sparse: Decodable {
        var rows: Int, columns: Int, indptr: [Int], indices: [Int], data: [Double]
    }
    var dtype: String
    var labels: [Double]?
    var dense: [[Double]]?
    var sparse: Sparse?

    static func load(_ name: String) throws -> FixtureExpectation {
        try JSONDecoder().decode(FixtureExpectation.self, from: Data(contentsOf: URL(fileURLWithPath: fixture(name + ".json"))))
    }
}

private func dense(_ batch: Batch, sourceLocation: SourceLocation = #_sourceLocation) -> Matrix<Float>? {
    guard case .dense(let m) = batch.features else {
        Issue.record("expected dense features", sourceLocation: sourceLocation)
        return nil
    }
    return m
}

private func sparse(_ batch: Batch, sourceLocation: SourceLocation = #_sourceLocation) -> SparseMatrix<Float>? {
    guard case .sparse(let s) = batch.features else {
        Issue.record("expected sparse features", sourceLocation: sourceLocation)
        return nil
    }
    return s
}

private func recordBytes(_ records: [RecordIOProtobufRecord]) throws -> [UInt8] {
    try RecordIOProtobufWriter.encode(records)
}

private func row(_ values: [Float], keys: [UInt64] = [], shape: [UInt64] = [], label: Float? = nil) -> RecordIOProtobufRecord {
    RecordIOProtobufRecord(features: ["values": .float32(RecordIOTensor(values: values, keys: keys, shape: shape))],
                           label: label.map { ["values": .dense([$0])] } ?? [:])
}

private func readError(_ bytes: [UInt8]) -> DataError? {
    dataError { () throws(DataError) in try RecordIOProtobufReader.decode(bytes) }
}

/// The project's Python environment (made by scripts/setup.sh, which `make test` runs first).
private let python = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent(".venv/bin/python").path

// MARK: Wire format

@Suite("RecordIO-protobuf")
struct RecordIOProtobufTests {
    /// The worked example of the SageMaker contract notes §3.4: features [1, 2], label 1.
    static let workedExample: [UInt8] = [
        0x0A, 0x23, 0xD7, 0xCE, 0x2C, 0x00, 0x00, 0x00,  // magic, length 44, cflag 0
        0x0A, 0x16,  // Record.features entry, 22 bytes
        0x0A, 0x06, 0x76, 0x61, 0x6C, 0x75, 0x65, 0x73,  // key "values"
        0x12, 0x0C, 0x12, 0x0A,  // Value (12), float32_tensor (10)
        0x0A, 0x08, 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40,  // values packed [1.0, 2.0]
        0x12, 0x12,  // Record.label entry, 18 bytes
        0x0A, 0x06, 0x76, 0x61, 0x6C, 0x75, 0x65, 0x73,
        0x12, 0x08, 0x12, 0x06, 0x0A, 0x04, 0x00, 0x00, 0x80, 0x3F,  // values [1.0]
    ]

    @Test("§3.4 worked example: the writer produces it byte for byte")
    func workedExampleWrite() throws {
        var writer = RecordIOProtobufWriter()
        try writer.append(dense: Matrix([[1, 2]]), labels: [1])
        #expect(writer.bytes == Self.workedExample)
        #expect(try RecordIOProtobufWriter.encode([row([1, 2], label: 1)]) == Self.workedExample)
        // The independent encoder agrees on the payload.
        let payload = Wire.entry(1, "values", Wire.value(float32: Wire.float32Tensor([1, 2])))
            + Wire.entry(2, "values", Wire.value(float32: Wire.float32Tensor([1])))
        #expect(Array(Self.workedExample.dropFirst(8)) == payload)
    }

    @Test("§3.4 worked example: the reader gives features [1, 2] and label 1")
    func workedExampleRead() throws {
        let batch = try RecordIOProtobufReader.decode(Self.workedExample)
        #expect(dense(batch) == (try Matrix<Float>([[1, 2]])))
        #expect(batch.labels == (try Matrix<Float>([[1]])))
        let records = try RecordIOProtobufReader.decodeRecords(Self.workedExample)
        #expect(records == [row([1, 2], label: 1)])
    }

    @Test("§3.4 sparse tensor bytes: keys [3], values [5], shape [10]")
    func sparseTensorBytes() throws {
        let tensor: [UInt8] = [0x0A, 0x04, 0x00, 0x00, 0xA0, 0x40, 0x12, 0x01, 0x03, 0x1A, 0x01, 0x0A]
        #expect(Wire.float32Tensor([5], keys: [3], shape: [10]) == tensor)
        let csr = try SparseMatrix<Float>(rows: 1, columns: 10, rowOffsets: [0, 1], columnIndices: [3], values: [5])
        var writer = RecordIOProtobufWriter()
        try writer.append(sparse: csr)
        let payload = Wire.entry(1, "values", Wire.value(float32: tensor))  // 26 bytes, 2 of padding
        #expect(writer.bytes == [0x0A, 0x23, 0xD7, 0xCE, 26, 0, 0, 0] + payload + [0, 0])
        #expect(sparse(try RecordIOProtobufReader.decode(writer.bytes)) == csr)
    }

    @Test("protobuf robustness: unpacked repeated fields, unknown fields, entries value-before-key")
    func protobufRobustness() throws {
        // values as two unpacked float fields (wire type 5), keys and shape unpacked varints.
        let unpacked = Wire.tag(1, 5) + Wire.float(5) + Wire.tag(1, 5) + Wire.float(7)
            + Wire.tag(2, 0) + Wire.varint(1) + Wire.tag(2, 0) + Wire.varint(4) + Wire.tag(3, 0) + Wire.varint(6)
        // An unknown field 15 in the record and one in the tensor; the map entry lists value first.
        let unknown = Wire.bytes(15, [1, 2, 3])
        let entry = Wire.bytes(1, Wire.bytes(2, Wire.value(float32: unpacked + unknown)) + Wire.bytes(1, Array("values".utf8)))
        let payload = unknown + entry + Wire.entry(2, "values", Wire.value(float32: Wire.float32Tensor([2])))
        let bytes = try RecordIOFraming.encode([payload])
        let batch = try RecordIOProtobufReader.decode(bytes)
        #expect(sparse(batch) == (try SparseMatrix<Float>(rows: 1, columns: 6, rowOffsets: [0, 2], columnIndices: [1, 4], values: [5, 7])))
        #expect(batch.labelVector == [2])
    }

    @Test("the direct row decoder agrees with SwiftProtobuf on every payload it accepts (seeded fuzz)",
          arguments: [11, 12, 13])
    func fastPathMatchesGeneralDecoder(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        func tensor() -> RecordIOValue {
            let n = rng.int(in: 0...6)
            let sparse = rng.below(3) == 0
            let keys = sparse ? (0..<n).map { _ in UInt64(rng.int(in: 0...300)) } : []
            let shape: [UInt64] = sparse || rng.below(4) == 0 ? [UInt64(rng.int(in: 1...400))] : []
            switch rng.below(4) {
            case 0: return .float64(RecordIOTensor(values: (0..<n).map { _ in rng.unit() * 1e6 - 5e5 }, keys: keys, shape: shape))
            case 1: return .int32(RecordIOTensor(values: (0..<n).map { _ in Int32(truncatingIfNeeded: rng.next()) }, keys: keys, shape: shape))
            default: return .float32(RecordIOTensor(values: (0..<n).map { _ in Float(rng.unit() * 10 - 5) }, keys: keys, shape: shape))
            }
        }
        var accepted = 0, mutatedAccepted = 0
        for trial in 0..<3000 {
            var record = RecordIOProtobufRecord(features: ["values": tensor()])
            if rng.below(2) == 0 { record.label["values"] = tensor() }
            if rng.below(8) == 0 { record.features["other"] = tensor() }
            if rng.below(8) == 0 { record.uid = "u" }
            if rng.below(10) == 0 { record.features["values"] = .unset }
            var payload = record.serializedBytes()
            let mutate = trial % 2 == 1 && !payload.isEmpty
            if mutate {
                for _ in 0..<rng.int(in: 1...3) { payload[rng.below(payload.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            }
            var fast = (RecordIOTensorSlot(), RecordIOTensorSlot())
            let simple = payload.withUnsafeBytes { RecordIORowDecoder.decodeSimple($0, features: &fast.0, label: &fast.1) }
            guard simple else { continue }
            accepted += 1
            if mutate { mutatedAccepted += 1 }
            let message = try #require(try? Aialgs_Data_Record(serializedBytes: payload),
                                       "the direct decoder accepted bytes SwiftProtobuf rejects: \(payload)")
            var general = (RecordIOTensorSlot(), RecordIOTensorSlot())
            if let v = message.features["values"] { general.0.load(v) }
            if let v = message.label["values"] { general.1.load(v) }
            for (a, b) in [(fast.0, general.0), (fast.1, general.1)] {
                #expect(a.kind == b.kind && a.keys == b.keys && a.shape == b.shape, "\(payload)")
                #expect(a.values.map(\.bitPattern) == b.values.map(\.bitPattern), "\(payload)")
            }
        }
        #expect(accepted > 1000 && mutatedAccepted > 50, "the fuzz exercises the direct path (\(accepted), \(mutatedAccepted))")
    }

    // MARK: SDK fixtures

    @Test("SageMaker SDK dense fixtures read to exactly the arrays they were made from",
          arguments: ["dense_f32_labels", "dense_f64_labels", "dense_i32_labels", "dense_f32_nolabels"])
    func sdkDenseFixtures(name: String) throws {
        let expected = try FixtureExpectation.load(name)
        let rows = try #require(expected.dense)
        let batch = try RecordIOProtobufReader.readAll(path: fixture(name + ".pbr"))
        // float64 values round to nearest Float, exactly as Float(Double) does.
        let matrix = try Matrix<Float>(rows.map { $0.map { Float($0) } })
        #expect(dense(batch) == matrix)
        #expect(batch.labelVector == expected.labels?.map { Float($0) })
        #expect(batch.labels?.columns ?? 1 == 1)
    }

    @Test("SageMaker SDK sparse fixtures (empty rows included) read to exactly their CSR arrays",
          arguments: ["sparse_f32_labels", "sparse_f64_nolabels"])
    func sdkSparseFixtures(name: String) throws {
        let expected = try FixtureExpectation.load(name)
        let e = try #require(expected.sparse)
        let csr = try SparseMatrix<Float>(rows: e.rows, columns: e.columns, rowOffsets: e.indptr,
                                          columnIndices: e.indices.map { Int32($0) }, values: e.data.map { Float($0) })
        let batch = try RecordIOProtobufReader.readAll(path: fixture(name + ".pbr"))
        #expect(sparse(batch) == csr)
        #expect(batch.labelVector == expected.labels?.map { Float($0) })
    }

    @Test("the SDK's records survive our decode → encode byte for byte")
    func sdkFixturesReencode() throws {
        for name in ["dense_f32_labels", "dense_f64_labels", "dense_i32_labels", "dense_f32_nolabels",
                     "sparse_f32_labels", "sparse_f64_nolabels"] {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixture(name + ".pbr"))))
            #expect(try RecordIOProtobufWriter.encode(RecordIOProtobufReader.decodeRecords(bytes)) == bytes, "\(name)")
        }
        // And our writer writes the SDK's float32 files from their arrays.
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixture("sparse_f32_labels.pbr"))))
        #expect(try RecordIOProtobufWriter.encode(RecordIOProtobufReader.decode(bytes)) == bytes)
        let denseBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixture("dense_f32_labels.pbr"))))
        #expect(try RecordIOProtobufWriter.encode(RecordIOProtobufReader.decode(denseBytes)) == denseBytes)
    }

    @Test("a channel directory reads its files in order; batches of batchRows; records restart per file")
    func channelAndBatches() throws {
        let dir = try TemporaryDirectory()
        for (source, target) in [("dense_f32_labels", "b/part-1.pbr"), ("dense_f32_labels", "a.pbr")] {
            let to = dir.url.appendingPathComponent(target)
            try FileManager.default.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: URL(fileURLWithPath: fixture(source + ".pbr")), to: to)
        }
        let one = try RecordIOProtobufReader.readAll(path: fixture("dense_f32_labels.pbr"))
        let all = try RecordIOProtobufReader.readAll(path: dir.url.path)
        let m = try #require(dense(one))
        let rows = (0..<m.rows).map { m.row($0) }
        #expect(dense(all) == (try Matrix(rows + rows)))
        #expect(all.labelVector == (one.labelVector ?? []) + (one.labelVector ?? []))
        #expect(try RecordIOProtobufReader.readAll(files: [fixture("dense_f32_labels.pbr")]) == one)

        var reader = try RecordIOProtobufReader(path: dir.url.path, batchRows: 4)
        var sizes: [Int] = []
        while let batch = try reader.nextBatch() { sizes.append(batch.rows) }
        #expect(sizes == [4, 4, 4])
        #expect(reader.featureDimension == 4 && reader.isLabelled == true)

        // A bad record in the second file names that file and its own record number.
        let bad = dir.url.appendingPathComponent("b/part-2.pbr").path
        let first = try recordBytes([row([1, 2, 3, 4], label: 0)])
        try Data(first + recordBytes([row([1, 2], label: 0)])).write(to: URL(fileURLWithPath: bad))
        let error = dataError { () throws(DataError) in try RecordIOProtobufReader.readAll(path: dir.url.path) }
        #expect(error == .badRecord(at(2, first.count, file: bad), .dimensionMismatch(expected: 4, got: 2, firstRecord: "record 1 of \(dir.url.path)/a.pbr")))
    }

    // MARK: Dense, sparse, dtypes

    @Test("float64 and int32 tensors convert to Float, labels too")
    func dtypeConversion() throws {
        let records = [
            RecordIOProtobufRecord(features: ["values": .float64(RecordIOTensor(values: [0.1, 1e300, -2.5]))],
                                   label: ["values": .int32(RecordIOTensor(values: [3, 9]))]),
            RecordIOProtobufRecord(features: ["values": .int32(RecordIOTensor(values: [16_777_217, -1, 0]))],
                                   label: ["values": .float64(RecordIOTensor(values: [0.5]))]),
        ]
        let batch = try RecordIOProtobufReader.decode(recordBytes(records))
        #expect(dense(batch) == (try Matrix<Float>([[Float(0.1), .infinity, -2.5], [16_777_216, -1, 0]])))
        #expect(batch.labelVector == [3, 0.5])
    }

    @Test("a batch with any sparse row is CSR; dense rows keep every element, zeros included")
    func mixedDenseAndSparse() throws {
        let records = [
            row([1, 0, 2]),
            row([5], keys: [1], shape: [3]),
            row([], shape: [3]),  // an empty sparse row, as the SDK writes it
            row([0, 3, 0]),
        ]
        var reader = RecordIOProtobufReader(bytes: try recordBytes(records), batchRows: 1)
        #expect(dense(try #require(try reader.nextBatch())) == (try Matrix<Float>([[1, 0, 2]])))
        #expect(sparse(try #require(try reader.nextBatch()))?.values == [5])
        #expect(sparse(try #require(try reader.nextBatch()))?.rowOffsets == [0, 0])
        #expect(dense(try #require(try reader.nextBatch())) == (try Matrix<Float>([[0, 3, 0]])))
        #expect(try reader.nextBatch() == nil)

        let all = try RecordIOProtobufReader.decode(recordBytes(records))
        let csr = try SparseMatrix<Float>(rows: 4, columns: 3, rowOffsets: [0, 3, 4, 4, 7],
                                          columnIndices: [0, 1, 2, 1, 0, 1, 2], values: [1, 0, 2, 5, 0, 3, 0])
        #expect(sparse(all) == csr)
        #expect(all.labels == nil)
    }

    @Test("unsorted sparse keys are sorted with their values; multi-dimensional shapes flatten row-major")
    func sparseKeysAndShapes() throws {
        let batch = try RecordIOProtobufReader.decode(recordBytes([
            row([3, 1, 2], keys: [5, 0, 2], shape: [2, 3]),
            row([1, 2, 3, 4, 5, 6], shape: [2, 3]),
        ]))
        let s = try #require(sparse(batch))
        #expect(s.columns == 6)
        #expect(s.columnIndices == [0, 2, 5, 0, 1, 2, 3, 4, 5])
        #expect(s.values == [1, 2, 3, 1, 2, 3, 4, 5, 6])
    }

    @Test("very wide sparse rows cost their non-zeros, not their width")
    func wideSparseRows() throws {
        let width: UInt64 = 1 << 31  // the widest CSR with Int32 column indices
        let bytes = try recordBytes([row([1], keys: [width - 1], shape: [width]), row([], shape: [width])])
        var reader = RecordIOProtobufReader(bytes: bytes)  // default batchRows: 4096
        let batch = try #require(try reader.nextBatch())
        let s = try #require(sparse(batch))
        #expect(s.columns == 1 << 31 && s.columnIndices == [Int32.max] && s.rowOffsets == [0, 1, 1])
        #expect(sparse(try RecordIOProtobufReader.decode(bytes)) == s)
        #expect(readError(try recordBytes([row([1], keys: [0], shape: [width + 1])]))
                == .badRecord(at(1, 0), .shapeTooLarge(map: "features", shape: [width + 1])))
    }

    @Test("nextRecord keeps every key, uid, metadata and configuration")
    func fullRecords() throws {
        let response = RecordIOProtobufRecord(
            label: ["score": .dense([0.25, 0.75]), "predicted_label": .dense([1]),
                    "projection": .float32(RecordIOTensor(values: [1, 2, 3, 4], shape: [2, 2])),
                    "ids": .int32(RecordIOTensor(values: [7])), "blob": .bytes([[1, 2], []], contentType: "x/y"),
                    "nothing": .unset],
            uid: "row-1", metadata: "{\"source\": \"s3\"}", configuration: "")
        let bytes = try recordBytes([response, RecordIOProtobufRecord()])
        var reader = RecordIOProtobufReader(bytes: bytes)
        #expect(try reader.nextRecord() == response)
        #expect(try reader.nextRecord() == RecordIOProtobufRecord())
        #expect(try reader.nextRecord() == nil)
        #expect(RecordIOValue.float64(RecordIOTensor(values: [1.5])).floatValues == [1.5])
        #expect(RecordIOValue.bytes([], contentType: nil).floatValues == nil)
        // Deterministic: key order never depends on hashing.
        #expect(try recordBytes([response]) == (try recordBytes([response])))
    }

    @Test("empty input reads as no batches and an empty batch")
    func emptyInput() throws {
        var reader = RecordIOProtobufReader(bytes: [])
        #expect(try reader.nextBatch() == nil)
        #expect(try reader.readAll() == Batch(features: .dense(Matrix(rows: 0, columns: 0))))
        #expect(try RecordIOProtobufReader.decodeRecords([]).isEmpty)
    }

    // MARK: Errors

    @Test("content errors name the record, its offset and the rule")
    func contentErrors() throws {
        let good = try recordBytes([row([1, 2, 3], label: 1)])
        let g = good.count
        func second(_ record: RecordIOProtobufRecord) throws -> DataError? { readError(good + (try recordBytes([record]))) }

        // Dimension mismatch, dense and sparse.
        #expect(try second(row([1, 2], label: 0)) == .badRecord(at(2, g), .dimensionMismatch(expected: 3, got: 2, firstRecord: "record 1 of <recordio-protobuf>")))
        #expect(try second(row([1], keys: [0], shape: [4], label: 0)) == .badRecord(at(2, g), .dimensionMismatch(expected: 3, got: 4, firstRecord: "record 1 of <recordio-protobuf>")))
        // Missing features["values"] (another key instead) and a missing features map.
        #expect(try second(RecordIOProtobufRecord(features: ["other": .dense([1, 2, 3])], label: ["values": .dense([1])]))
                == .badRecord(at(2, g), .missingKey(map: "features", key: "values")))
        #expect(try second(RecordIOProtobufRecord()) == .badRecord(at(2, g), .missingKey(map: "features", key: "values")))
        // Sparse rules.
        #expect(try second(row([1, 2], keys: [0, 3], shape: [3], label: 0)) == .badRecord(at(2, g), .keyOutOfRange(map: "features", key: 3, size: 3)))
        #expect(try second(row([1, 2], keys: [0], shape: [3], label: 0)) == .badRecord(at(2, g), .keysValuesMismatch(map: "features", keys: 1, values: 2)))
        #expect(try second(row([1], keys: [0], label: 0)) == .badRecord(at(2, g), .sparseWithoutShape(map: "features")))
        #expect(try second(row([1, 2], keys: [1, 1], shape: [3], label: 0)) == .badRecord(at(2, g), .duplicateKey(map: "features", key: 1)))
        #expect(try second(row([1, 2], shape: [3], label: 0)) == .badRecord(at(2, g), .shapeMismatch(map: "features", values: 2, shape: [3])))
        #expect(try second(row([1], keys: [0], shape: [1 << 40, 1 << 40], label: 0)) == .badRecord(at(2, g), .shapeTooLarge(map: "features", shape: [1 << 40, 1 << 40])))
        // Values that are not tensors.
        #expect(try second(RecordIOProtobufRecord(features: ["values": .bytes([[1]], contentType: nil)], label: ["values": .dense([1])]))
                == .badRecord(at(2, g), .unsupportedValue(map: "features", key: "values", kind: "Bytes")))
        #expect(try second(RecordIOProtobufRecord(features: ["values": .unset], label: ["values": .dense([1])]))
                == .badRecord(at(2, g), .unsupportedValue(map: "features", key: "values", kind: "no tensor (an empty Value)")))
        // Labels: all or none, and not empty.
        #expect(try second(row([1, 2, 3])) == .badRecord(at(2, g), .labelPresenceMismatch(hasLabel: false, firstRecord: "record 1 of <recordio-protobuf>")))
        #expect(readError(try recordBytes([row([1]), row([2], label: 1)]))
                == .badRecord(at(2, 28), .labelPresenceMismatch(hasLabel: true, firstRecord: "record 1 of <recordio-protobuf>")))
        #expect(try second(RecordIOProtobufRecord(features: ["values": .dense([1, 2, 3])], label: ["values": .dense([])]))
                == .badRecord(at(2, g), .emptyLabel))
        // Garbage protobuf: a length that runs past the end, and an invalid wire type.
        let garbage = readError(good + (try RecordIOFraming.encode([[0x0A, 0x7F, 0x01]])))
        guard case .badRecord(let where1, .invalidProtobuf)? = garbage else {
            Issue.record("expected invalidProtobuf, got \(String(describing: garbage))")
            return
        }
        #expect(where1 == at(2, g))
        guard case .badRecord(let where2, .invalidProtobuf)? = readError(try RecordIOFraming.encode([[0x0F, 0x00]])) else {
            Issue.record("expected invalidProtobuf for wire type 7")
            return
        }
        #expect(where2 == at(1, 0))
        // Framing errors come through the protobuf reader unchanged.
        #expect(readError(good + [0x0A, 0x23, 0xD7]) == .badRecord(at(2, g), .truncatedHeader(bytes: 3)))
        // Messages are readable and say where.
        let message = try #require(try second(row([1, 2], keys: [0, 3], shape: [3], label: 0))).description
        #expect(message.hasPrefix("<recordio-protobuf>: record 2 (byte \(g)): features: sparse key 3 is out of range"))
    }

    @Test("writer argument errors")
    func writerErrors() throws {
        var writer = RecordIOProtobufWriter(name: "out.pbr")
        let m = try Matrix<Float>([[1], [2]])
        let error = dataError { () throws(DataError) in try writer.append(dense: m, labels: [1]) }
        #expect(error == .unsupported(DataLocation(file: "out.pbr"), reason: "1 labels for 2 rows; give one label per row (or none)"))
        #expect(writer.records == 0)
    }

    // MARK: Round trips

    @Test("seeded dense and sparse matrices round-trip through a file exactly", arguments: [1, 2, 3])
    func roundTrip(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let rows = rng.int(in: 1...300), columns = rng.int(in: 1...40)
        let m: Matrix<Float> = rng.uniformMatrix(rows, columns)
        let labels = (0..<rows).map { _ in Float(rng.int(in: 0...4)) }
        var csr = SparseMatrix<Float>(columns: columns)
        for _ in 0..<rows {
            let picked = (0..<columns).filter { _ in rng.below(4) == 0 }
            csr.appendRow(indices: picked.map { Int32($0) }, values: picked.map { _ in Float(rng.unit()) })
        }
        try withTemporaryDirectory { dir in
            try RecordIOProtobufWriter.write(Batch(features: .dense(m), labels: Matrix(rows: rows, columns: 1, elements: labels)), to: dir + "/d.pbr")
            let d = try RecordIOProtobufReader.readAll(path: dir + "/d.pbr")
            #expect(dense(d) == m)
            #expect(d.labelVector == labels)

            try RecordIOProtobufWriter.write(Batch(features: .sparse(csr)), to: dir + "/s.pbr")
            let s = try RecordIOProtobufReader.readAll(path: dir + "/s.pbr")
            #expect(sparse(s) == csr)
            #expect(s.labels == nil)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["d.pbr", "s.pbr"], "no temporary files left")
        }
    }

    @Test("a float equal to the magic number forces a multi-part record, which reads back")
    func magicInsideProtobuf() throws {
        let magicFloat = Float(bitPattern: RecordIOFraming.magic)
        // An extra feature entry whose key sorts first shifts the "values" entry byte by byte,
        // so one of four key lengths puts the float on a 4-byte boundary of the payload.
        var split = 0
        for pad in 0..<4 {
            let record = RecordIOProtobufRecord(features: ["a" + String(repeating: "x", count: pad): .unset,
                                                           "values": .dense([magicFloat, 1])])
            var frames = RecordIOFrameWriter()
            try frames.append(record.serializedBytes())
            split += frames.splitRecords
            #expect(try RecordIOProtobufReader.decodeRecords(frames.bytes) == [record])
            #expect(dense(try RecordIOProtobufReader.decode(frames.bytes))?.elements.first?.bitPattern == RecordIOFraming.magic)
        }
        #expect(split == 1)
    }

    // MARK: Pipes and FIFOs

    @Test("a Pipe-mode FIFO read in batches while another thread writes it")
    func fifoBatches() throws {
        signal(SIGPIPE, SIG_IGN)
        try withTemporaryDirectory { dir in
            let path = dir + "/train_0"
            #expect(mkfifo(path, 0o600) == 0)
            let m = try Matrix<Float>((0..<1000).map { i in (0..<7).map { Float(i * 7 + $0) } })
            let labels = (0..<1000).map { Float($0 % 2) }
            let bytes = try RecordIOProtobufWriter.encode(Batch(features: .dense(m), labels: Matrix(rows: 1000, columns: 1, elements: labels)))
            Thread.detachNewThread {
                let fd = open(path, O_WRONLY)
                guard fd >= 0 else { return }
                var offset = 0
                while offset < bytes.count {
                    let n = bytes[offset..<min(bytes.count, offset + 1021)].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                    if n <= 0 { break }
                    offset += n
                }
                close(fd)
            }
            var reader = try RecordIOProtobufReader(path: path, batchRows: 300)
            var rows: [[Float]] = [], got: [Float] = []
            while let batch = try reader.nextBatch() {
                let b = try #require(dense(batch))
                rows += (0..<b.rows).map { b.row($0) }
                got += batch.labelVector ?? []
            }
            #expect(try Matrix(rows) == m)
            #expect(got == labels)
        }
    }

    @Test("a FileHandle (an inherited pipe) through the protobuf reader")
    func fileHandleReader() throws {
        let pipe = Pipe()
        let bytes = try RecordIOProtobufWriter.encode([row([1, 2], label: 0), row([3, 4], label: 1)])
        pipe.fileHandleForWriting.write(Data(bytes))
        try pipe.fileHandleForWriting.close()
        var reader = RecordIOProtobufReader(fileHandle: pipe.fileHandleForReading, name: "/opt/ml/input/data/train_0")
        let batch = try reader.readAll()
        #expect(dense(batch) == (try Matrix<Float>([[1, 2], [3, 4]])))
        #expect(batch.labelVector == [0, 1])
    }

    // MARK: Interoperability with the SageMaker SDK

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: python), "needs the .venv from scripts/setup.sh"))
    func sdkReadsWhatWeWrite() throws {
        struct Tensor: Decodable { var type: String?; var values: [Double]?; var keys: [UInt64]?; var shape: [UInt64]? }
        struct Record: Decodable { var features: [String: Tensor]; var label: [String: Tensor]; var uid: String?; var metadata: String? }

        let m = try Matrix<Float>([[1.5, -2, 0], [0.1, 3e-8, 65504]])
        let csr = try SparseMatrix<Float>(rows: 3, columns: 5, rowOffsets: [0, 2, 2, 3], columnIndices: [0, 4, 2], values: [0.25, -1, 7])
        let response = RecordIOProtobufRecord(
            label: ["score": .dense([0.9]), "predicted_label": .dense([1]), "projection": .dense([0.5, -0.5, 2])],
            uid: "u-1", metadata: "m")
        var writer = RecordIOProtobufWriter()
        try writer.append(dense: m, labels: [0, 1])
        try writer.append(sparse: csr, labels: [2, 3, 4])
        try writer.append(response)
        let records: [Record] = try withTemporaryDirectory { dir in
            let path = dir + "/ours.pbr"
            try writer.write(to: path)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("Fixtures/recordio/read_with_sdk.py").path
            process.arguments = [script, path]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let output = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            return try JSONDecoder().decode([Record].self, from: output)
        }
        try #require(records.count == 6)
        for i in 0..<2 {
            #expect(records[i].features["values"]?.type == "float32")
            #expect(records[i].features["values"]?.values == m.row(i).map { Double($0) })
            #expect(records[i].features["values"]?.keys == [])
            #expect(records[i].label["values"]?.values == [Double(i)])
        }
        for i in 0..<3 {
            let range = csr.rowOffsets[i]..<csr.rowOffsets[i + 1]
            let t = records[2 + i].features["values"]
            #expect(t?.values == csr.values[range].map { Double($0) })
            #expect(t?.keys == csr.columnIndices[range].map { UInt64($0) })
            #expect(t?.shape == [5])
            #expect(records[2 + i].label["values"]?.values == [Double(2 + i)])
        }
        #expect(records[5].features.isEmpty)
        #expect(records[5].label["score"]?.values == [Double(Float(0.9))])
        #expect(records[5].label["predicted_label"]?.values == [1])
        #expect(records[5].label["projection"]?.values == [0.5, -0.5, 2])
        #expect(records[5].uid == "u-1" && records[5].metadata == "m")
    }
}
