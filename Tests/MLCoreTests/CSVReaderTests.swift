import Foundation
import Testing
@testable import MLCore

private func dense(_ batch: Batch) throws -> Matrix<Float> {
    guard case .dense(let m) = batch.features else { throw DataError.io(path: "", reason: "expected dense") }
    return m
}

/// The naive oracle: split on commas and newlines, parse each cell with strtof.
private func naiveParse(_ text: String, labelSize: Int) -> (labels: [[Float]], features: [[Float]]) {
    var labels: [[Float]] = []
    var features: [[Float]] = []
    // Split bytes, not Characters: Swift treats "\r\n" as one grapheme.
    for rawLine in Array(text.utf8).split(separator: 0x0A, omittingEmptySubsequences: false) {
        var bytes = ArraySlice(rawLine)
        if bytes.last == 0x0D { bytes = bytes.dropLast() }
        let line = String(decoding: bytes, as: UTF8.self)
        if line.isEmpty { continue }
        let cells = line.split(separator: ",", omittingEmptySubsequences: false).map { cell -> Float in
            let t = cell.trimmingCharacters(in: .whitespaces)
            return t.isEmpty ? .nan : t.withCString { strtof($0, nil) }
        }
        labels.append(Array(cells.prefix(labelSize)))
        features.append(Array(cells.dropFirst(labelSize)))
    }
    return (labels, features)
}

private func sameBits(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
}

@Suite struct CSVReaderTests {
    @Test func readsLabelsAndFeatures() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("train.csv", "1,0.5,-2\n0,+3,1e-2\r\n\n1,nan,\n")
        let batch = try CSVReader.readAll(files: [path], options: CSVOptions(labelSize: 1, threads: 1))
        let x = try dense(batch)
        #expect(x.rows == 3 && x.columns == 2)
        #expect(batch.labelVector == [1, 0, 1])
        #expect(x.row(0) == [0.5, -2])
        #expect(x.row(1) == [3, 0.01])
        #expect(x[2, 0].isNaN && x[2, 1].isNaN)
    }

    @Test func labelSizeZeroAndTwo() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("a.csv", "1,2,3\n4,5,6\n")
        let unlabelled = try CSVReader.readAll(files: [path], options: CSVOptions(labelSize: 0, threads: 1))
        #expect(unlabelled.labels == nil)
        #expect(try dense(unlabelled).elements == [1, 2, 3, 4, 5, 6])
        let two = try CSVReader.readAll(files: [path], options: CSVOptions(labelSize: 2, threads: 1))
        #expect(two.labels?.elements == [1, 2, 4, 5])
        #expect(try dense(two).elements == [3, 6])
    }

    @Test func noTrailingNewlineAndCRLF() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("a.csv", "1,2\r\n3,4")
        let batch = try CSVReader.readAll(files: [path], options: CSVOptions(threads: 1))
        #expect(try dense(batch).elements == [2, 4])
        #expect(batch.labelVector == [1, 3])
    }

    @Test func headerRowIsNamed() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("h.csv", "label,f1,f2\n1,2,3\n")
        #expect(throws: DataError.headerRow(DataLocation(file: path, line: 1, column: 1), text: "label")) {
            _ = try CSVReader.readAll(files: [path], options: CSVOptions(threads: 1))
        }
    }

    @Test func nonNumericCellIsNamed() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("bad.csv", "1,2,3\n\n0,4,False\n")
        #expect(throws: DataError.notANumber(DataLocation(file: path, line: 3, column: 3), text: "False")) {
            _ = try CSVReader.readAll(files: [path], options: CSVOptions(threads: 1))
        }
    }

    @Test func raggedRowsAreNamed() throws {
        let dir = try TemporaryDirectory()
        let short = try dir.write("short.csv", "1,2,3\n1,2\n")
        #expect(throws: DataError.raggedRow(DataLocation(file: short, line: 2), expected: 3, got: 2)) {
            _ = try CSVReader.readAll(files: [short], options: CSVOptions(threads: 1))
        }
        let long = try dir.write("long.csv", "1,2\n1,2,3,4\n")
        #expect(throws: DataError.raggedRow(DataLocation(file: long, line: 2), expected: 2, got: 4)) {
            _ = try CSVReader.readAll(files: [long], options: CSVOptions(threads: 1))
        }
    }

    @Test func tooFewColumnsForTheLabel() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("one.csv", "1\n2\n")
        #expect(throws: DataError.missingLabel(DataLocation(file: path, line: 1), labelSize: 1, fields: 1)) {
            _ = try CSVReader.readAll(files: [path], options: CSVOptions(labelSize: 1, threads: 1))
        }
    }

    @Test func missingFileAndDirectoryAreIOErrors() throws {
        let dir = try TemporaryDirectory()
        #expect(throws: DataError.self) { _ = try CSVReader.readAll(files: [dir.url.path + "/nope.csv"]) }
        #expect(throws: DataError.self) { _ = try CSVReader.readAll(files: [dir.url.path]) }
    }

    @Test func emptyFileGivesNoRows() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("empty.csv", "")
        var reader = try CSVReader(files: [path])
        #expect(try reader.nextBatch() == nil)
        #expect(try CSVReader.readAll(files: [path]).rows == 0)
    }

    /// Errors report the line within its own file when a channel has several files and chunks.
    @Test func lineNumbersSurviveChunksAndFiles() throws {
        let dir = try TemporaryDirectory()
        let good = try dir.write("a.csv", String(repeating: "1,2,3\n", count: 5000))
        var text = String(repeating: "1,2,3\n", count: 4000)
        text += "1,2,x\n"
        let bad = try dir.write("b.csv", text)
        #expect(throws: DataError.notANumber(DataLocation(file: bad, line: 4001, column: 3), text: "x")) {
            _ = try CSVReader.readAll(files: [good, bad], options: CSVOptions(threads: 3, chunkBytes: 4096))
        }
    }

    /// Random files parsed with small chunks and several threads equal the naive oracle, and every
    /// thread count and chunk size gives the same bits (batches concatenated = readAll).
    @Test(arguments: [1, 2, 3, 8])
    func matchesNaiveOracle(threads: Int) throws {
        let dir = try TemporaryDirectory()
        var state: UInt64 = 1234
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11
        }
        var text = ""
        for r in 0..<3000 {
            var cells: [String] = [String(r % 2)]
            for _ in 0..<7 {
                switch next() % 10 {
                case 0: cells.append("")
                case 1: cells.append(String(Double(next() % 100_000) * 1e-7))
                case 2: cells.append("-inf")
                default: cells.append(Float(bitPattern: UInt32(truncatingIfNeeded: next()) & 0x3FFF_FFFF).description)
                }
            }
            text += cells.joined(separator: ",") + (r % 7 == 0 ? "\r\n" : "\n")
            if r % 500 == 0 { text += "\n" }
        }
        let path = try dir.write("r.csv", text)
        let oracle = naiveParse(text, labelSize: 1)
        let all = try CSVReader.readAll(files: [path], options: CSVOptions(threads: threads, chunkBytes: 8192))
        let x = try dense(all)
        #expect(x.rows == oracle.features.count)
        let featuresMatch = sameBits(x.elements, oracle.features.flatMap { $0 })
        let labelsMatch = sameBits(all.labels?.elements ?? [], oracle.labels.flatMap { $0 })
        #expect(featuresMatch)
        #expect(labelsMatch)

        var reader = try CSVReader(files: [path], options: CSVOptions(threads: threads, chunkBytes: 4096))
        var streamed: [Float] = []
        var batches = 0
        while let batch = try reader.nextBatch() {
            streamed += try dense(batch).elements
            batches += 1
        }
        #expect(batches > 1)
        let streamedMatches = sameBits(streamed, x.elements)
        #expect(streamedMatches)
    }

    /// A line longer than the chunk grows the buffer instead of failing.
    @Test func lineLongerThanChunk() throws {
        let dir = try TemporaryDirectory()
        let wide = (0..<3000).map { String($0) }.joined(separator: ",")
        let path = try dir.write("wide.csv", wide + "\n" + wide + "\n")
        let batch = try CSVReader.readAll(files: [path], options: CSVOptions(labelSize: 0, threads: 2, chunkBytes: 4096))
        let x = try dense(batch)
        #expect(x.rows == 2 && x.columns == 3000)
        #expect(x[1, 2999] == 2999)
    }

    /// A FIFO (SageMaker Pipe mode) cannot be mapped: it is read with read() and gives the same rows.
    @Test func readsFromAFIFO() throws {
        let dir = try TemporaryDirectory()
        let fifo = dir.url.appendingPathComponent("train_0").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let text = String(repeating: "1,2.5,-3\n0,4,5e-1\n", count: 3000)
        let writer = Thread {
            if let handle = FileHandle(forWritingAtPath: fifo) {
                handle.write(Data(text.utf8))
                try? handle.close()
            }
        }
        writer.start()
        let batch = try CSVReader.readAll(files: [fifo], options: CSVOptions(threads: 2, chunkBytes: 4096))
        #expect(batch.rows == 6000)
        #expect(try dense(batch).row(5999) == [4, 0.5])
        #expect(batch.labelVector?.prefix(2) == [1, 0])
    }
}
