extension LoadGenerator {
    /// Offers `rate` requests/s for `duration` seconds over `connections` connections, whatever
    /// the responses do, and measures each request's latency from its intended send time.
    ///
    /// Request i is due at t0 + i/rate. With `threads` loops, loop k owns requests k, k+threads, …
    /// and `connections/threads` connections (one loop sustains several thousand requests/s). A
    /// due request waits for an idle connection of its loop; the wait counts as latency. After
    /// `duration` nothing new is due; the run ends when every due request is answered or `drain`
    /// seconds later, whichever comes first (then the rest count as ``LoadErrors/unfinished``),
    /// so a run never lasts longer than about 0.1 + duration + drain seconds.
    public func openLoop(
        rate: Double, duration: Double, connections: Int, threads: Int = 1, drain: Double = 2
    ) throws(LoadGeneratorError) -> LoadReport {
        guard rate.isFinite, rate > 0, rate <= 1_000_000 else { throw .invalidSettings("rate \(rate) must be in (0, 1e6] requests/s") }
        try validate(duration: duration, connections: connections, threads: threads)
        guard drain.isFinite, drain >= 0, drain <= 600 else { throw .invalidSettings("drain \(drain) must be in [0, 600] s") }
        let start = MonotonicClock.now() + 0.1  // time to start the threads and connect before the first request
        let end = start + duration
        let generator = self
        let tallies = runOnThreads(threads) { k in
            let share = connections / threads + (k < connections % threads ? 1 : 0)
            return LoadLoop(generator: generator, connections: share, rate: rate, first: k, step: threads,
                            t0: start, end: end, hardStop: end + drain).run()
        }
        return report(tallies, offeredRate: rate, start: start, duration: duration, connections: connections)
    }

    func validate(duration: Double, connections: Int, threads: Int) throws(LoadGeneratorError) {
        guard duration.isFinite, duration > 0, duration <= 3600 else { throw .invalidSettings("duration \(duration) must be in (0, 3600] s") }
        guard (1...4096).contains(connections) else { throw .invalidSettings("connections \(connections) must be in 1...4096") }
        guard (1...connections).contains(threads), threads <= 64 else {
            throw .invalidSettings("threads \(threads) must be in 1...min(connections, 64)")
        }
        guard !requests.isEmpty else { throw .invalidSettings("no request to send") }
        guard requestTimeout.isFinite, requestTimeout > 0 else { throw .invalidSettings("request timeout \(requestTimeout) must be > 0") }
    }

    func report(_ tallies: [LoadTally], offeredRate: Double?, start: Double, duration: Double, connections: Int) -> LoadReport {
        var total = LoadTally()
        for t in tallies { total.merge(t) }
        let elapsed = max(duration, total.lastCompletion - start)
        let window = offeredRate == nil ? duration : elapsed
        return LoadReport(
            offeredRate: offeredRate, achievedRate: Double(total.responses) / window, succeeded: total.succeeded,
            responses: total.responses, errors: total.errors, latency: total.latency, duration: duration, elapsed: elapsed,
            connections: connections, checkedBodies: total.checkedBodies, firstProblem: total.firstProblem,
            maximumSendLag: total.maximumSendLag)
    }
}
