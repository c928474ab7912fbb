extension LoadGenerator {
    /// Peak throughput: `connections` connections each send their next request as soon as the
    /// previous response arrives, for `duration` seconds, spread over `threads` loops (threads
    /// compete with the server for the cores; 2 is wrk's default too). Latency runs from each
    /// send. Responses still in flight at the end are not counted, for or against.
    public func closedLoop(connections: Int, duration: Double, threads: Int = 2) throws(LoadGeneratorError) -> LoadReport {
        try validate(duration: duration, connections: connections, threads: threads)
        let start = MonotonicClock.now() + 0.1
        let end = start + duration
        let generator = self
        let tallies = runOnThreads(threads) { k in
            let share = connections / threads + (k < connections % threads ? 1 : 0)
            return LoadLoop(generator: generator, connections: share, rate: nil, first: k, step: threads,
                            t0: start, end: end, hardStop: end + 1).run()
        }
        return report(tallies, offeredRate: nil, start: start, duration: duration, connections: connections)
    }
}
