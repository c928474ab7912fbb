import Foundation
import Testing
@testable import MLCore

// MARK: Helpers (file-private: other test files define their own)

/// Writes `text` to a new file in a temporary directory and calls `body` with its path.
private func withFile<R>(_ text: String, _ body: (String) throws -> R) throws -> R {
    try withTemporaryDirectory { dir in
        let path = dir + "/data.libsvm"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return try body(path)
    }
}


/// A row of a sparse batch as (zero-based index, value) pairs.
private struct SparseRow: Equatable, CustomStringConvertible {
    var entries: [(Int, Float)]
    static func == (a: SparseRow, b: SparseRow) -> Bool {
        a.entries.count == b.entries.count
            && zip(a.entries, b.entries).allSatisfy { $0.0 == $1.0 && ($0.1 == $1.1 || ($0.1.isNaN && $1.1.isNaN)) }
    }
    var description: String { entries.map { "\($0.0):\($0.1)" }.joined(separator: " ") }
}

private func sparse(_ batch: Batch) -> SparseMatrix<Float>? {
    guard case .sparse(let s) = batch.features else { return nil }
    return s
}

private func rows(_ s: SparseMatrix<Float>) -> [SparseRow] {
    (0..<s.rows).map { i in
        SparseRow(entries: (s.rowOffsets[i]..<s.rowOffsets[i + 1]).map { (Int(s.columnIndices[$0]), s.values[$0]) })
    }
}

private func row(_ pairs: (Int, Float)...) -> SparseRow { SparseRow(entries: pairs) }

/// Whether two label arrays are equal, NaN equal to NaN.
private func sameFloats(_ a: [Float]?, _ b: [Float]?) -> Bool {
    guard let a, let b else { return a == nil && b == nil }
    return a.count == b.count && zip(a, b).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
}

// MARK: Good input

@Suite("LibSVMReader")
struct LibSVMReaderTests {
    @Test("one-based file: labels, features, width = largest index")
    func oneBased() throws {
        try withFile("1 1:0.5 3:-2\n0 2:1e3\n-1\n") { path in
            let batch = try LibSVMReader.readAll(path: path, indexBase: .one)
            let s = try #require(sparse(batch))
            #expect(s.rows == 3 && s.columns == 3)
            #expect(rows(s) == [row((0, 0.5), (2, -2)), row((1, 1000)), row()])
            #expect(batch.labelVector == [1, 0, -1])
            #expect(batch.weights == nil)
        }
    }

    @Test("zero-based file")
    func zeroBased() throws {
        try withFile("1 0:1 5:2\n0 3:4\n") { path in
            let batch = try LibSVMReader.readAll(path: path, indexBase: .zero)
            let s = try #require(sparse(batch))
            #expect(s.columns == 6)
            #expect(rows(s) == [row((0, 1), (5, 2)), row((3, 4))])
        }
    }

    @Test("weights, qid, comments, CRLF, tabs, blank lines, byte-order mark, no final newline")
    func syntaxVariety() throws {
        let text = "\u{FEFF}# a comment line\r\n"
            + "1:2.5 qid:7 1:1 2:2 # trailing comment\r\n"
            + "\r\n"
            + "   \t\n"
            + "0\t3:3\t\t4:4   \n"
            + "2:0.5 qid:8 #only label, weight and qid\n"
            + "3 1:9"
        try withFile(text) { path in
            let batch = try LibSVMReader.readAll(path: path, indexBase: .one)
            let s = try #require(sparse(batch))
            #expect(rows(s) == [row((0, 1), (1, 2)), row((2, 3), (3, 4)), row(), row((0, 9))])
            #expect(batch.labelVector == [1, 0, 2, 3])
            #expect(batch.weights == [2.5, 1, 0.5, 1])
            #expect(s.columns == 4)
        }
    }

    @Test("the full float grammar for labels, weights and values")
    func floatGrammar() throws {
        let text = "+1.5:1e-3 1:-2E+2 2:.5 3:5. 4:nan 5:-inf 6:+Infinity 7:0x1p-3 8:1e-50 9:1e50 10:-0\n"
            + "NaN 1:3.4028235e38\n"
            + "-inf:+2 1:1.17549435e-38\n"
        try withFile(text) { path in
            let batch = try LibSVMReader.readAll(path: path, indexBase: .one)
            let s = try #require(sparse(batch))
            let expected: [SparseRow] = [
                row((0, -200), (1, 0.5), (2, 5), (3, .nan), (4, -.infinity), (5, .infinity), (6, 0.125),
                    (7, 0), (8, .infinity), (9, -0.0)),
                row((0, .greatestFiniteMagnitude)),
                row((0, .leastNormalMagnitude)),
            ]
            #expect(rows(s) == expected)
            #expect(sameFloats(batch.labelVector, [1.5, .nan, -.infinity]))
            #expect(batch.weights == [0.001, 1, 2])
        }
    }

    @Test("indexBase .auto follows XGBoost: one-based unless an index 0 appears")
    func autoBase() throws {
        try withFile("1 1:1 4:4\n0 2:2\n") { path in
            let reader = try LibSVMReader(path: path, indexBase: .auto)
            #expect(reader.resolvedIndexBase == 1)
            let s = try #require(sparse(try LibSVMReader.readAll(path: path, indexBase: .auto)))
            #expect(rows(s) == [row((0, 1), (3, 4)), row((1, 2))])
        }
        try withFile("1 1:1 4:4\n0 0:2\n") { path in
            let reader = try LibSVMReader(path: path, indexBase: .auto)
            #expect(reader.resolvedIndexBase == 0)
            let s = try #require(sparse(try LibSVMReader.readAll(path: path, indexBase: .auto)))
            #expect(rows(s) == [row((1, 1), (4, 4)), row((0, 2))])
        }
    }

    @Test("featureDimension fixes the width; the last index fits exactly")
    func featureDimension() throws {
        try withFile("1 2:1\n0 10:1\n") { path in
            var reader = try LibSVMReader(path: path, indexBase: .one, featureDimension: 10, batchRows: 1)
            let first = try #require(try reader.nextBatch())
            let second = try #require(try reader.nextBatch())
            #expect(first.features.columns == 10 && second.features.columns == 10)
            #expect(rows(try #require(sparse(second))) == [row((9, 1))])
            #expect(try reader.nextBatch() == nil)
        }
    }

    @Test("an empty or comment-only file has no batches")
    func emptyFile() throws {
        for text in ["", "\n\n", "# nothing\n"] {
            try withFile(text) { path in
                var reader = try LibSVMReader(path: path, indexBase: .one)
                #expect(try reader.nextBatch() == nil)
                let all = try LibSVMReader.readAll(path: path, indexBase: .one, featureDimension: 4)
                #expect(all.rows == 0 && all.features.columns == 4)
            }
        }
    }

    /// A deterministic file of `lines` rows with up to 6 features out of 40, some weighted.
    private func generated(lines: Int) -> String {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33)
        }
        var text = ""
        for i in 0..<lines {
            text += "\(next() % 3)"
            if i % 4 == 1 { text += ":\(Double(next() % 8) / 4)" }
            var index = 0
            for _ in 0..<(next() % 7) {
                index += 1 + next() % 6
                text += " \(index):\(Double(next() % 200 - 100) / 8)"
            }
            text += i % 5 == 0 ? "\n\n" : "\n"
        }
        return text
    }

    @Test("batches of every size concatenate to readAll; widths never shrink")
    func batchesEqualReadAll() throws {
        try withFile(generated(lines: 23)) { path in
            let all = try LibSVMReader.readAll(path: path, indexBase: .one)
            let allRows = rows(try #require(sparse(all)))
            for batchRows in 1...25 {
                var reader = try LibSVMReader(path: path, indexBase: .one, batchRows: batchRows)
                var collected: [SparseRow] = []
                var labels: [Float] = []
                var weights: [Float] = []
                var width = 0
                while let batch = try reader.nextBatch() {
                    let s = try #require(sparse(batch))
                    #expect(s.columns >= width)
                    width = s.columns
                    #expect(batch.rows <= batchRows)
                    collected += rows(s)
                    labels += batch.labelVector ?? []
                    weights += batch.weights ?? Array(repeating: 1, count: batch.rows)
                }
                #expect(collected == allRows, "batchRows \(batchRows)")
                #expect(labels == all.labelVector)
                #expect(weights == all.weights)
                #expect(width == all.features.columns)
            }
        }
    }

    @Test("lines across read-buffer boundaries, and a line longer than the buffer")
    func largeFile() throws {
        let longLine = "7 " + (1...40_000).map { "\($0):\($0 % 10)" }.joined(separator: " ") + "\n"
        let text = generated(lines: 6_000) + longLine + generated(lines: 3_000)
        try withFile(text) { path in
            let all = try LibSVMReader.readAll(path: path, indexBase: .one)
            #expect(all.rows == 9_001)
            let s = try #require(sparse(all))
            #expect(s.columns == 40_000)
            #expect(s.rowOffsets[6_001] - s.rowOffsets[6_000] == 40_000)
            var reader = try LibSVMReader(path: path, indexBase: .one, batchRows: 1_000)
            var collected: [SparseRow] = []
            while let batch = try reader.nextBatch() { collected += rows(try #require(sparse(batch))) }
            #expect(collected == rows(s))
        }
    }

    @Test("DataSource conformance")
    func dataSource() throws {
        try withFile("1 1:1\n0 2:2\n1 3:3\n") { path in
            var source: some DataSource = try LibSVMReader(path: path, indexBase: .one, batchRows: 2)
            var count = 0
            while let batch = try source.nextBatch() { count += batch.rows }
            #expect(count == 3)
        }
    }
}

// MARK: Bad input

@Suite("LibSVMReader errors")
struct LibSVMReaderErrorTests {
    /// (file text, expected case name, line, column, offending text)
    static let cases: [(text: String, kind: String, line: Int, column: Int, token: String)] = [
        ("abc 1:2\n", "notANumber", 1, 1, "abc"),
        ("1:x 1:2\n", "notANumber", 1, 3, "x"),
        (":1 1:2\n", "notANumber", 1, 1, ""),
        ("1:2:3 1:2\n", "syntax", 1, 1, "1:2:3"),
        ("1 3 4:5\n", "syntax", 1, 3, "3"),
        ("1 a:2\n", "syntax", 1, 3, "a"),
        ("1 -1:2\n", "syntax", 1, 3, "-1"),
        ("1 +1:2\n", "syntax", 1, 3, "+1"),
        ("1 :2\n", "syntax", 1, 3, ""),
        ("1 2:abc\n", "notANumber", 1, 5, "abc"),
        ("1 2:\n", "notANumber", 1, 5, ""),
        ("1 2:1e\n", "notANumber", 1, 5, "1e"),
        ("1 2:1.5f\n", "notANumber", 1, 5, "1.5f"),
        ("1 2:1,5\n", "notANumber", 1, 5, "1,5"),
        ("1 3:1 2:1\n", "syntax", 1, 7, "2"),
        ("1 2:1 2:1\n", "syntax", 1, 7, "2"),
        ("1 0:1\n", "syntax", 1, 3, "0"),
        ("1 1:1 qid:3\n", "syntax", 1, 7, "qid:3"),
        ("1 qid:x 1:1\n", "syntax", 1, 7, "x"),
        ("1 1:1\n\r\n# c\n1 2:1\t\t3:x\r\n", "notANumber", 4, 10, "x"),
        ("\u{FEFF}1 2:y\n", "notANumber", 1, 5, "y"),
        ("1 11:1\n", "syntax", 1, 3, "11"),
        ("1 2147483649:1\n", "unsupported", 1, 3, "2147483649"),
        ("1 99999999999999999999999:1\n", "unsupported", 1, 3, "99999999999999999999999"),
    ]

    @Test("every error names file, line, column and text", arguments: 0..<LibSVMReaderErrorTests.cases.count)
    func errors(_ index: Int) throws {
        let c = Self.cases[index]
        try withFile(c.text) { path in
            let e = dataError { () throws(DataError) in
                try LibSVMReader.readAll(path: path, indexBase: .one, featureDimension: 10)
            }
            let at: DataLocation
            let text: String
            switch (c.kind, e) {
            case ("notANumber", .notANumber(let l, let t)?): (at, text) = (l, t)
            case ("syntax", .syntax(let l, let t, _)?): (at, text) = (l, t)
            case ("unsupported", .unsupported(let l, let reason)?): (at, text) = (l, reason)
            default:
                Issue.record("\(c.text.debugDescription): expected .\(c.kind), got \(String(describing: e))")
                return
            }
            #expect(at == DataLocation(file: path, line: c.line, column: c.column), "\(c.text.debugDescription)")
            if c.kind == "unsupported" {
                #expect(text.contains(c.token))
            } else {
                #expect(text == c.token, "\(c.text.debugDescription)")
            }
            #expect(e?.description.hasPrefix("\(path):\(c.line):\(c.column): ") == true)
        }
    }

    @Test("messages say how to fix the index problems")
    func messages() throws {
        try withFile("1 0:1\n") { path in
            let e = dataError { () throws(DataError) in try LibSVMReader.readAll(path: path, indexBase: .one) }
            #expect(e?.description.contains("indexBase .zero") == true)
        }
        try withFile("1 3:1 2:1\n") { path in
            let e = dataError { () throws(DataError) in try LibSVMReader.readAll(path: path, indexBase: .zero) }
            #expect(e?.description.contains("strictly increasing") == true)
            #expect(e?.description.contains("previous index was 3") == true)
        }
        try withFile("1 5:1\n") { path in
            let e = dataError { () throws(DataError) in try LibSVMReader.readAll(path: path, indexBase: .zero, featureDimension: 5) }
            guard case .syntax(let at, "5", let expected)? = e else {
                Issue.record("expected .syntax, got \(String(describing: e))")
                return
            }
            #expect(at.column == 3)
            #expect(expected.contains("feature dimension 5"))
        }
    }

    @Test("an error in a later batch comes after the good batches, with the file's line number")
    func errorInLaterBatch() throws {
        try withFile("1 1:1\n1 1:1\n\n1 1:1\n1 1:bad\n") { path in
            var reader = try LibSVMReader(path: path, indexBase: .one, batchRows: 2)
            #expect(try reader.nextBatch()?.rows == 2)
            let e = dataError { () throws(DataError) in try reader.nextBatch() }
            #expect(e == .notANumber(DataLocation(file: path, line: 5, column: 5), text: "bad"))
        }
    }

    @Test("long offending text is truncated to 64 bytes")
    func longText() throws {
        let junk = String(repeating: "z", count: 200)
        try withFile("1 1:\(junk)\n") { path in
            let e = dataError { () throws(DataError) in try LibSVMReader.readAll(path: path, indexBase: .one) }
            #expect(e == .notANumber(DataLocation(file: path, line: 1, column: 5), text: String(repeating: "z", count: 64)))
        }
    }

    @Test("missing file is .io; a negative featureDimension is .unsupported")
    func openErrors() throws {
        try withTemporaryDirectory { dir in
            let missing = dir + "/none.libsvm"
            guard case .io(let path, _)? = dataError({ () throws(DataError) in try LibSVMReader(path: missing, indexBase: .one) }) else {
                Issue.record("expected .io")
                return
            }
            #expect(path == missing)
        }
        try withFile("1 1:1\n") { path in
            guard case .unsupported? = dataError({ () throws(DataError) in
                try LibSVMReader(path: path, indexBase: .one, featureDimension: -1)
            }) else {
                Issue.record("expected .unsupported")
                return
            }
        }
    }
}
