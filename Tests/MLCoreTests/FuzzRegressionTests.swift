import Foundation
import Testing
@testable import MLCore

/// Inputs the fuzzer found (Tests/Fixtures/fuzz-regressions, docs/reliability.md "Fuzzing"),
/// each replayed through the parser that trapped on it.
private let regressions = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/fuzz-regressions")

/// The regression input `target/name` as the harness received it.
private func regression(_ target: String, _ name: String) throws -> [UInt8] {
    Array(try Data(contentsOf: regressions.appendingPathComponent("\(target)/\(name)")))
}

@Suite struct FuzzRegressionTests {
    /// csv/blank-lines-label-size-3: byte 0 (0x33) is label_size 3, `,`, two threads, 16 MiB
    /// chunks; the file is two blank lines. The placeholder field count of a chunk without rows
    /// was 1, so the feature count (fields − labels) was −2 and the empty matrix trapped.
    @Test func csvBlankLinesWithLabels() throws {
        let input = try regression("csv", "blank-lines-label-size-3")
        let directory = try TemporaryDirectory()
        let path = directory.url.appendingPathComponent("blank.csv").path
        try Data(input.dropFirst()).write(to: URL(fileURLWithPath: path))
        let options = CSVOptions(labelSize: 3, threads: 2)
        var reader = try CSVReader(path: path, options: options)
        #expect(try reader.nextBatch() == nil)
        let all = try CSVReader.readAll(files: [path], options: options)
        #expect(all.rows == 0)
    }

    /// The same placeholder in `readAll`: a first chunk of blank lines fixed the output's width
    /// before any row was seen, and later rows were written past it.
    @Test func csvReadAllAfterAChunkOfBlankLines() throws {
        let directory = try TemporaryDirectory()
        let text = String(repeating: "\n", count: 5000) + "1,2,3\n4,5,6\n"
        let path = try directory.write("late.csv", text)
        let options = CSVOptions(labelSize: 1, threads: 2, chunkBytes: 4096)
        let all = try CSVReader.readAll(files: [path], options: options)
        #expect(all.features == .dense(try Matrix(rows: 2, columns: 2, elements: [2, 3, 5, 6])))
        #expect(all.labels == (try Matrix(rows: 2, columns: 1, elements: [1, 4])))
        var reader = try CSVReader(path: path, options: options)
        var rows = 0
        while let batch = try reader.nextBatch() { rows += batch.rows }
        #expect(rows == 2)
    }
}
