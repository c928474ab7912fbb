import Foundation
import MLAlgorithms
import MLCore

/// `mlbench serve`: the inference server on loopback, one-row and 1,000-row CSV requests to a
/// 100-feature binary linear learner, against the same model served the usual way (Flask +
/// gunicorn with 2 sync workers + scikit-learn `predict_proba`, as SageMaker's scikit-learn
/// container does). Three runs per server, each bounded in time (``ServeSettings``):
///
/// - `open_<R>rps_1row`: the open-loop generator offers R requests/s (default 2,000) and reports
///   latency from each request's intended send time (p50…max); the goal is p99 < 1 ms.
/// - `closed_<C>conn_1row`: C connections (default 64) as fast as responses come back: peak
///   requests/s; the goal is ≥ 5× the peer's.
/// - `closed_<C>conn_<N>rows`: N-row payloads (default 1,000): rows/s.
///
/// Every server's answers are checked before it is timed (ours against the model in process,
/// score within 1e-4 and the same label; the peer's for shape), and the generator checks the
/// status of every response and the body of a sample. Servers always stop (SIGTERM, then
/// SIGKILL to the process group), whatever happens.
public struct ServeSuite: BenchmarkSuite {
    public let name = "serve"
    public let summary = "inference server, 100-feature linear learner, one-row and 1,000-row CSV on loopback (open and closed loop) vs Flask + gunicorn + scikit-learn"
    public var settings: ServeSettings

    public init(settings: ServeSettings = .fromEnvironment()) {
        self.settings = settings
    }

    static let features = 100
    static let rows = 20_000
    static let seed: UInt64 = 42
    static let peerName = "flask-gunicorn-sklearn"

    var openWorkload: String { "open_\(Int(settings.rate))rps_1row" }
    var closedWorkload: String { "closed_\(settings.closedConnections)conn_1row" }
    var batchWorkload: String { "closed_\(settings.batchConnections)conn_\(settings.batchRows)rows" }

    public func keyMetric(for result: BenchmarkResult) -> String? {
        if result.workload.hasPrefix("open_") { return "p99_ms" }
        if result.workload == batchWorkload { return "rows_per_s" }
        return "requests_per_s"
    }

    public func notes(for results: [BenchmarkResult]) -> [String] {
        results.filter { $0.impl == "mlcore" }.map { r in
            let verdict = r.metrics["goal_met"] == 1 ? "met" : "NOT met"
            let errors = Int(r.metrics["errors"] ?? 0)
            switch r.workload {
            case openWorkload:
                return "goal p99 < 1 ms at \(Int(settings.rate)) requests/s offered, zero errors: \(verdict) (p99 \(Format.metric(r.metrics["p99_ms"] ?? .nan)) ms, \(errors) errors)"
            case closedWorkload:
                guard let ratio = r.metrics["peer_ratio"] else {
                    return "goal peak ≥ 5× the peer's requests/s: not judged without --peers (\(errors) errors)"
                }
                return "goal peak ≥ 5× the peer's requests/s, zero errors: \(verdict) (\(Format.metric(ratio))×, \(errors) errors)"
            default:
                return "\(r.workload): zero errors: \(verdict)"
            }
        }
    }

    public func run(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        let setup = try ServeSetup(context: context)
        defer { setup.removeScratch() }
        var results: [BenchmarkResult] = []

        if !settings.skipMLCore {
            let mlc = settings.mlcPath ?? ServeSetup.siblingExecutable("mlc")
            let port = try freeLoopbackPort()
            let server = try ServerProcess(
                name: "mlc serve", executable: mlc,
                arguments: ["serve", "--algorithm", "linear-learner", "--root", setup.root, "--port", String(port)],
                logPath: setup.root + "/mlc-serve.log")
            defer { server.stop() }
            try HTTPExchange.waitUntilReady(port: port, server: server, timeout: 30)
            try setup.checkOurs(port: port, workload: openWorkload)
            context.logger.info("mlc serve ready on port \(port); measuring")
            results += try measure(port: port, impl: "mlcore", version: context.version, threads: context.threads,
                                   server: server, setup: setup, context: context)
            server.stop()
        }

        if context.options.peers {
            results += context.runPeer(Self.peerName) { () throws(PeerError) in
                do {
                    return try runPeer(setup: setup, context: context)
                } catch let error as PeerError {
                    throw error
                } catch {
                    throw PeerError.failed(peer: "serve/serve_peer.py", status: "could not be measured", output: "\(error)")
                }
            }
        }
        addGoals(&results)
        return results
    }

    private func runPeer(setup: ServeSetup, context: BenchmarkContext) throws -> [BenchmarkResult] {
        let script = try context.peers.locate("serve/serve_peer.py")
        guard FileManager.default.isExecutableFile(atPath: context.peers.python) else {
            throw PeerError.interpreterMissing(path: context.peers.python)
        }
        let port = try freeLoopbackPort()
        let server = try ServerProcess(
            name: Self.peerName, executable: context.peers.python,
            arguments: [script.path, "--train-x", setup.directory + "/train_x.npy", "--train-y", setup.directory + "/train_y.npy",
                        "--port", String(port), "--workers", "2"],
            logPath: setup.root + "/peer.log")
        defer { server.stop() }
        try HTTPExchange.waitUntilReady(port: port, server: server, timeout: 120)
        let version = try readyVersion(server)
        let agreement = try setup.checkPeer(port: port, workload: openWorkload)
        context.logger.info("peer ready on port \(port) (\(version)); measuring")
        var results = try measure(port: port, impl: Self.peerName, version: version, threads: 2, server: server, setup: setup, context: context)
        for i in results.indices { results[i].metrics["label_agreement_with_mlcore"] = agreement }
        return results
    }

    /// The version in the launcher's ready line (it prints it just after its own /ping succeeds).
    private func readyVersion(_ server: ServerProcess) throws -> String {
        let deadline = MonotonicClock.now() + 10
        while MonotonicClock.now() < deadline {
            let log = (try? String(contentsOfFile: server.logPath, encoding: .utf8)) ?? ""
            for line in log.split(separator: "\n") where line.hasPrefix("{\"ready\"") {
                if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                   let version = object["version"] as? String {
                    return version
                }
            }
            usleep(50_000)
        }
        throw BenchmarkError.setupFailed(workload: Self.peerName, detail: "no ready line from the launcher:\n\(server.logTail())")
    }

    /// The three runs against the server on `port`.
    private func measure(
        port: UInt16, impl: String, version: String, threads: Int, server: ServerProcess, setup: ServeSetup, context: BenchmarkContext
    ) throws -> [BenchmarkResult] {
        let s = settings
        var one = LoadGenerator(port: port, requests: setup.oneRowRequests(port: port), check: ResponseCheck(predictions: 1))
        one.requestTimeout = s.requestTimeout
        var batch = LoadGenerator(port: port, requests: [setup.batchRequest(port: port, rows: s.batchRows)], check: ResponseCheck(predictions: s.batchRows))
        batch.requestTimeout = max(s.requestTimeout, 30)
        batch.checkEvery = 8

        context.logger.info("\(impl): open loop \(s.rate) requests/s for \(s.duration) s")
        let open = try one.openLoop(rate: s.rate, duration: s.duration, connections: s.openConnections, threads: 1, drain: 2)
        context.logger.info("\(impl): closed loop, \(s.closedConnections) connections for \(s.duration) s")
        let closed = try one.closedLoop(connections: s.closedConnections, duration: s.duration, threads: s.generatorThreads)
        context.logger.info("\(impl): closed loop, \(s.batchRows)-row requests, \(s.batchConnections) connections for \(s.duration) s")
        let rows = try batch.closedLoop(connections: s.batchConnections, duration: s.duration, threads: 1)
        guard server.isRunning else {
            throw BenchmarkError.setupFailed(workload: impl, detail: "the server died during the run:\n\(server.logTail())")
        }
        let rss = ServeSetup.groupPeakRSSMegabytes(processGroup: server.pid)
        func line(_ workload: String, _ report: LoadReport, rowsPerRequest: Int) -> BenchmarkResult {
            var metrics = Self.metrics(report)
            if rowsPerRequest > 1 { metrics["rows_per_s"] = Double(report.succeeded * rowsPerRequest) / report.duration }
            if let problem = report.firstProblem { context.logger.warning("\(impl) \(workload): \(report.errors.total) errors; first: \(problem)") }
            let p50 = report.latency.percentileSeconds(0.5) ?? .nan
            return BenchmarkResult(
                suite: context.suite, workload: workload, impl: impl, version: version, threads: threads,
                medianSeconds: p50, minSeconds: report.latency.count > 0 ? Double(report.latency.minimum) / 1e9 : .nan,
                maxSeconds: report.latency.count > 0 ? Double(report.latency.maximum) / 1e9 : .nan, runs: 1,
                peakRSSMegabytes: rss, metrics: metrics)
        }
        return [line(openWorkload, open, rowsPerRequest: 1), line(closedWorkload, closed, rowsPerRequest: 1),
                line(batchWorkload, rows, rowsPerRequest: s.batchRows)]
    }

    static func metrics(_ r: LoadReport) -> [String: Double] {
        let p = r.percentiles.map { $0.map { $0 * 1e3 } ?? .nan }
        var m: [String: Double] = [
            // Open loop: over the time until the last response (a server that fell behind answers late).
            "requests_per_s": Double(r.succeeded) / (r.offeredRate == nil ? r.duration : r.elapsed), "achieved_rps": r.achievedRate,
            "p50_ms": p[0], "p90_ms": p[1], "p99_ms": p[2], "p999_ms": p[3], "max_ms": p[4],
            "mean_ms": (r.latency.meanSeconds ?? .nan) * 1e3,
            "requests": Double(r.succeeded), "errors": Double(r.errors.total), "duration_s": r.duration,
            "connections": Double(r.connections), "checked_bodies": Double(r.checkedBodies),
        ]
        if let offered = r.offeredRate {
            m["offered_rps"] = offered
            m["max_send_lag_ms"] = r.maximumSendLag * 1e3
        }
        for (name, n) in [("status", r.errors.status), ("connect", r.errors.connect), ("closed", r.errors.closed),
                          ("timeout", r.errors.timeout), ("body", r.errors.body), ("unfinished", r.errors.unfinished)] where n > 0 {
            m["errors_\(name)"] = Double(n)
        }
        return m
    }

    /// The issue's goals on our lines: `goal_met` (1 or 0), the ratio to the peer where there is one.
    private func addGoals(_ results: inout [BenchmarkResult]) {
        for i in results.indices where results[i].impl == "mlcore" {
            let r = results[i]
            let errorsFree = (r.metrics["errors"] ?? 1) == 0
            switch r.workload {
            case openWorkload:
                results[i].metrics["goal_p99_ms"] = 1
                results[i].metrics["goal_met"] = errorsFree && (r.metrics["p99_ms"] ?? .infinity) < 1 ? 1 : 0
            case closedWorkload:
                if let peer = results.first(where: { $0.impl == Self.peerName && $0.workload == closedWorkload }),
                   let theirs = peer.metrics["requests_per_s"], theirs > 0, let ours = r.metrics["requests_per_s"] {
                    results[i].metrics["peer_ratio"] = ours / theirs
                    results[i].metrics["goal_peer_ratio"] = 5
                    results[i].metrics["goal_met"] = errorsFree && ours >= 5 * theirs ? 1 : 0
                }  // without the peer the goal cannot be judged: no goal_met
            default:
                results[i].metrics["goal_met"] = errorsFree ? 1 : 0
            }
        }
    }
}

/// What `mlbench serve` runs, each documented once here with its default; the environment
/// overrides them (docs/mlbench.md "Suite serve").
public struct ServeSettings: Sendable, Equatable {
    /// Seconds each of the three runs sends for. `MLBENCH_SERVE_SECONDS`, default 10, 0.1…600.
    public var duration: Double = 10
    /// Offered rate of the open loop, requests/s. `MLBENCH_SERVE_RATE`, default 2000.
    public var rate: Double = 2000
    /// Connections of the open loop (a due request waits for an idle one). Default 16.
    public var openConnections = 16
    /// Connections of the closed one-row run. `MLBENCH_SERVE_CONNECTIONS`, default 64.
    public var closedConnections = 64
    /// Connections and rows per request of the multi-row run. Defaults 8 and 1000 (`MLBENCH_SERVE_BATCH_ROWS`).
    public var batchConnections = 8
    public var batchRows = 1000
    /// Generator threads of the closed one-row run (they share the cores with the server). Default 2.
    public var generatorThreads = 2
    /// A request unanswered this long is a timeout error. Default 5 s (30 s for multi-row requests).
    public var requestTimeout: Double = 5
    /// `mlc` to start; `MLBENCH_MLC`, default the `mlc` beside the running mlbench.
    public var mlcPath: String?
    /// Measure only the peer (`MLBENCH_SERVE_SKIP_MLCORE=1`), e.g. where `mlc serve` is not built.
    public var skipMLCore = false

    public init() {}

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> ServeSettings {
        var s = ServeSettings()
        func number(_ key: String, _ range: ClosedRange<Double>) -> Double? {
            env[key].flatMap(Double.init).flatMap { range.contains($0) ? $0 : nil }
        }
        if let v = number("MLBENCH_SERVE_SECONDS", 0.1...600) { s.duration = v }
        if let v = number("MLBENCH_SERVE_RATE", 1...200_000) { s.rate = v }
        if let v = number("MLBENCH_SERVE_CONNECTIONS", 1...4096) { s.closedConnections = Int(v) }
        if let v = number("MLBENCH_SERVE_BATCH_ROWS", 1...2000) { s.batchRows = Int(v) }
        if let v = env["MLBENCH_MLC"], !v.isEmpty { s.mlcPath = v }
        s.skipMLCore = env["MLBENCH_SERVE_SKIP_MLCORE"] == "1"
        return s
    }
}
