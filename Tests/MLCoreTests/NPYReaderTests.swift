import Foundation
import Testing
@testable import MLCore

// MARK: Helpers (file-private: other test files define their own)

private func write(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}


/// An NPY file byte by byte: magic, version, header length (2 bytes for v1, 4 otherwise), the
/// header padded with spaces and `\n` to a multiple of 64 bytes (unless `pad` is false), data.
private func npyFile(major: UInt8 = 1, minor: UInt8 = 0, header: String, pad: Bool = true, data: [UInt8] = []) -> [UInt8] {
    let preamble = major == 1 ? 10 : 12
    var text = Array(header.utf8)
    if pad {
        let total = preamble + text.count + 1
        text += [UInt8](repeating: 0x20, count: (64 - total % 64) % 64) + [0x0A]
    }
    var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, major, minor]
    let n = text.count
    bytes += major == 1 ? [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF)]
        : [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24 & 0xFF)]
    return bytes + text + data
}

private func header(_ descr: String, _ shape: String, fortran: Bool = false) -> String {
    "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
}

private func littleEndianBytes<I: FixedWidthInteger>(_ value: I) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

private func bigEndianBytes<I: FixedWidthInteger>(_ value: I) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
}

/// `value(i) = i * 0.25 - 2`, exact in every dtype the tests use for floats.
private func ramp(_ i: Int) -> Double { Double(i) * 0.25 - 2 }

/// Column (1-based) of `needle` in the header of a v1/v2 file.
private func headerColumn(of needle: String, in header: String, preamble: Int = 10) -> Int? {
    guard let range = header.range(of: needle) else { return nil }
    return preamble + header.utf8.distance(from: header.startIndex, to: range.lowerBound) + 1
}

private func fixture(_ name: String) throws -> String {
    let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
    return root.appendingPathComponent("npy").appendingPathComponent(name).path
}

// MARK: Good input

@Suite("NPYReader")
struct NPYReaderTests {
    @Test("v1.0 float32 written byte by byte")
    func version1Float32() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/a.npy"
            let data = (0..<12).flatMap { littleEndianBytes(Float(ramp($0)).bitPattern) }
            try write(npyFile(header: header("<f4", "(3, 4)"), data: data), to: path)
            let reader = try NPYReader<Float>(path: path)
            #expect(reader.shape == [3, 4])
            #expect(reader.header.majorVersion == 1)
            #expect(reader.header.dtype == .float32)
            #expect(reader.header.dataOffset == 128)  // 10-byte preamble + 118-byte padded header
            let m = try reader.readAll()
            #expect(m.rows == 3 && m.columns == 4)
            #expect(m.elements == (0..<12).map { Float(ramp($0)) })
        }
    }

    @Test("v2.0 float64, keys in another order, double quotes, odd spacing, no trailing comma")
    func version2Float64() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/b.npy"
            let data = (0..<6).flatMap { littleEndianBytes(ramp($0).bitPattern) }
            let text = "{ \"shape\" :( 2 ,3 ) ,\"fortran_order\":False,\t\"descr\":\"<f8\"}"
            try write(npyFile(major: 2, header: text, data: data), to: path)
            let asDouble = try NPYReader<Double>.readMatrix(path: path)
            #expect(asDouble.rows == 2 && asDouble.columns == 3)
            #expect(asDouble.elements == (0..<6).map(ramp))
            let asFloat = try NPYReader<Float>.readMatrix(path: path)
            #expect(asFloat.elements == (0..<6).map { Float(ramp($0)) })
            #expect(try NPYReader<Float>(path: path).header.majorVersion == 2)
        }
    }

    @Test("v3.0 header is UTF-8; unpadded header without newline is fine")
    func version3() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/c.npy"
            let data = (0..<3).flatMap { littleEndianBytes(Int32($0 - 1)) }
            try write(npyFile(major: 3, header: header("<i4", "(3,)"), pad: false, data: data), to: path)
            let reader = try NPYReader<Float>(path: path)
            #expect(reader.header.majorVersion == 3)
            #expect(try reader.readAll().elements == [-1, 0, 1])
        }
    }

    /// (descr, encoder of value i) for every dtype and byte order.
    static let dtypeCases: [(String, @Sendable (Int) -> [UInt8], @Sendable (Int) -> Double)] = [
        ("<f4", { littleEndianBytes(Float(ramp($0)).bitPattern) }, ramp),
        ("=f4", { littleEndianBytes(Float(ramp($0)).bitPattern) }, ramp),
        ("|f4", { littleEndianBytes(Float(ramp($0)).bitPattern) }, ramp),
        (">f4", { bigEndianBytes(Float(ramp($0)).bitPattern) }, ramp),
        ("<f8", { littleEndianBytes(ramp($0).bitPattern) }, ramp),
        (">f8", { bigEndianBytes(ramp($0).bitPattern) }, ramp),
        ("<i4", { littleEndianBytes(Int32($0 * 1000 - 7000)) }, { Double($0 * 1000 - 7000) }),
        (">i4", { bigEndianBytes(Int32($0 * 1000 - 7000)) }, { Double($0 * 1000 - 7000) }),
        ("<i8", { littleEndianBytes(Int64($0) << 20 - 3) }, { Double(Int64($0) << 20 - 3) }),
        (">i8", { bigEndianBytes(Int64($0) << 20 - 3) }, { Double(Int64($0) << 20 - 3) }),
        ("|u1", { [UInt8($0 * 17)] }, { Double($0 * 17) }),
        ("<u1", { [UInt8($0 * 17)] }, { Double($0 * 17) }),
    ]

    @Test("every dtype and byte order, as Float and as Double", arguments: 0..<NPYReaderTests.dtypeCases.count)
    func everyDtype(_ index: Int) throws {
        let (descr, encode, expected) = Self.dtypeCases[index]
        try withTemporaryDirectory { dir in
            let path = dir + "/d.npy"
            try write(npyFile(header: header(descr, "(5, 3)"), data: (0..<15).flatMap(encode)), to: path)
            let f = try NPYReader<Float>.readMatrix(path: path)
            #expect(f.rows == 5 && f.columns == 3, "\(descr)")
            #expect(f.elements == (0..<15).map { Float(expected($0)) }, "\(descr)")
            let d = try NPYReader<Double>.readMatrix(path: path)
            #expect(d.elements == (0..<15).map(expected), "\(descr)")
        }
    }

    @Test("shapes: scalar, 1-D, N-D keeps its shape, zero rows, Python 2 longs")
    func shapes() throws {
        try withTemporaryDirectory { dir in
            let scalar = dir + "/s.npy"
            try write(npyFile(header: header("<f8", "()"), data: littleEndianBytes(2.5.bitPattern)), to: scalar)
            let s = try NPYReader<Float>(path: scalar)
            #expect(s.shape == [] && s.rows == 1 && s.columns == 1)
            #expect(try s.readAll().elements == [2.5])

            let vector = dir + "/v.npy"
            try write(npyFile(header: header("<i8", "(5L,)"), data: (0..<5).flatMap { littleEndianBytes(Int64($0)) }), to: vector)
            let v = try NPYReader<Float>(path: vector)
            #expect(v.shape == [5] && v.rows == 5 && v.columns == 1)
            #expect(try NPYReader<Float>.readVector(path: vector) == [0, 1, 2, 3, 4])

            let images = dir + "/i.npy"  // [N, C, H, W] = [2, 3, 2, 2]
            try write(npyFile(header: header("|u1", "(2, 3, 2, 2)"), data: (0..<24).map { UInt8($0) }), to: images)
            let i = try NPYReader<Float>(path: images)
            #expect(i.shape == [2, 3, 2, 2] && i.rows == 2 && i.columns == 12)
            let m = try i.readAll()
            #expect(m.row(1) == (12..<24).map { Float($0) })

            let empty = dir + "/e.npy"
            try write(npyFile(header: header("<f4", "(0, 7)")), to: empty)
            var e = try NPYReader<Float>(path: empty)
            #expect(e.rows == 0 && e.columns == 7)
            #expect(try e.nextMatrix() == nil)
            let all = try e.readAll()
            #expect(all.rows == 0 && all.columns == 7)

            let noColumns = dir + "/z.npy"
            try write(npyFile(header: header("<f4", "(3, 0)")), to: noColumns)
            let z = try NPYReader<Float>.readMatrix(path: noColumns)
            #expect(z.rows == 3 && z.columns == 0)
        }
    }

    @Test("Fortran order is accepted when the layout equals C order")
    func fortranOrderOneDimension() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/f.npy"
            let data = (0..<4).flatMap { littleEndianBytes(Float($0).bitPattern) }
            try write(npyFile(header: header("<f4", "(4, 1)", fortran: true), data: data), to: path)
            #expect(try NPYReader<Float>.readVector(path: path) == [0, 1, 2, 3])
        }
    }

    @Test("bytes after the data are ignored, as numpy.load ignores them")
    func trailingBytes() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/t.npy"
            let data: [UInt8] = (0..<2).flatMap { littleEndianBytes(Float($0).bitPattern) } + [1, 2, 3]
            try write(npyFile(header: header("<f4", "(2,)"), data: data), to: path)
            #expect(try NPYReader<Float>.readVector(path: path) == [0, 1])
        }
    }

    @Test("batches of every size concatenate to readAll", arguments: ["<f4", "<f8", ">f4", "<i4"])
    func batchesEqualReadAll(descr: String) throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/b.npy"
            let rows = 10, columns = 3
            let data: [UInt8] = (0..<rows * columns).flatMap { i -> [UInt8] in
                switch descr {
                case "<f4": littleEndianBytes(Float(ramp(i)).bitPattern)
                case "<f8": littleEndianBytes(ramp(i).bitPattern)
                case ">f4": bigEndianBytes(Float(ramp(i)).bitPattern)
                default: littleEndianBytes(Int32(i))
                }
            }
            try write(npyFile(header: header(descr, "(\(rows), \(columns))"), data: data), to: path)
            let all = try NPYReader<Float>.readMatrix(path: path)
            for batchRows in 1...(rows + 2) {
                var reader = try NPYReader<Float>(path: path, batchRows: batchRows)
                var collected: [Float] = []
                var sizes: [Int] = []
                while let m = try reader.nextMatrix() {
                    #expect(m.columns == columns)
                    sizes.append(m.rows)
                    collected += m.elements
                }
                #expect(collected == all.elements, "batchRows \(batchRows)")
                #expect(sizes.allSatisfy { $0 <= batchRows } && sizes.dropLast().allSatisfy { $0 == batchRows })
                #expect(try reader.nextMatrix() == nil)
                reader.rewind()
                #expect(try reader.nextMatrix()?.row(0) == all.row(0))
            }
        }
    }

    @Test("DataSource conformance streams dense batches without labels")
    func dataSource() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/ds.npy"
            try write(npyFile(header: header("<i4", "(5, 2)"), data: (0..<10).flatMap { littleEndianBytes(Int32($0)) }), to: path)
            var source: some DataSource = try NPYReader<Float>(path: path, batchRows: 2)
            var rows = 0
            var values: [Float] = []
            while let batch = try source.nextBatch() {
                guard case .dense(let m) = batch.features else {
                    Issue.record("expected dense features")
                    return
                }
                #expect(batch.labels == nil && batch.weights == nil)
                rows += batch.rows
                values += m.elements
            }
            #expect(rows == 5)
            #expect(values == (0..<10).map { Float($0) })
        }
    }

    @Test("a conversion that spans several staging buffers (> 1 MiB) and row ranges")
    func largeConversion() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/large.npy"
            let rows = 700, columns = 500  // 350,000 int32 = 1.4 MB
            var data = [UInt8]()
            data.reserveCapacity(rows * columns * 4)
            for i in 0..<rows * columns { data += littleEndianBytes(Int32(i % 100_003 - 50_000)) }
            try write(npyFile(header: header("<i4", "(\(rows), \(columns))"), data: data), to: path)
            let reader = try NPYReader<Double>(path: path, batchRows: 333)
            let m = try reader.readAll()
            var mismatches = 0
            m.withUnsafeBufferPointer { buffer in
                for i in 0..<rows * columns where buffer[i] != Double(i % 100_003 - 50_000) { mismatches += 1 }
            }
            #expect(mismatches == 0)
            let middle = try reader.readRows(300..<302)
            #expect(middle.row(1) == m.row(301))
        }
    }

    @Test("decode an in-memory image (application/x-npy) with the same checks")
    func inMemory() throws {
        let bytes = npyFile(major: 2, header: header(">i4", "(2, 1, 2)"), data: (0..<4).flatMap { bigEndianBytes(Int32($0 * 3)) })
        let (matrix, shape) = try NPYReader<Float>.decode(bytes)
        #expect(shape == [2, 1, 2] && matrix.rows == 2 && matrix.columns == 2)
        #expect(matrix.elements == [0, 3, 6, 9])
        #expect(dataError { () throws(DataError) in try NPYReader<Float>.decode(Array(bytes.dropLast()), name: "body") }
                == .truncated(DataLocation(file: "body"), reason: "shape (2, 1, 2) of int32 needs 16 bytes of data after the header but the file holds 15"))
        guard case .truncated? = dataError({ () throws(DataError) in try NPYReader<Float>.decode([]) }) else {
            Issue.record("expected .truncated for no bytes")
            return
        }
    }

    @Test("readVector rejects a matrix")
    func readVectorRejectsMatrix() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/m.npy"
            try write(npyFile(header: header("<f4", "(3, 2)"), data: [UInt8](repeating: 0, count: 24)), to: path)
            guard case .unsupported(let at, let reason)? = dataError({ () throws(DataError) in try NPYReader<Float>.readVector(path: path) }) else {
                Issue.record("expected .unsupported")
                return
            }
            #expect(at.file == path)
            #expect(reason.contains("(3, 2)"))
        }
    }

    // MARK: numpy fixtures (Fixtures/make_npy_fixtures.py)

    @Test("fixtures written by numpy", arguments: ["f4_3x4.npy", "f4_3x4_v2.npy", "f4_3x4_v3.npy", "be_f4_3x4.npy"])
    func numpyRamp(name: String) throws {
        let reader = try NPYReader<Float>(path: try fixture(name))
        #expect(reader.shape == [3, 4])
        #expect(try reader.readAll().elements == (0..<12).map { Float(ramp($0)) })
    }

    @Test("fixtures written by numpy: other dtypes and shapes")
    func numpyOthers() throws {
        let f8 = try NPYReader<Double>(path: try fixture("f8_5.npy"))
        #expect(f8.shape == [5] && f8.header.dtype == .float64)
        #expect(try NPYReader<Double>.readVector(path: try fixture("f8_5.npy")) == (0..<5).map(ramp))

        let i4 = try NPYReader<Float>(path: try fixture("i4_2x2x3.npy"))
        #expect(i4.shape == [2, 2, 3] && i4.rows == 2 && i4.columns == 6)
        #expect(try i4.readAll().elements == (0..<12).map { Float($0 - 6) })

        let i8 = try NPYReader<Double>.readMatrix(path: try fixture("i8_4x2.npy"))
        #expect(i8.rows == 4 && i8.columns == 2)
        let expectedI8: [Double] = (0..<8).map { (i: Int) -> Double in Double((i - 4) * 1_000_000_007) }
        #expect(i8.elements == expectedI8)

        let u1 = try NPYReader<Float>(path: try fixture("u1_2x1x2x3.npy"))
        #expect(u1.shape == [2, 1, 2, 3] && u1.columns == 6)
        #expect(try u1.readAll().elements == (0..<12).map { Float($0 * 20) })

        let scalar = try NPYReader<Float>(path: try fixture("f4_scalar.npy"))
        #expect(scalar.shape == [])
        #expect(try scalar.readAll().elements == [3.5])

        var empty = try NPYReader<Float>(path: try fixture("f8_0x3.npy"))
        #expect(empty.rows == 0 && empty.columns == 3)
        #expect(try empty.nextMatrix() == nil)

        #expect(try NPYReader<Double>.readVector(path: try fixture("be_i8_3.npy")) == [-1, 2, Double(1 << 40)])
    }

    @Test("fixtures written by numpy that are rejected")
    func numpyRejected() throws {
        let fortran = try fixture("f8_fortran_3x2.npy")
        guard case .unsupported(let at, let reason)? = dataError({ () throws(DataError) in try NPYReader<Float>(path: fortran) }) else {
            Issue.record("expected .unsupported for Fortran order")
            return
        }
        #expect(at.file == fortran && at.line == 1)
        #expect(reason.contains("np.ascontiguousarray"))

        let half = try fixture("f2_2.npy")
        guard case .unsupported(_, let halfReason)? = dataError({ () throws(DataError) in try NPYReader<Float>(path: half) }) else {
            Issue.record("expected .unsupported for float16")
            return
        }
        #expect(halfReason.contains("'<f2'") && halfReason.contains("astype"))
    }
}

// MARK: Bad input

@Suite("NPYReader errors")
struct NPYReaderErrorTests {
    /// Writes `bytes` and returns the error opening and reading all of it throws.
    private func error(_ bytes: [UInt8]) throws -> (DataError?, String) {
        try withTemporaryDirectory { dir in
            let path = dir + "/bad.npy"
            try write(bytes, to: path)
            return (dataError({ () throws(DataError) in try NPYReader<Float>(path: path).readAll() }), path)
        }
    }

    @Test("empty and short files are truncated")
    func shortFiles() throws {
        for bytes: [UInt8] in [[], [0x93, 0x4E, 0x55], [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1], [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 5],
                               [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 2, 0, 5, 0, 0]] {
            let (e, path) = try error(bytes)
            guard case .truncated(let at, _)? = e else {
                Issue.record("\(bytes.count) bytes: expected .truncated, got \(String(describing: e))")
                continue
            }
            #expect(at.file == path)
        }
    }

    @Test("not an NPY file")
    func badMagic() throws {
        let (e, path) = try error(Array("label,f1,f2\n1,2,3\n".utf8))
        guard case .syntax(let at, let text, let expected)? = e else {
            Issue.record("expected .syntax, got \(String(describing: e))")
            return
        }
        #expect(at == DataLocation(file: path, line: 1, column: 1))
        #expect(text == "label,")
        #expect(expected.contains("magic"))
    }

    @Test("unsupported versions", arguments: [(UInt8(4), UInt8(0)), (1, 1), (0, 0)])
    func versions(major: UInt8, minor: UInt8) throws {
        let (e, _) = try error(npyFile(major: major == 0 ? 1 : major, minor: minor, header: header("<f4", "(1,)"), data: [0, 0, 0, 0])
            .enumerated().map { $0.offset == 6 ? major : $0.element })
        guard case .unsupported(_, let reason)? = e else {
            Issue.record("expected .unsupported, got \(String(describing: e))")
            return
        }
        #expect(reason.contains("version \(major).\(minor)"))
    }

    @Test("header length beyond the file is truncated; an absurd one is unsupported")
    func headerLength() throws {
        var bytes = npyFile(header: header("<f4", "(1,)"), data: [0, 0, 0, 0])
        bytes[8] = 0xFF; bytes[9] = 0xF0  // 61695 > file size, under the limit
        let (e1, _) = try error(bytes)
        guard case .truncated? = e1 else {
            Issue.record("expected .truncated, got \(String(describing: e1))")
            return
        }
        var v2 = npyFile(major: 2, header: header("<f4", "(1,)"), data: [0, 0, 0, 0])
        v2[8] = 0xFF; v2[9] = 0xFF; v2[10] = 0xFF; v2[11] = 0xFF
        let (e2, _) = try error(v2)
        guard case .unsupported(let at, let reason)? = e2 else {
            Issue.record("expected .unsupported, got \(String(describing: e2))")
            return
        }
        #expect(at.column == 9)
        #expect(reason.contains("4294967295"))
    }

    /// Header texts that are not the dict numpy writes, and the text the column must point at.
    static let syntaxCases: [(header: String, at: String)] = [
        ("[1, 2]", "[1, 2]"),
        ("{'descr': '<f4', 'fortran_order': False}", "{'descr'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "{'descr'"),
        ("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", "'descr': '<f4', 'fortran"),
        ("{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", "fortran_order'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", "x"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,) 'x': 1}", "'x'"),
        ("{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", "'fortran_order'"),
        ("{'descr': '<f4', 'fortran_order': false, 'shape': (1,)}", "false"),
        ("{'descr': 4, 'fortran_order': False, 'shape': (1,)}", "4,"),
        ("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", "0,"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", "[1]"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}", "1.5"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (3, -1)}", "(3, -1)"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': ('3',)}", "('3',)"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,,)}", ",)}"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': ((((((((((((((((((((1,),),),),),),),),),),),),),),),),),),),)}", "((((1,)"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", ""),  // "" = the end of the header
    ]

    @Test("malformed header dicts are .syntax at the right column", arguments: 0..<NPYReaderErrorTests.syntaxCases.count)
    func malformedHeader(_ index: Int) throws {
        let (text, at) = Self.syntaxCases[index]
        let bytes = npyFile(header: text, data: [0, 0, 0, 0])
        let (e, path) = try error(bytes)
        guard case .syntax(let location, _, _)? = e else {
            Issue.record("\(text): expected .syntax, got \(String(describing: e))")
            return
        }
        #expect(location.file == path && location.line == 1)
        let column = at.isEmpty ? bytes.count - 4 + 1 : headerColumn(of: at, in: text)
        #expect(location.column == column, "\(text): \(String(describing: e))")
    }

    @Test("dimensions that overflow are .unsupported", arguments: [
        "(99999999999999999999,)", "(4294967296, 4294967296)", "(2305843009213693952,)", "(0, 4294967296, 4294967296)",
    ])
    func overflow(shape: String) throws {
        let text = header("<f8", shape)
        let (e, _) = try error(npyFile(header: text, data: [0, 0, 0, 0]))
        guard case .unsupported(let at, let reason)? = e else {
            Issue.record("\(shape): expected .unsupported, got \(String(describing: e))")
            return
        }
        #expect(at.column == headerColumn(of: shape, in: text))
        #expect(reason.contains("shape"))
    }

    @Test("data shorter than the shape says is .truncated")
    func shortData() throws {
        let (e, path) = try error(npyFile(header: header("<f4", "(3, 4)"), data: [UInt8](repeating: 0, count: 47)))
        guard case .truncated(let at, let reason)? = e else {
            Issue.record("expected .truncated, got \(String(describing: e))")
            return
        }
        #expect(at == DataLocation(file: path))
        #expect(reason.contains("48") && reason.contains("47"))
        // A huge claimed shape is refused before anything is allocated.
        let (big, _) = try error(npyFile(header: header("<f8", "(1000000000, 1000000)"), data: [0]))
        guard case .truncated? = big else {
            Issue.record("expected .truncated, got \(String(describing: big))")
            return
        }
    }

    @Test("Fortran order is .unsupported with the fix")
    func fortranOrder() throws {
        let text = header("<f4", "(2, 3)", fortran: true)
        let (e, _) = try error(npyFile(header: text, data: [UInt8](repeating: 0, count: 24)))
        guard case .unsupported(let at, let reason)? = e else {
            Issue.record("expected .unsupported, got \(String(describing: e))")
            return
        }
        #expect(at.column == headerColumn(of: "True", in: text))
        #expect(reason.contains("np.ascontiguousarray"))
        #expect(e?.description.contains("Fortran") == true)
    }

    @Test("unsupported dtypes", arguments: ["<f2", "<c8", "|b1", "<i2", "<u4", "|O", "<U5", "f", ""])
    func dtypes(descr: String) throws {
        let text = header(descr, "(1,)")
        let (e, _) = try error(npyFile(header: text, data: [UInt8](repeating: 0, count: 16)))
        guard case .unsupported(let at, let reason)? = e else {
            Issue.record("\(descr): expected .unsupported, got \(String(describing: e))")
            return
        }
        #expect(at.column == headerColumn(of: "'\(descr)'", in: text))
        #expect(reason.contains("'\(descr)'"))
    }

    @Test("structured dtypes are .unsupported")
    func structured() throws {
        let (e, _) = try error(npyFile(header: "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }", data: [UInt8](repeating: 0, count: 8)))
        guard case .unsupported(_, let reason)? = e else {
            Issue.record("expected .unsupported, got \(String(describing: e))")
            return
        }
        #expect(reason.contains("structured"))
    }

    @Test("missing files and directories are .io")
    func io() throws {
        try withTemporaryDirectory { dir in
            guard case .io(let path, _)? = dataError({ () throws(DataError) in try NPYReader<Float>(path: dir + "/missing.npy") }) else {
                Issue.record("expected .io")
                return
            }
            #expect(path == dir + "/missing.npy")
            guard case .io? = dataError({ () throws(DataError) in try NPYReader<Float>(path: dir) }) else {
                Issue.record("expected .io for a directory")
                return
            }
        }
    }

    @Test("descriptions say file, line and column")
    func descriptions() throws {
        let text = header("<f4", "(3, -1)")
        let (e, path) = try error(npyFile(header: text, data: []))
        let column = try #require(headerColumn(of: "(3, -1)", in: text))
        #expect(e?.description.hasPrefix("\(path):1:\(column): '(3, -1)' is malformed") == true, "\(String(describing: e))")
    }
}
