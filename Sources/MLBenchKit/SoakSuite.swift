import Foundation
import Synchronization

/// `mlbench soak`: `mlc serve` on loopback for a bounded time (default 300 s) under valid traffic
/// and abuse at once, checking that it keeps serving (docs/reliability.md "Server under load").
///
/// Four threads for the whole run:
/// - **valid traffic**: one-row CSV requests to the `serve` suite's linear learner, open loop at
///   ``SoakSettings/rate`` requests/s, in slices of ``SoakSettings/sliceSeconds`` so latency is
///   seen over time; every response's status and a sample of bodies are checked;
/// - **watch**: `GET /ping` on a fresh connection every 250 ms (each must answer 200 within 2 s)
///   and the server's `VmRSS` every ``SoakSettings/rssInterval`` seconds;
/// - **abuse**: the kinds of ``SoakAbuse`` in turn (malformed bodies, deep JSON, row
///   amplification, oversized payloads declared and chunked, wrong content types, huge headers,
///   bytes that are not HTTP, abrupt disconnects and resets), each outcome tallied by kind;
/// - **slow clients**: ``SoakSettings/slowClients`` connections dribbling a never-ending request
///   head one byte a second (slowloris), reopened when the server closes them.
///
/// Goals (the run fails, exit status 1, when one is missed): every `/ping` answered 200 within
/// 2 s; zero errors on valid requests and their p99 under ``SoakSettings/p99GoalMilliseconds``;
/// every abuse outcome one its kind allows; the server alive at the end; RSS flat: the last
/// sample within 1.25× + 32 MiB of the sample taken after the first fifth of the run.
public struct SoakSuite: BenchmarkSuite {
    public let name = "soak"
    public let summary = "mlc serve under valid traffic plus malformed, oversized, slow and abruptly closed requests for a bounded time: /ping, latency, RSS"
    public var settings: SoakSettings

    public init(settings: SoakSettings = .fromEnvironment()) {
        self.settings = settings
    }

    public func keyMetric(for result: BenchmarkResult) -> String? {
        switch result.workload {
        case "valid_1row": "p99_ms"
        case "ping": "max_ms"
        case "rss": "rss_end_mb"
        default: "exchanges"
        }
    }

    public func notes(for results: [BenchmarkResult]) -> [String] {
        results.compactMap { r in
            guard let met = r.metrics["goal_met"] else { return nil }
            return "\(r.workload): \(met == 1 ? "goal met" : "goal NOT met")"
        }
    }

    public func run(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        let s = settings
        let setup = try ServeSetup(context: context)
        defer { setup.removeScratch() }
        let mlc = s.mlcPath ?? ServeSetup.siblingExecutable("mlc")
        let port = try freeLoopbackPort()
        let server = try ServerProcess(
            name: "mlc serve", executable: mlc,
            arguments: ["serve", "--algorithm", "linear-learner", "--root", setup.root, "--port", String(port)],
            environment: ["SAGEMAKER_MAX_PAYLOAD_IN_MB": String(s.maxPayloadMB)],
            logPath: setup.root + "/mlc-serve.log")
        defer { server.stop() }
        try HTTPExchange.waitUntilReady(port: port, server: server, timeout: 30)
        try setup.checkOurs(port: port, workload: "valid_1row")
        context.logger.info("mlc serve ready on port \(port); soaking for \(s.duration) s")

        let validRow = setup.csv(0..<1)
        let kinds = SoakAbuse.all(validRow: validRow, maxPayloadBytes: s.maxPayloadMB << 20)
        let record = SoakRecord()
        let t0 = MonotonicClock.now()
        let end = t0 + s.duration
        var valid = LoadGenerator(port: port, requests: setup.oneRowRequests(port: port), check: ResponseCheck(predictions: 1))
        valid.requestTimeout = s.requestTimeout
        let generator = valid
        let serverPID = server.pid
        _ = runOnThreads(4) { part -> Int in
            switch part {
            case 0:
                while MonotonicClock.now() + 1 < end {
                    let slice = min(s.sliceSeconds, end - MonotonicClock.now())
                    guard let report = try? generator.openLoop(rate: s.rate, duration: slice, connections: 16, threads: 1, drain: 2) else { break }
                    record.addValid(report, at: MonotonicClock.now() - t0)
                }
            case 1:
                var nextRSS = MonotonicClock.now()
                while MonotonicClock.now() < end {
                    let sent = MonotonicClock.now()
                    let answer = HTTPExchange.send(.get(path: "/ping", host: "127.0.0.1", port: port), port: port, timeout: 2)
                    let seconds = MonotonicClock.now() - sent
                    if case .success(let r) = answer, r.status == 200, seconds <= 2 {
                        record.addPing(seconds: seconds, failure: nil)
                    } else {
                        let why: String
                        switch answer {
                        case .success(let r): why = "answered \(r.status) after \(Format.metric(seconds)) s"
                        case .failure(let e): why = e.description
                        }
                        record.addPing(seconds: seconds, failure: "at \(Int(sent - t0)) s: \(why)")
                    }
                    if MonotonicClock.now() >= nextRSS {
                        record.addRSS(megabytes: Self.residentMegabytes(pid: serverPID), at: MonotonicClock.now() - t0)
                        nextRSS += s.rssInterval
                    }
                    usleep(250_000)
                }
            case 2:
                var i = 0
                while MonotonicClock.now() < end {
                    let kind = kinds[i % kinds.count]
                    let outcome = kind.run(port)
                    record.addAbuse(kind: kind.name, outcome: outcome, allowed: kind.allowed.contains(outcome))
                    i += 1
                    usleep(UInt32(s.abusePause * 1e6))
                }
            default:
                let slow = SlowClients(count: s.slowClients, port: port)
                while MonotonicClock.now() < end {
                    slow.tick()
                    usleep(1_000_000)
                }
                record.setSlow(opened: slow.opened, closedByServer: slow.closedByServer, refused: slow.refused)
                slow.closeAll()
            }
            return part
        }
        let alive = server.isRunning
        record.addRSS(megabytes: Self.residentMegabytes(pid: serverPID), at: MonotonicClock.now() - t0)
        let finalPing = HTTPExchange.send(.get(path: "/ping", host: "127.0.0.1", port: port), port: port, timeout: 2)
        let results = record.results(context: context, settings: s, alive: alive, finalPingOK: (try? finalPing.get())?.status == 200,
                                     serverPeakMegabytes: ServeSetup.groupPeakRSSMegabytes(processGroup: server.pid))
        for line in record.rssTimeline() { context.logger.info("\(line)") }
        for failure in record.failures(settings: s, alive: alive, finalPingOK: (try? finalPing.get())?.status == 200) {
            context.recordPeerFailure("mlc serve (soak goal)", failure)
        }
        if !alive { context.logger.error("the server died during the soak:\n\(server.logTail())") }
        return results
    }

    /// `VmRSS` of `pid` in MiB (NaN when the process is gone).
    static func residentMegabytes(pid: Int32) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
        else { return .nan }
        return kb / 1024
    }
}

/// What the soak's threads saw, gathered under one lock.
final class SoakRecord: Sendable {
    private struct State {
        var latency = LatencyHistogram()
        var validRequests = 0
        var validErrors = LoadErrors()
        var firstValidProblem: String?
        var slices: [(at: Double, p50: Double, p99: Double, requests: Int)] = []
        var pings = 0
        var pingLatency = LatencyHistogram()
        var pingMax = 0.0
        var checkedBodies = 0
        var pingFailures: [String] = []
        var rss: [(at: Double, megabytes: Double)] = []
        var abuse: [String: [SoakClient.Outcome: Int]] = [:]
        var unexpected: [String] = []
        var slow = (opened: 0, closedByServer: 0, refused: 0)
    }

    private let state = Mutex(State())

    func addValid(_ report: LoadReport, at seconds: Double) {
        state.withLock { s in
            s.latency.merge(report.latency)
            s.validRequests += report.succeeded
            s.validErrors.add(report.errors)
            s.checkedBodies += report.checkedBodies
            s.firstValidProblem = s.firstValidProblem ?? report.firstProblem
            s.slices.append((seconds, (report.latency.percentileSeconds(0.5) ?? .nan) * 1e3,
                             (report.latency.percentileSeconds(0.99) ?? .nan) * 1e3, report.succeeded))
        }
    }

    func addPing(seconds: Double, failure: String?) {
        state.withLock { s in
            s.pings += 1
            s.pingLatency.record(seconds: seconds)
            s.pingMax = max(s.pingMax, seconds)
            if let failure { s.pingFailures.append(failure) }
        }
    }

    func addRSS(megabytes: Double, at seconds: Double) {
        state.withLock { $0.rss.append((seconds, megabytes)) }
    }

    func addAbuse(kind: String, outcome: SoakClient.Outcome, allowed: Bool) {
        state.withLock { s in
            s.abuse[kind, default: [:]][outcome, default: 0] += 1
            if !allowed && s.unexpected.count < 20 { s.unexpected.append("\(kind): \(outcome)") }
        }
    }

    func setSlow(opened: Int, closedByServer: Int, refused: Int) {
        state.withLock { $0.slow = (opened, closedByServer, refused) }
    }

    /// RSS over time, one line per sample.
    func rssTimeline() -> [String] {
        state.withLock { s in s.rss.map { "RSS at \(Int($0.at)) s: \(Format.metric($0.megabytes)) MiB" } }
    }

    /// The RSS sample taken after the first fifth of the run (the warm-up: allocator pools,
    /// connection buffers), and the last one.
    private static func rssBaseline(_ rss: [(at: Double, megabytes: Double)], duration: Double) -> (Double, Double)? {
        guard let last = rss.last?.megabytes, let base = (rss.first { $0.at >= duration / 5 } ?? rss.first)?.megabytes else { return nil }
        return (base, last)
    }

    func failures(settings: SoakSettings, alive: Bool, finalPingOK: Bool) -> [String] {
        state.withLock { s in
            var out: [String] = []
            if !alive { out.append("the server died during the soak") }
            if !finalPingOK { out.append("GET /ping did not answer 200 within 2 s after the soak") }
            if !s.pingFailures.isEmpty {
                out.append("\(s.pingFailures.count) of \(s.pings) pings failed; first: \(s.pingFailures[0])")
            }
            if s.validErrors.total > 0 {
                out.append("\(s.validErrors.total) valid requests failed (\(s.firstValidProblem ?? "see errors_* metrics"))")
            }
            if let p99 = s.latency.percentileSeconds(0.99), p99 * 1e3 > settings.p99GoalMilliseconds {
                out.append("valid requests' p99 \(Format.metric(p99 * 1e3)) ms, over the goal of \(Format.metric(settings.p99GoalMilliseconds)) ms")
            }
            if !s.unexpected.isEmpty { out.append("unexpected answers to abuse: " + s.unexpected.joined(separator: "; ")) }
            if let (base, last) = Self.rssBaseline(s.rss, duration: settings.duration), last > base * 1.25 + 32 {
                out.append("RSS grew from \(Format.metric(base)) MiB to \(Format.metric(last)) MiB")
            }
            return out
        }
    }

    func results(context: BenchmarkContext, settings: SoakSettings, alive: Bool, finalPingOK: Bool, serverPeakMegabytes: Double) -> [BenchmarkResult] {
        let failures = failures(settings: settings, alive: alive, finalPingOK: finalPingOK)
        return state.withLock { s in
            func line(_ workload: String, median: Double = .nan, min: Double = .nan, max: Double = .nan, _ metrics: [String: Double]) -> BenchmarkResult {
                BenchmarkResult(suite: context.suite, workload: workload, impl: "mlcore", version: context.version, threads: context.threads,
                                medianSeconds: median, minSeconds: min, maxSeconds: max, runs: 1,
                                peakRSSMegabytes: serverPeakMegabytes, metrics: metrics)
            }
            var valid = ServeSuite.metrics(LoadReport(
                offeredRate: settings.rate, achievedRate: Double(s.validRequests) / settings.duration, succeeded: s.validRequests,
                responses: s.validRequests, errors: s.validErrors, latency: s.latency, duration: settings.duration,
                elapsed: settings.duration, connections: 16, checkedBodies: s.checkedBodies, firstProblem: nil, maximumSendLag: 0))
            valid["goal_p99_ms"] = settings.p99GoalMilliseconds
            valid["worst_slice_p99_ms"] = s.slices.map(\.p99).filter(\.isFinite).max() ?? .nan
            valid["goal_met"] = failures.isEmpty ? 1 : 0
            var abuse: [String: Double] = [:]
            var exchanges = 0
            for (kind, outcomes) in s.abuse {
                for (outcome, n) in outcomes {
                    abuse["\(kind)_\(outcome)"] = Double(n)
                    exchanges += n
                }
            }
            abuse["exchanges"] = Double(exchanges)
            abuse["unexpected"] = Double(s.unexpected.count)
            abuse["slow_clients"] = Double(settings.slowClients)
            abuse["slow_opened"] = Double(s.slow.opened)
            abuse["slow_closed_by_server"] = Double(s.slow.closedByServer)
            abuse["slow_refused"] = Double(s.slow.refused)
            var rss: [String: Double] = [:]
            for sample in s.rss { rss["rss_at_\(String(format: "%04d", Int(sample.at)))s_mb"] = sample.megabytes }
            rss["rss_start_mb"] = s.rss.first?.megabytes ?? .nan
            rss["rss_end_mb"] = s.rss.last?.megabytes ?? .nan
            rss["rss_max_mb"] = s.rss.map(\.megabytes).max() ?? .nan
            if let (base, _) = Self.rssBaseline(s.rss, duration: settings.duration) { rss["rss_baseline_mb"] = base }
            let p50 = s.latency.percentileSeconds(0.5) ?? .nan
            return [
                line("valid_1row", median: p50, min: s.latency.count > 0 ? Double(s.latency.minimum) / 1e9 : .nan,
                     max: s.latency.count > 0 ? Double(s.latency.maximum) / 1e9 : .nan, valid),
                line("ping", median: s.pingLatency.percentileSeconds(0.5) ?? .nan,
                     min: s.pingLatency.count > 0 ? Double(s.pingLatency.minimum) / 1e9 : .nan, max: s.pingMax,
                     ["pings": Double(s.pings), "failures": Double(s.pingFailures.count), "max_ms": s.pingMax * 1e3,
                      "p50_ms": (s.pingLatency.percentileSeconds(0.5) ?? .nan) * 1e3,
                      "p99_ms": (s.pingLatency.percentileSeconds(0.99) ?? .nan) * 1e3, "goal_max_ms": 2000]),
                line("abuse", abuse),
                line("rss", rss),
            ]
        }
    }
}

/// What `mlbench soak` runs, each documented once here with its default; the environment
/// overrides them (docs/mlbench.md "Suite soak").
public struct SoakSettings: Sendable, Equatable {
    /// Seconds the soak runs. `MLBENCH_SOAK_SECONDS`, default 300, 5…86400.
    public var duration: Double = 300
    /// Valid one-row requests offered per second. `MLBENCH_SOAK_RATE`, default 1000.
    public var rate: Double = 1000
    /// Seconds per latency slice of the valid traffic. Default 10.
    public var sliceSeconds: Double = 10
    /// The p99 valid requests must keep, in ms, with the abuse going on beside them on the same
    /// cores. `MLBENCH_SOAK_P99_MS`, default 10.
    public var p99GoalMilliseconds: Double = 10
    /// Slowloris connections held open. `MLBENCH_SOAK_SLOW_CLIENTS`, default 64.
    public var slowClients = 64
    /// Seconds between abusive exchanges. Default 0.05.
    public var abusePause: Double = 0.05
    /// Seconds between RSS samples. Default: a sixtieth of the run, at least 2.
    public var rssInterval: Double = 5
    /// `SAGEMAKER_MAX_PAYLOAD_IN_MB` for the server. Default 6 (SageMaker's).
    public var maxPayloadMB = 6
    /// A valid request unanswered this long is a timeout error. Default 5 s.
    public var requestTimeout: Double = 5
    /// `mlc` to start; `MLBENCH_MLC`, default the `mlc` beside the running mlbench.
    public var mlcPath: String?

    public init() {}

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> SoakSettings {
        var s = SoakSettings()
        func number(_ key: String, _ range: ClosedRange<Double>) -> Double? {
            env[key].flatMap(Double.init).flatMap { range.contains($0) ? $0 : nil }
        }
        if let v = number("MLBENCH_SOAK_SECONDS", 5...86_400) { s.duration = v }
        if let v = number("MLBENCH_SOAK_RATE", 1...100_000) { s.rate = v }
        if let v = number("MLBENCH_SOAK_P99_MS", 0.01...10_000) { s.p99GoalMilliseconds = v }
        if let v = number("MLBENCH_SOAK_SLOW_CLIENTS", 0...4096) { s.slowClients = Int(v) }
        if let v = env["MLBENCH_MLC"], !v.isEmpty { s.mlcPath = v }
        s.sliceSeconds = min(10, max(1, s.duration / 10))
        s.rssInterval = max(2, s.duration / 60)
        return s
    }
}
