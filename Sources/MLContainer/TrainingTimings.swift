import Foundation
import MLCore

/// How long each phase of a training job took (`timings.json` in the output data directory):
/// configuration, reading each channel, training, writing the model, the total, and each epoch's
/// wall time from the training history. Measured with `ContinuousClock` (monotonic), reported in
/// seconds.
///
/// ```swift
/// var timings = TrainingTimings(host: config.resources.currentHost)
/// let train = try timings.measure("read train") { () throws(ContainerError) in try load("train") }
/// …
/// timings.recordEpochs(result.history)
/// timings.finish()
/// try timings.write(to: environment.outputDataDirectory + "/timings.json")
/// ```
///
/// The JSON has sorted keys: `host` and `startDate` (ISO 8601, UTC, milliseconds) when known,
/// `phases` — `{name, seconds}` in the order they ran, with `"failed": true` on a phase whose body
/// threw — `epochs` (`{epoch, seconds, rowsPerSecond}`), and `totalSeconds` once ``finish()`` ran.
/// A host name and a date belong here and in no model file.
public struct TrainingTimings: Codable, Sendable, Equatable {
    public struct Phase: Codable, Sendable, Equatable {
        public var name: String
        public var seconds: Double
        /// `true` when the phase ended by throwing; absent from the JSON otherwise.
        public var failed: Bool?

        public init(name: String, seconds: Double, failed: Bool? = nil) {
            self.name = name
            self.seconds = seconds
            self.failed = failed
        }
    }

    public struct Epoch: Codable, Sendable, Equatable {
        /// 0-based, as in the metric lines.
        public var epoch: Int
        /// Wall time of the epoch, evaluation included; absent if the trainer's value was not finite.
        public var seconds: Double?
        /// Training rows per second; absent if not finite.
        public var rowsPerSecond: Double?

        public init(epoch: Int, seconds: Double?, rowsPerSecond: Double?) {
            self.epoch = epoch
            self.seconds = seconds
            self.rowsPerSecond = rowsPerSecond
        }
    }

    public var host: String?
    /// When the job started (wall clock; the durations come from the monotonic clock).
    public var startDate: Date?
    public var phases: [Phase]
    public var epochs: [Epoch]
    /// From ``init(host:startDate:)`` to ``finish()``; `nil` until then.
    public var totalSeconds: Double?

    /// Where the total is measured from; not encoded (a decoded value has none).
    private var origin: ContinuousClock.Instant?

    /// Starts the clock for ``totalSeconds``.
    public init(host: String? = nil, startDate: Date? = Date()) {
        self.host = host
        self.startDate = startDate
        phases = []
        epochs = []
        origin = ContinuousClock.now
    }

    /// Runs `body`, appends a phase named `name` with its duration, and returns its result. If
    /// `body` throws, the phase is still appended — with the time until the throw and
    /// `failed: true` — and the error is rethrown unchanged, so timings written after a failure
    /// show how far the job got.
    public mutating func measure<T, E: Error>(_ name: String, _ body: () throws(E) -> T) throws(E) -> T {
        let start = ContinuousClock.now
        do {
            let value = try body()
            record(name, duration: ContinuousClock.now - start)
            return value
        } catch {
            record(name, duration: ContinuousClock.now - start, failed: true)
            throw error
        }
    }

    /// Appends a phase timed elsewhere.
    public mutating func record(_ name: String, duration: Duration, failed: Bool = false) {
        phases.append(Phase(name: name, seconds: Self.seconds(duration), failed: failed ? true : nil))
    }

    /// Sets ``epochs`` from a training history (the trainer's own per-epoch wall times).
    public mutating func recordEpochs(_ history: [EpochSummary]) {
        epochs = history.map {
            Epoch(epoch: $0.epoch, seconds: $0.seconds.isFinite ? $0.seconds : nil,
                  rowsPerSecond: $0.rowsPerSecond.isFinite ? $0.rowsPerSecond : nil)
        }
    }

    /// Sets ``totalSeconds`` to the time since ``init(host:startDate:)`` (no change on a decoded
    /// value, which has no clock origin).
    public mutating func finish() {
        guard let origin else { return }
        totalSeconds = Self.seconds(ContinuousClock.now - origin)
    }

    /// The sum of the phases' seconds.
    public var phaseSeconds: Double { phases.reduce(0) { $0 + $1.seconds } }

    static func seconds(_ d: Duration) -> Double {
        let c = d.components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }

    // MARK: - JSON

    enum CodingKeys: String, CodingKey {
        case host, startDate, phases, epochs, totalSeconds
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        host = try c.decodeIfPresent(String.self, forKey: .host)
        if let text = try c.decodeIfPresent(String.self, forKey: .startDate) {
            guard let date = try? Self.dateStyle.parse(text) else {
                throw DecodingError.dataCorruptedError(forKey: .startDate, in: c, debugDescription: "not an ISO 8601 date: \(text)")
            }
            startDate = date
        } else {
            startDate = nil
        }
        phases = try c.decode([Phase].self, forKey: .phases)
        epochs = try c.decodeIfPresent([Epoch].self, forKey: .epochs) ?? []
        totalSeconds = try c.decodeIfPresent(Double.self, forKey: .totalSeconds)
        origin = nil
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(host, forKey: .host)
        try c.encodeIfPresent(startDate.map { Self.dateStyle.format($0) }, forKey: .startDate)
        try c.encode(phases, forKey: .phases)
        try c.encode(epochs, forKey: .epochs)
        try c.encodeIfPresent(totalSeconds, forKey: .totalSeconds)
    }

    /// The clock origin is not part of the value.
    public static func == (a: TrainingTimings, b: TrainingTimings) -> Bool {
        a.host == b.host && a.startDate == b.startDate && a.phases == b.phases && a.epochs == b.epochs
            && a.totalSeconds == b.totalSeconds
    }

    static var dateStyle: Date.ISO8601FormatStyle { Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt) }

    /// Pretty-printed JSON with sorted keys.
    public func jsonData() throws(ContainerError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        do {
            return try encoder.encode(self)
        } catch {
            throw .algorithm("cannot encode the timings: \(error)")
        }
    }

    /// Writes ``jsonData()`` to `path` atomically, creating its directory.
    public func write(to path: String) throws(ContainerError) {
        do {
            let url = URL(fileURLWithPath: path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try jsonData().write(to: url, options: .atomic)
        } catch let error as ContainerError {
            throw error
        } catch {
            throw .algorithm("cannot write \(path): \(error)")
        }
    }
}
