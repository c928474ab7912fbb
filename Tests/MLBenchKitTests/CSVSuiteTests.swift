import Foundation
import Logging
import MLCore
import Testing
@testable import MLBenchKit

/// The csv suite on a small file: it writes the workload, checks it, times it, and refuses a
/// file whose contents are not what the generator wrote. Nothing here asserts a speed.
@Suite struct CSVSuiteTests {
    private func context(dataDirectory: URL) -> BenchmarkContext {
        let options = BenchmarkOptions(threads: 2, repeat: 1, warmup: 0, dataDirectory: dataDirectory)
        let peers = PeerRunner(peersDirectory: nil, python: "/nonexistent", binaryDirectory: dataDirectory, threads: 2)
        return BenchmarkContext(suite: "csv", options: options, machine: MachineInfo.detect(), peers: peers,
                                logger: Logger(label: "test"))
    }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mlbench-csv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func smallRunMeasuresAndReports() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let suite = CSVSuite(rows: 3000, features: 7)
        let results = try suite.run(context(dataDirectory: dir))
        #expect(results.count == 1)
        let result = try #require(results.first)
        #expect(result.impl == "mlcore" && result.suite == "csv" && result.workload == "read_3kx8")
        #expect((result.metrics["mb_per_s"] ?? 0) > 0)
        #expect(result.runs == 1)
    }

    @Test func theFileIsDeterministic() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.csv").path, b = dir.appendingPathComponent("b.csv").path
        try CSVWorkload.ensure(path: a, rows: 2500, features: 5, seed: 9, threads: 1)
        try CSVWorkload.ensure(path: b, rows: 2500, features: 5, seed: 9, threads: 3)
        #expect(FileManager.default.contentsEqual(atPath: a, andPath: b), "the thread count must not change the bytes")
        // What the reader parses is exactly what the generator says it wrote.
        let batch = try CSVReader.readAll(files: [a], options: CSVOptions(threads: 2))
        guard case .dense(let x) = batch.features else { Issue.record("dense expected"); return }
        for r in [0, 1234, 2499] {
            let (label, values) = CSVWorkload.row(r, features: 5, seed: 9)
            #expect(batch.labelVector?[r] == label)
            #expect(x.row(r).map(\.bitPattern) == values.map(\.bitPattern))
        }
    }

    @Test func aCorruptedFileFailsTheCheck() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let suite = CSVSuite(rows: 2500, features: 4)
        let file = dir.appendingPathComponent(CSVWorkload.fileName(rows: 2500, features: 4, seed: 42))
        try CSVWorkload.ensure(path: file.path, rows: 2500, features: 4, seed: 42, threads: 1)
        // Flip the first row's label: same shape, still numbers, wrong values.
        var bytes = try Data(contentsOf: file)
        bytes[0] = bytes[0] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        try bytes.write(to: file)
        #expect(throws: BenchmarkError.self) { _ = try suite.run(context(dataDirectory: dir)) }
    }
}
