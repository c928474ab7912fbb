import MLBenchKit
import Testing

// Only the arithmetic and the run counts are checked here; nothing is timed.
@Suite("Timing")
struct TimingTests {
    @Test func medianMinMaxOfAnOddCount() throws {
        let t = try TimingSummary(samples: [0.3, 0.1, 0.5, 0.2, 0.4])
        #expect(t.median == 0.3)
        #expect(t.min == 0.1)
        #expect(t.max == 0.5)
        #expect(t.runs == 5)
        #expect(t.samples == [0.3, 0.1, 0.5, 0.2, 0.4])
    }

    @Test func medianOfAnEvenCountIsTheMeanOfTheMiddleTwo() throws {
        let t = try TimingSummary(samples: [4, 1, 3, 2])
        #expect(t.median == 2.5)
        #expect(t.min == 1)
        #expect(t.max == 4)
        #expect(try TimingSummary(samples: [7]).median == 7)
    }

    @Test func rateIsWorkOverMedian() throws {
        #expect(try TimingSummary(samples: [2, 4, 6]).rate(100) == 25)
    }

    @Test func badSamplesAreRejected() {
        #expect(throws: BenchmarkError.self) { try TimingSummary(samples: []) }
        #expect(throws: BenchmarkError.self) { try TimingSummary(samples: [1, -1]) }
        #expect(throws: BenchmarkError.self) { try TimingSummary(samples: [1, .nan]) }
    }

    @Test func warmUpRunsAreNotTimed() throws {
        var calls = 0
        let t = try measure(warmup: 2, repeat: 3) { calls += 1 }
        #expect(calls == 5)
        #expect(t.runs == 3)
        var none = 0
        let once = try measure(warmup: 0, repeat: 1) { none += 1 }
        #expect(none == 1 && once.runs == 1)
    }

    @Test func badRunCountsAreRejected() {
        #expect(throws: BenchmarkError.self) { try measure(warmup: 0, repeat: 0) {} }
        #expect(throws: BenchmarkError.self) { try measure(warmup: -1, repeat: 1) {} }
    }

    @Test func errorsFromTheBodyPropagate() {
        struct Boom: Error {}
        #expect(throws: Boom.self) { try measure(warmup: 1, repeat: 3) { throw Boom() } }
    }
}
