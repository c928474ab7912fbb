import Foundation
import MLAlgorithms
import MLContainer
import MLCore
import Testing
@testable import MLCommandLine

@Suite("mlc predict")
struct PredictCommandTests {
    /// Trains the bundled breast-cancer job and returns its tree (model in `<root>/model`).
    private func trained() throws -> TemporaryDirectory {
        let root = try trainingTree()
        let run = mlc(["train", "--algorithm", "linear-learner", "--root", root.path, "--workers", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        return root
    }

    @Test("scores a directory of CSV files into <name>.out with the library's numbers; the algorithm comes from model.json")
    func scoresDirectory() throws {
        let root = try trained()
        defer { root.remove() }
        let input = root.path + "/batch", output = root.path + "/predictions"
        try FileManager.default.createDirectory(atPath: input + "/nested", withIntermediateDirectories: true)
        // The validation rows without their label column, as a transform job's input.
        let batch = try CSVReader.readAll(files: [bundled("breast-cancer", "validation")], options: CSVOptions())
        guard case .dense(let x) = batch.features else { Issue.record("dense"); return }
        let lines = (0..<x.rows).map { i in x.row(i).map { "\($0)" }.joined(separator: ",") }
        try Data((lines[..<50].joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: input + "/a.csv"))
        try Data((lines[50...].joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: input + "/nested/b.csv"))
        let run = mlc(["predict", "--model", root.path + "/model", "--input", input, "--output", output, "--accept", "application/jsonlines"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.lines.last?.hasPrefix("Scored 2 file(s)") == true, "\(run.stdout)")
        let produced = try String(contentsOfFile: output + "/a.csv.out", encoding: .utf8) + String(contentsOfFile: output + "/nested/b.csv.out", encoding: .utf8)
        let model = try LinearModel.load(from: root.path + "/model")
        // Each file is one request here, so the library predicts the same row blocks (BLAS may
        // round a row differently in a block of another height).
        let blocks = [x.rows(0..<50), x.rows(50..<x.rows)]
        let expected = try blocks.flatMap { try model.predict($0) }
            .map { "{\"score\": \($0.score[0]), \"predicted_label\": \(Int($0.predictedLabel ?? -1))}\n" }.joined()
        #expect(produced == expected)
    }

    @Test("the SDK's RecordIO file scores as its CSV twin does")
    func recordIO() throws {
        let root = try trained()
        defer { root.remove() }
        let pbr = repositoryRoot.appendingPathComponent("data/breast-cancer/validation.pbr").path
        let run = mlc(["predict", "--model", root.path + "/model", "--input", pbr, "--output", root.path + "/out", "--accept", "text/csv"])
        #expect(run.status == 0, "\(run.stderr)")
        let produced = try String(contentsOfFile: root.path + "/out/validation.pbr.out", encoding: .utf8)
        #expect(produced.split(separator: "\n").count == 114)
        #expect(produced.split(separator: "\n").allSatisfy { $0.split(separator: ",").count == 2 })
    }

    @Test("mistakes are one ClientError line and status 1", arguments: [
        (["--input", "/nonexistent.csv"], "does not exist"),
        (["--input", "DATA", "--content-type", "image/png"], "HTTP 415"),
        (["--input", "DATA", "--accept", "text/html"], "HTTP 406"),
        (["--input", "LABELLED"], "has 31 columns but the model takes 30"),
    ])
    func mistakes(arguments: [String], message: String) throws {
        let root = try trained()
        defer { root.remove() }
        let data = root.path + "/x.csv"
        try Data("1,2,3\n".utf8).write(to: URL(fileURLWithPath: data))
        let resolved = arguments.map { $0 == "DATA" ? data : $0 == "LABELLED" ? bundled("breast-cancer", "validation") : $0 }
        let run = mlc(["predict", "--model", root.path + "/model", "--output", root.path + "/out"] + resolved)
        #expect(run.status == 1)
        #expect(run.stderr.hasPrefix("ClientError: ") && run.stderr.contains(message), "\(run.stderr)")
    }
}
