import Foundation
import MLAlgorithms
import MLCore

/// The `serve` suite's model and requests: 20,000 × 100 rows from ``LinearWorkload`` (the
/// `linear` suite's generator, 90% train), a binary linear learner trained on them with default
/// hyperparameters and saved as `<root>/model` for `mlc serve`, CSV request bodies made from the
/// validation rows (Swift's shortest round-trip Float text), and the model's own predictions for
/// them, to check servers against before timing.
final class ServeSetup {
    let directory: String
    let root: String
    let validation: Matrix<Float>
    let expected: [LinearModel.Prediction]

    init(context: BenchmarkContext) throws {
        let features = ServeSuite.features, rows = ServeSuite.rows, seed = ServeSuite.seed
        directory = try context.dataFile(LinearWorkload.directoryName(rows: rows, features: features, seed: seed)).path
        try LinearWorkload.ensure(directory: directory, rows: rows, features: features, seed: seed, threads: context.threads)
        let train = try LinearDataset(channel: "train", features: try NPYReader<Float>.readMatrix(path: directory + "/train_x.npy"),
                                      labels: try NPYReader<Float>.readVector(path: directory + "/train_y.npy"))
        validation = try NPYReader<Float>.readMatrix(path: directory + "/validation_x.npy")
        let hyperparameters = try LinearLearnerHyperparameters(strings: ["predictor_type": "binary_classifier", "num_models": "1"])
        let model = try LinearLearnerTrainer(hyperparameters: hyperparameters, workers: context.threads, seed: seed).fit(train: train).model
        expected = try model.predict(validation)
        root = FileManager.default.temporaryDirectory.appendingPathComponent("mlbench-serve-\(getpid())-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root + "/model", withIntermediateDirectories: true)
        try model.save(to: root + "/model")
    }

    func removeScratch() { try? FileManager.default.removeItem(atPath: root) }

    /// Rows `range` of the validation set as CSV (no label column), one row per line.
    func csv(_ range: Range<Int>) -> [UInt8] {
        var text = ""
        for i in range {
            text += validation.row(i).map { "\($0)" }.joined(separator: ",")
            text += "\n"
        }
        return Array(text.utf8)
    }

    static let oneRowCount = 64

    /// One-row requests, cycling through the first 64 validation rows.
    func oneRowRequests(port: UInt16) -> [HTTPRequestBytes] {
        (0..<Self.oneRowCount).map { invocation(csv($0..<($0 + 1)), port: port) }
    }

    func batchRequest(port: UInt16, rows: Int) -> HTTPRequestBytes {
        invocation(csv(0..<min(rows, validation.rows)), port: port)
    }

    func invocation(_ body: [UInt8], port: UInt16) -> HTTPRequestBytes {
        .post(path: "/invocations", host: "127.0.0.1", port: port, contentType: "text/csv", body: body)
    }

    /// Predictions in a response body, or why it is not SageMaker's JSON.
    static func predictions(_ body: [UInt8]) -> [(score: Double, label: Double)]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let list = object["predictions"] as? [[String: Any]]
        else { return nil }
        var out: [(Double, Double)] = []
        for p in list {
            guard let s = (p["score"] as? NSNumber)?.doubleValue, let l = (p["predicted_label"] as? NSNumber)?.doubleValue else { return nil }
            out.append((s, l))
        }
        return out
    }

    /// Our server must give the model's own predictions: 16 one-row requests and one 1,000-row request.
    func checkOurs(port: UInt16, workload: String) throws {
        for (range, label) in [(0..<16, "one-row"), (0..<min(1000, validation.rows), "multi-row")] {
            let requests = label == "one-row" ? range.map { csv($0..<($0 + 1)) } : [csv(range)]
            for (k, body) in requests.enumerated() {
                let rows = label == "one-row" ? (range.lowerBound + k)..<(range.lowerBound + k + 1) : range
                let got = try answer(port: port, body: body, workload: workload)
                guard got.count == rows.count else {
                    throw BenchmarkError.wrongResult(workload: workload, detail: "\(got.count) predictions for \(rows.count) rows")
                }
                for (j, i) in rows.enumerated() {
                    let want = expected[i]
                    guard abs(got[j].score - Double(want.score[0])) <= 1e-4, got[j].label == Double(want.predictedLabel ?? -1) else {
                        throw BenchmarkError.wrongResult(
                            workload: workload,
                            detail: "row \(i): served score \(got[j].score) label \(got[j].label), the model gives \(want.score[0]) label \(want.predictedLabel ?? -1)")
                    }
                }
            }
        }
    }

    /// The peer's answers must have the right shape (scores in [0, 1], labels 0/1); returns the
    /// share of 1,000 rows on which its label agrees with our model's (a different fit, so not 1).
    func checkPeer(port: UInt16, workload: String) throws -> Double {
        let one = try answer(port: port, body: csv(0..<1), workload: workload)
        let n = min(1000, validation.rows)
        let many = try answer(port: port, body: csv(0..<n), workload: workload)
        guard one.count == 1, many.count == n else {
            throw BenchmarkError.wrongResult(workload: workload, detail: "peer gave \(one.count) and \(many.count) predictions for 1 and \(n) rows")
        }
        guard many.allSatisfy({ (0...1).contains($0.score) && ($0.label == 0 || $0.label == 1) }) else {
            throw BenchmarkError.wrongResult(workload: workload, detail: "peer scores outside [0, 1] or labels not 0/1")
        }
        let agree = zip(many, expected).filter { $0.0.label == Double($0.1.predictedLabel ?? -1) }.count
        return Double(agree) / Double(n)
    }

    private func answer(port: UInt16, body: [UInt8], workload: String) throws -> [(score: Double, label: Double)] {
        switch HTTPExchange.send(invocation(body, port: port), port: port, timeout: 30) {
        case let .failure(error):
            throw BenchmarkError.wrongResult(workload: workload, detail: "POST /invocations: \(error)")
        case let .success(r):
            guard r.status == 200 else {
                throw BenchmarkError.wrongResult(workload: workload, detail: "POST /invocations answered \(r.status): \(String(decoding: r.body.prefix(200), as: UTF8.self))")
            }
            guard let p = Self.predictions(r.body) else {
                throw BenchmarkError.wrongResult(workload: workload, detail: "not SageMaker's predictions JSON: \(String(decoding: r.body.prefix(200), as: UTF8.self))")
            }
            return p
        }
    }

    /// `<directory of this executable>/<name>` (mlbench and mlc are built side by side).
    static func siblingExecutable(_ name: String) -> String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// The server's peak memory: the sum of `VmHWM` over the processes of its process group
    /// (gunicorn's master and workers; mlc alone), MiB.
    static func groupPeakRSSMegabytes(processGroup: pid_t) -> Double {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return .nan }
        var total = 0.0
        for entry in entries where entry.allSatisfy(\.isNumber) {
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")")
            else { continue }
            // Fields after "(comm)": state, ppid, pgrp, …
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, Int32(fields[2]) == processGroup,
                  let status = try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                  let kb = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
            else { continue }
            total += kb / 1024
        }
        return total > 0 ? total : .nan
    }
}
