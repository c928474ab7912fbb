import Foundation
import MLCore
import MLTestSupport
import Synchronization
@testable import MLCommandLine

/// The repository root (the tests train on the bundled `data/` sets).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// `data/<set>/<channel>.csv`.
func bundled(_ set: String, _ channel: String) -> String {
    repositoryRoot.appendingPathComponent("data/\(set)/\(channel).csv").path
}

/// What one `mlc` run printed, and its exit status.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String

    var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
}

/// Runs `mlc arguments` in process, capturing stdout and stderr.
func mlc(_ arguments: [String], cancellation: CancellationFlag = CancellationFlag(), errorIsTerminal: Bool = false) -> Run {
    let out = TextBuffer(), err = TextBuffer()
    let console = Console(standardOutput: { out.append($0) }, standardError: { err.append($0) }, errorIsTerminal: errorIsTerminal)
    let status = MLC.run(arguments: arguments, console: console, cancellation: cancellation)
    return Run(status: status, stdout: out.text, stderr: err.text)
}

/// Text written from any thread.
final class TextBuffer: Sendable {
    private let storage = Mutex("")

    func append(_ text: String) { storage.withLock { $0 += text } }

    var text: String { storage.withLock { $0 } }
}

/// A fresh directory under the system's temporary directory, removed by ``remove()``.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("mlc-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The first capture of `regex` in each line that matches it.
func captures(_ lines: [String], _ regex: Regex<(Substring, Substring)>) -> [String] {
    lines.compactMap { line in line.wholeMatch(of: regex).map { String($0.1) } }
}

let defaultTrainingHyperparameters = #"{"predictor_type": "binary_classifier", "mini_batch_size": "32", "epochs": "8", "_tuning_objective_metric": "validation:objective_loss", "sagemaker_job_name": "x"}"#
let defaultTrainingChannels = #"{"train": {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}, "validation": {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}}"#

/// An `/opt/ml` tree laid out as SageMaker lays it out, with the bundled breast-cancer data as
/// the `train` and `validation` channels (as `part-0.csv` in each channel directory).
func trainingTree(hyperparameters: String = defaultTrainingHyperparameters, channels: String = defaultTrainingChannels,
                  dataSet: String = "breast-cancer") throws -> TemporaryDirectory {
    let root = try TemporaryDirectory()
    let fm = FileManager.default
    try fm.createDirectory(atPath: root.path + "/input/config", withIntermediateDirectories: true)
    for channel in ["train", "validation"] {
        try fm.createDirectory(atPath: root.path + "/input/data/\(channel)", withIntermediateDirectories: true)
        try fm.copyItem(atPath: bundled(dataSet, channel), toPath: root.path + "/input/data/\(channel)/part-0.csv")
    }
    try Data(hyperparameters.utf8).write(to: URL(fileURLWithPath: root.path + "/input/config/hyperparameters.json"))
    try Data(channels.utf8).write(to: URL(fileURLWithPath: root.path + "/input/config/inputdataconfig.json"))
    try Data(#"{"current_host": "algo-1", "hosts": ["algo-1"]}"#.utf8)
        .write(to: URL(fileURLWithPath: root.path + "/input/config/resourceconfig.json"))
    return root
}

/// `output/failure` of a tree, if written.
func failure(_ root: TemporaryDirectory) -> String? {
    try? String(contentsOfFile: root.path + "/output/failure", encoding: .utf8)
}

/// The bytes of a file, or empty when it cannot be read.
func contents(_ path: String) -> Data {
    (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()
}


/// realpath(3): also resolves symlinked directories (/lib → usr/lib).
func realPath(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
}

/// A product built beside the running tests: `swift test` builds every product into the
/// directory that holds the test runner (`.build/release`, `.build/<triple>/release`, any
/// --scratch-path), so look there and a few levels up (a bundle sits below it on Darwin).
func builtProduct(_ name: String) throws -> String {
    try builtExecutable(name)
}


/// `mlc train --root <root> --workers 2` as `MLC_ALGORITHM=<algorithm>` (as the image sets it),
/// started in the background with its output in `<root>/stdout.log` and `<root>/stderr.log`.
func startTraining(_ root: TemporaryDirectory, algorithm: String) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try builtProduct("mlc"))
    p.arguments = ["train", "--root", root.path, "--workers", "2"]
    var environment = ProcessInfo.processInfo.environment
    environment["MLC_ALGORITHM"] = algorithm
    p.environment = environment
    _ = FileManager.default.createFile(atPath: root.path + "/stdout.log", contents: nil)
    _ = FileManager.default.createFile(atPath: root.path + "/stderr.log", contents: nil)
    p.standardOutput = FileHandle(forWritingAtPath: root.path + "/stdout.log")
    p.standardError = FileHandle(forWritingAtPath: root.path + "/stderr.log")
    try p.run()
    return p
}

/// A log `startTraining` wrote.
func trainingLog(_ root: TemporaryDirectory, _ name: String) -> String {
    String(decoding: contents(root.path + "/" + name), as: UTF8.self)
}

/// Waits (at most `seconds`, and while `process` runs) until a checkpoint after `epoch` epochs
/// exists in `<root>/checkpoints`; true if it appeared.
func waitForCheckpointFile(_ root: TemporaryDirectory, epoch: Int, while process: Process, seconds: Double) -> Bool {
    let marker = "epoch-" + String(repeating: "0", count: 6 - String(epoch).count) + String(epoch)
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline && process.isRunning {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: root.path + "/checkpoints")) ?? []
        if files.contains(where: { $0.contains(marker) && $0.hasSuffix(".ckpt") }) { return true }
        usleep(500)
    }
    return false
}
