import Foundation
import MLContainer
import MLCore
import Testing

private enum Boom: Error, Equatable {
    case boom(Int)
}

@Suite("TrainingTimings")
struct TrainingTimingsTests {
    @Test("measure returns the body's value and appends the phase, in order")
    func measures() throws {
        var timings = TrainingTimings(host: "algo-1")
        let three = timings.measure("configuration") { 1 + 2 }
        let slept = timings.measure("read train") { () -> String in
            Thread.sleep(forTimeInterval: 0.02)
            return "rows"
        }
        timings.record("write model", duration: .milliseconds(1500))
        #expect(three == 3 && slept == "rows")
        #expect(timings.phases.map(\.name) == ["configuration", "read train", "write model"])
        #expect(timings.phases[0].seconds >= 0 && timings.phases[0].seconds < 1)
        #expect(timings.phases[1].seconds >= 0.019)
        #expect(timings.phases[2].seconds == 1.5)
        #expect(timings.phases.allSatisfy { $0.failed == nil })
        #expect(timings.totalSeconds == nil)
        timings.finish()
        let total = try #require(timings.totalSeconds)
        // The total runs from init to finish, and the first two phases ran inside it.
        #expect(total >= timings.phases[0].seconds + timings.phases[1].seconds)
    }

    @Test("a throwing body: the error comes out unchanged and typed, the phase is kept as failed")
    func propagatesErrors() {
        var timings = TrainingTimings()
        do {
            _ = try timings.measure("read validation") { () throws(Boom) -> Int in throw .boom(7) }
            Issue.record("measure did not rethrow")
        } catch {
            // `error` is statically a Boom: measure's throws are typed.
            #expect(error == .boom(7))
        }
        #expect(throws: ContainerError.client("bad")) {
            try timings.measure("configuration") { () throws(ContainerError) in throw .client("bad") }
        }
        timings.measure("after") {}
        #expect(timings.phases.map(\.name) == ["read validation", "configuration", "after"])
        #expect(timings.phases.map(\.failed) == [true, true, nil])
        #expect(timings.phases.allSatisfy { $0.seconds >= 0 && $0.seconds.isFinite })
    }

    @Test("epochs come from the training history; a non-finite value is left out")
    func epochs() {
        let m = MetricValue(channel: "train", name: "loss", kind: .loss, value: 1)
        let history = [
            EpochSummary(epoch: 0, epochs: 2, metrics: [m], criterion: m, improved: true, rowsPerSecond: 1000, seconds: 0.5),
            EpochSummary(epoch: 1, epochs: 2, metrics: [m], criterion: m, improved: false, rowsPerSecond: .infinity, seconds: 0.25),
        ]
        var timings = TrainingTimings()
        timings.recordEpochs(history)
        #expect(timings.epochs == [TrainingTimings.Epoch(epoch: 0, seconds: 0.5, rowsPerSecond: 1000),
                                   TrainingTimings.Epoch(epoch: 1, seconds: 0.25, rowsPerSecond: nil)])
    }

    @Test("JSON: sorted keys, phases as an ordered array of {name, seconds}, an ISO 8601 UTC date; it round-trips")
    func json() throws {
        var timings = TrainingTimings(host: "algo-1", startDate: Date(timeIntervalSince1970: 1_700_000_000))
        timings.record("configuration", duration: .milliseconds(250))
        timings.record("read train", duration: .seconds(2), failed: true)
        timings.recordEpochs([EpochSummary(epoch: 0, epochs: 1, metrics: [],
                                           criterion: MetricValue(channel: "train", name: "l", kind: .loss, value: 0),
                                           improved: true, rowsPerSecond: .nan, seconds: 0.125)])
        timings.finish()
        let data = try timings.jsonData()
        let text = String(decoding: data, as: UTF8.self)

        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["host", "startDate", "phases", "epochs", "totalSeconds"])
        #expect(object["startDate"] as? String == "2023-11-14T22:13:20.000Z")
        let phases = try #require(object["phases"] as? [[String: Any]])
        #expect(phases.map { $0["name"] as? String } == ["configuration", "read train"])
        #expect(phases.map { $0["seconds"] as? Double } == [0.25, 2])
        #expect(phases[0]["failed"] == nil && phases[1]["failed"] as? Bool == true)
        let epochs = try #require(object["epochs"] as? [[String: Any]])
        #expect(epochs.count == 1 && epochs[0]["rowsPerSecond"] == nil && epochs[0]["seconds"] as? Double == 0.125)
        // Keys sorted at every level.
        let keyOrder = ["\"epochs\"", "\"host\"", "\"phases\"", "\"startDate\"", "\"totalSeconds\""].map { text.range(of: $0)!.lowerBound }
        #expect(keyOrder == keyOrder.sorted())
        #expect(text.range(of: "\"name\"")!.lowerBound < text.range(of: "\"seconds\" : 0.25")!.lowerBound)

        let decoded = try JSONDecoder().decode(TrainingTimings.self, from: data)
        #expect(decoded == timings)
        // A decoded value has no clock: finish() leaves its total alone.
        var again = decoded
        again.finish()
        #expect(again.totalSeconds == timings.totalSeconds)
        // Milliseconds survive; finer parts of a second do not.
        let precise = TrainingTimings(startDate: Date(timeIntervalSince1970: 1_700_000_000.123))
        let back = try JSONDecoder().decode(TrainingTimings.self, from: try precise.jsonData())
        #expect(abs(back.startDate!.timeIntervalSince1970 - 1_700_000_000.123) < 0.001)
    }

    @Test("optional fields are absent, not null, and decode back to nil")
    func minimal() throws {
        let timings = TrainingTimings(startDate: nil)
        let text = String(decoding: try timings.jsonData(), as: UTF8.self)
        #expect(!text.contains("host") && !text.contains("startDate") && !text.contains("totalSeconds") && !text.contains("null"))
        #expect(try JSONDecoder().decode(TrainingTimings.self, from: Data(text.utf8)) == timings)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(TrainingTimings.self, from: Data(#"{"phases": [], "startDate": "yesterday"}"#.utf8))
        }
    }

    @Test("write(to:) creates the directory and replaces the file atomically")
    func writes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("timings-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/output/data/timings.json"
        var timings = TrainingTimings(host: "algo-2", startDate: Date(timeIntervalSince1970: 1_800_000_000))
        timings.record("training", duration: .seconds(3))
        try timings.write(to: path)
        timings.record("write model", duration: .milliseconds(10))
        try timings.write(to: path)
        let read = try JSONDecoder().decode(TrainingTimings.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(read == timings)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/output/data") == ["timings.json"])

        // A path under a regular file cannot be written: an AlgorithmError naming it.
        let blocked = path + "/nested.json"
        #expect {
            try timings.write(to: blocked)
        } throws: { error in
            guard case .algorithm(let message) = error as? ContainerError else { return false }
            return message.contains(blocked)
        }
    }
}
