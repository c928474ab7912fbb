import ArgumentParser
import Foundation
import MLAlgorithms
import MLContainer
import MLCore

/// `mlc predict`: score files offline exactly as SageMaker batch transform would, through the
/// same request decoding, model and response encoding as the server (docs/cli.md).
public struct PredictCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Score files with a trained model, as SageMaker batch transform does.",
        discussion: """
            Each input file is split into requests of at most --max-payload-mb (at line ends for \
            text/csv and application/jsonlines, at record boundaries for \
            application/x-recordio-protobuf; application/json and application/x-npy files are one \
            request each), scored through the same code as `mlc serve`, and written in order to \
            <output>/<relative path>.out. Memory stays bounded whatever the file size. Exit \
            status: 0 scored, 1 failed (a bad row names the file, the request and the row).
            """)

    @Option(help: ArgumentHelp("The model directory (what training wrote to /opt/ml/model).", valueName: "dir"))
    public var model: String

    @Option(help: ArgumentHelp("A file, or a directory whose files are all scored.", valueName: "path"))
    public var input: String

    @Option(help: ArgumentHelp("Where <name>.out files go (created if needed).", valueName: "dir"))
    public var output: String

    @Option(help: "The request content type (default: from the file extension: .csv, .json, .jsonl, .pbr/.recordio, .npy; for image-classification .jpg/.jpeg, .png, .rec, .npy).")
    public var contentType: String?

    @Option(help: "The response type: application/json, application/jsonlines, text/csv, application/x-recordio-protobuf (default: the algorithm's: application/json, text/csv for xgboost).")
    public var accept: String?

    @Option(help: "The algorithm (default: the model's model.json, xgboost for an xgboost-model file, else MLC_ALGORITHM).")
    public var algorithm: ContainerAlgorithm?

    @Option(help: "The largest request, in MB (SageMaker's MaxPayloadInMB).")
    public var maxPayloadMb = 6

    @Option(help: "Requests scored at once (default: the cores the process may use).")
    public var workers: Int?

    @Flag(help: "Never draw the progress bar (it is drawn only when stderr is a terminal).")
    public var noProgress = false

    public init() {}

    public func validate() throws {
        guard (1...100).contains(maxPayloadMb) else { throw ValidationError("--max-payload-mb must be in [1, 100], got \(maxPayloadMb)") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1, got \(workers)") }
    }

    /// The content type a file's extension implies.
    static func contentType(forExtension ext: String) -> String? {
        switch ext.lowercased() {
        case "csv": "text/csv"
        case "json": "application/json"
        case "jsonl", "jsonlines": "application/jsonlines"
        case "pbr", "recordio", "protobuf", "rec": "application/x-recordio-protobuf"
        case "npy": "application/x-npy"
        case "libsvm", "svm": "text/libsvm"
        default: nil
        }
    }

    /// The content type a file's extension implies for an image-classification model.
    static func imageContentType(forExtension ext: String) -> String? {
        switch ext.lowercased() {
        case "jpg", "jpeg": "image/jpeg"
        case "png": "image/png"
        case "rec": "application/x-recordio"
        case "npy": "application/x-npy"
        default: nil
        }
    }
}

/// Runs a parsed ``PredictCommand``.
struct PredictRun {
    let command: PredictCommand
    let console: Console

    func run() -> Int32 {
        do throws(ContainerError) {
            let algorithm = try resolveAlgorithm()
            let workers = command.workers ?? ComputeContext.defaultThreadCount()
            let handler = try InferenceHandlers.load(algorithm: algorithm, modelDirectory: command.model, workers: workers)
            let files = try inputFiles()
            do {
                try FileManager.default.createDirectory(atPath: command.output, withIntermediateDirectories: true)
            } catch {
                throw .client("cannot create the output directory \(command.output): \(error.localizedDescription)")
            }
            let bar = ProgressBar(console: console, enabled: console.errorIsTerminal && !command.noProgress, epochs: 0)
            defer { bar.clear() }
            let start = DispatchTime.now().uptimeNanoseconds
            var total = BatchTransform.Statistics()
            for (index, file) in files.enumerated() {
                let ext = (file.path as NSString).pathExtension
                let implied = algorithm == ImageClassificationInference.algorithm
                    ? PredictCommand.imageContentType(forExtension: ext) : PredictCommand.contentType(forExtension: ext)
                guard let type = command.contentType ?? implied else {
                    throw .client("\(file.path): cannot tell the content type from the extension; pass --content-type")
                }
                let transform = BatchTransform(handler: handler, contentType: type, accept: command.accept,
                                               maxPayloadBytes: command.maxPayloadMb << 20, workers: workers)
                let target = command.output + "/" + file.relative + ".out"
                let directory = (target as NSString).deletingLastPathComponent
                do {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                } catch {
                    throw .client("cannot create \(directory): \(error.localizedDescription)")
                }
                let label = files.count > 1 ? "file \(index + 1)/\(files.count)" : (file.relative as NSString).lastPathComponent
                let statistics = try transform.run(input: file.path, output: target) { done, size in
                    bar.update(label: label, completed: done >> 20, total: max(size >> 20, 1), unit: "MB")
                }
                bar.clear()
                total.inputBytes += statistics.inputBytes
                total.outputBytes += statistics.outputBytes
                total.requests += statistics.requests
                console.out("\(file.path) → \(target): \(statistics.requests) request(s), \(statistics.inputBytes) bytes in, \(statistics.outputBytes) bytes out")
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let rate = seconds > 0 ? Double(total.inputBytes) / 1e6 / seconds : 0
            console.out("Scored \(files.count) file(s), \(total.requests) request(s) with \(algorithm) in "
                        + String(format: "%.2f s (%.1f MB/s)", seconds, rate))
            return 0
        } catch {
            console.err(error.failureReason)
            return MLC.failure
        }
    }

    /// `--algorithm`, else the model directory's model.json `algorithm` (an `xgboost-model` file,
    /// or k-fold's `xgboost-model-0`, means the trees), else `MLC_ALGORITHM`.
    private func resolveAlgorithm() throws(ContainerError) -> String {
        if let algorithm = command.algorithm { return algorithm.rawValue }
        for name in [BoostedTreesModel.fileName, BoostedTreesModel.fileName + "-0"]
        where FileManager.default.fileExists(atPath: command.model + "/" + name) {
            return XGBoostInference.algorithm
        }
        let path = command.model + "/model.json"
        if let data = FileManager.default.contents(atPath: path),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let name = object["algorithm"] as? String {
            return name
        }
        if let name = ProcessInfo.processInfo.environment["MLC_ALGORITHM"], !name.isEmpty { return name }
        throw .client("cannot tell the model's algorithm: \(path) names none; pass --algorithm")
    }

    /// The input file, or every data file under the input directory with its path relative to it.
    private func inputFiles() throws(ContainerError) -> [(path: String, relative: String)] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: command.input, isDirectory: &isDirectory) else {
            throw .client("the input \(command.input) does not exist")
        }
        guard isDirectory.boolValue else { return [(command.input, (command.input as NSString).lastPathComponent)] }
        let files: [String]
        do {
            files = try ChannelFiles.list(command.input)
        } catch {
            throw .client("\(error)")
        }
        let prefix = command.input.hasSuffix("/") ? command.input : command.input + "/"
        return files.map { ($0, $0.hasPrefix(prefix) ? String($0.dropFirst(prefix.count)) : ($0 as NSString).lastPathComponent) }
    }
}
