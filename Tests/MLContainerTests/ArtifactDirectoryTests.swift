import Foundation
import MLCore
import Testing
@testable import MLContainer

@Suite("ArtifactDirectory: a model is written whole or not at all")
struct ArtifactDirectoryTests {
    func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("artifacts-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func write(_ text: String, _ path: String) throws(ArtifactError) {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .io(path: path, reason: error.localizedDescription)
        }
    }

    func listing(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    @Test("every file lands; no staging directory is left")
    func whole() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ArtifactDirectory.writeModel(to: dir) { (staging: String) throws(ArtifactError) in
            try write("tensors", staging + "/model.safetensors")
            try write("json", staging + "/model.json")
        }
        #expect(listing(dir) == ["model.json", "model.safetensors"])
        #expect(try String(contentsOfFile: dir + "/model.json", encoding: .utf8) == "json")
    }

    @Test("a failure after the first file: the directory keeps the previous model, both files; the error names the model directory")
    func failureKeepsThePrevious() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write("old tensors", dir + "/model.safetensors")
        try write("old json", dir + "/model.json")
        do {
            try ArtifactDirectory.writeModel(to: dir) { (staging: String) throws(ArtifactError) in
                try write("new tensors", staging + "/model.safetensors")
                throw .io(path: staging + "/model.json", reason: "No space left on device")
            }
            Issue.record("the failure was not reported")
        } catch {
            #expect(error.description.contains("cannot write the model to \(dir): \(dir)/model.json: No space left on device"), "\(error)")
        }
        #expect(listing(dir) == ["model.json", "model.safetensors"])
        #expect(try String(contentsOfFile: dir + "/model.safetensors", encoding: .utf8) == "old tensors")
    }

    @Test("what an interrupted write leaves (staging directories, Foundation's .dat.nosync files) is removed; the rest stays")
    func interrupted() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/.mlc-staging-123", withIntermediateDirectories: true)
        try write("partial", dir + "/.mlc-staging-123/model.json")
        try write("partial", dir + "/.dat.nosync1a2b.XyZ")
        try write("whole", dir + "/model.json")
        ArtifactDirectory.removeInterruptedWrites(in: dir)
        #expect(listing(dir) == ["model.json"])
        ArtifactDirectory.removeInterruptedWrites(in: dir + "/absent")  // no directory: nothing to do
    }

    @Test("the diagnosis of a writable directory reports the bytes free and is not blamed on the environment")
    func diagnosis() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (text, isEnvironment) = ArtifactDirectory.diagnose(dir + "/not/yet/made")
        #expect(text?.contains("free of") == true, "\(text ?? "nil")")
        #expect(!isEnvironment || text?.hasPrefix("ENOSPC") == true)
    }
}
