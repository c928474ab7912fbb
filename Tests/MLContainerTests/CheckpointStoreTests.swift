import Foundation
import Testing
@testable import MLContainer

@Suite("CheckpointStore")
struct CheckpointStoreTests {
    private func directory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)").path
    }

    private func store(_ dir: String, configuration: [String: String] = ["epochs": "5"]) -> CheckpointStore {
        CheckpointStore(directory: dir, algorithm: "linear-learner", configuration: configuration)
    }

    @Test("the newest intact checkpoint comes back with its position; only the newest two are kept")
    func newestAndKeep() throws {
        let dir = directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = store(dir)
        #expect(try s.newest() == nil)
        for epoch in 1...4 { try s.save(Data("state \(epoch)".utf8), epoch: epoch, batch: 0) }
        try s.save(Data("mid".utf8), epoch: 4, batch: 17)
        let found = try #require(try s.newest())
        #expect(found.epoch == 4 && found.batch == 17 && found.state == Data("mid".utf8))
        #expect(s.ownFiles() == ["linear-learner-epoch-000004-batch-00000000.ckpt", "linear-learner-epoch-000004-batch-00000017.ckpt"])
    }

    @Test("a checkpoint cut short, damaged or not a checkpoint is skipped for the next older one",
          arguments: ["truncate", "flip", "garbage", "empty"])
    func skipsDamaged(_ damage: String) throws {
        let dir = directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = store(dir)
        try s.save(Data("good".utf8), epoch: 1, batch: 0)
        try s.save(Data(repeating: 0x41, count: 100), epoch: 2, batch: 0)
        let path = dir + "/" + s.fileName(epoch: 2, batch: 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        switch damage {
        case "truncate": bytes = bytes.dropLast(10)
        case "flip": bytes[bytes.count - 3] ^= 0x01
        case "garbage": bytes = Data("not a checkpoint\n".utf8)
        default: bytes = Data()
        }
        try bytes.write(to: URL(fileURLWithPath: path))
        var logged: [String] = []
        let found = try #require(try s.newest(log: { logged.append($0) }))
        #expect(found.epoch == 1 && found.state == Data("good".utf8))
        #expect(logged.count == 1 && logged[0].hasPrefix("Skipping checkpoint \(path):"))
    }

    @Test("a checkpoint of another configuration is a ClientError naming what differs")
    func refusesOtherConfiguration() throws {
        let dir = directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try store(dir, configuration: ["epochs": "5", "wd": "0.1"]).save(Data("x".utf8), epoch: 1, batch: 0)
        do {
            _ = try store(dir, configuration: ["epochs": "5", "wd": "0.2"]).newest()
            Issue.record("expected a ClientError")
        } catch {
            guard case .client(let message) = error else { Issue.record("\(error)"); return }
            #expect(message.contains("wd: checkpoint 0.1, this job 0.2"))
            #expect(message.contains("use a new checkpoint location"))
        }
    }

    @Test("Foundation's temporary file left by a kill during a write is removed; other algorithms' files are ignored")
    func leftovers() throws {
        let dir = directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data("half".utf8).write(to: URL(fileURLWithPath: dir + "/.dat.nosync1234.abcdef"))
        try Data("other".utf8).write(to: URL(fileURLWithPath: dir + "/kmeans-epoch-000009-batch-00000000.ckpt"))
        #expect(try store(dir).newest() == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["kmeans-epoch-000009-batch-00000000.ckpt"])
    }

    @Test("an unwritable checkpoint directory is a ClientError naming it")
    func unwritable() throws {
        let s = store("/proc/mlcore-no-such-dir")
        #expect(throws: ContainerError.self) { try s.save(Data("x".utf8), epoch: 1, batch: 0) }
    }

    @Test("CRC-32 matches the standard check value")
    func crc() {
        #expect(CRC32.checksum(Data("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum(Data()) == 0)
    }
}
