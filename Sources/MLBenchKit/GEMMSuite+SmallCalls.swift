import MLCore

extension GEMMSuite {
    /// The committed C peer, relative to `Benchmarks/peers`.
    static let smallCallsPeer = "gemm/small_calls.c"
    static let smallCallsPeerName = "openblas-c"

    /// One small-call workload, set up, checked and calibrated; `calls(n)` makes n back-to-back calls.
    struct SmallCallWorkload {
        let name: String
        let flopsPerCall: Double
        let output: UnsafeBufferPointer<Float>
        /// The output's checksum after the checked call.
        let checksum: Double
        /// Calls per timed run.
        let callsPerRun: Int
        let calls: (Int) throws -> Void

        /// One timed run.
        func timedRun() throws -> Double { try MonotonicClock.seconds { try calls(callsPerRun) } }

        func metrics(_ timing: TimingSummary) -> [String: Double] {
            let rate = timing.rate(Double(callsPerRun))
            return [
                "calls_per_s": rate, "calls_per_s_best": Double(callsPerRun) / timing.min,
                "calls_per_run": Double(callsPerRun), "gflops": rate * flopsPerCall / 1e9, "checksum": checksum,
            ]
        }
    }

    /// `sgemm_64x64x64` and `sgemv_1000x100` through our wrappers and, with `--peers`, the same
    /// calls from C. Each mlcore result is followed by its peer's.
    func smallCalls(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        let s = smallGEMMSize
        let gemmName = "sgemm_\(s)x\(s)x\(s)"
        let gemmA = try AlignedBuffer<Float>(count: s * s, workload: gemmName)
        let gemmB = try AlignedBuffer<Float>(count: s * s, workload: gemmName)
        let gemmC = try AlignedBuffer<Float>(count: s * s, workload: gemmName)
        BenchmarkData.fill(gemmA.pointer, seed: seed + 10)
        BenchmarkData.fill(gemmB.pointer, seed: seed + 11)
        // The loop under test: back-to-back calls, nothing else. Sizes are runtime values, as
        // in the C program.
        func gemmCalls(_ calls: Int) throws {
            let a = gemmA.base, b = gemmB.base, c = gemmC.base
            for _ in 0..<calls {
                try BLAS.gemm(m: s, n: s, k: s, alpha: 1, a: a, lda: s, b: b, ldb: s, beta: 0, c: c, ldc: s)
            }
        }
        let gemm = try prepare(
            gemmName, flopsPerCall: 2 * Double(s * s * s), output: gemmC.readOnly, context: context, calls: gemmCalls
        ) { () throws(BenchmarkError) in
            try GEMMCheck.verify(workload: gemmName, m: s, n: s, k: s, a: gemmA.base, lda: s, b: gemmB.base, ldb: s, c: gemmC.base, ldc: s)
        }

        let (m, n) = (gemvRows, gemvColumns)
        let gemvName = "sgemv_\(m)x\(n)"
        let gemvA = try AlignedBuffer<Float>(count: m * n, workload: gemvName)
        let gemvX = try AlignedBuffer<Float>(count: n, workload: gemvName)
        let gemvY = try AlignedBuffer<Float>(count: m, workload: gemvName)
        BenchmarkData.fill(gemvA.pointer, seed: seed + 20)
        BenchmarkData.fill(gemvX.pointer, seed: seed + 21)
        func gemvCalls(_ calls: Int) throws {
            let a = gemvA.base, x = gemvX.base, y = gemvY.base
            for _ in 0..<calls {
                try BLAS.gemv(m: m, n: n, alpha: 1, a: a, lda: n, x: x, incx: 1, beta: 0, y: y, incy: 1)
            }
        }
        let gemv = try prepare(
            gemvName, flopsPerCall: 2 * Double(m * n), output: gemvY.readOnly, context: context, calls: gemvCalls
        ) { () throws(BenchmarkError) in
            // y = A·x is C = A·B with B the n×1 column x.
            try GEMMCheck.verify(workload: gemvName, m: m, n: 1, k: n, a: gemvA.base, lda: n, b: gemvX.base, ldb: 1, c: gemvY.base, ldc: 1)
        }

        let workloads = [gemm, gemv]
        guard context.options.peers else {
            return try workloads.map { w in
                context.logger.info("\(w.name): timing \(w.callsPerRun) calls per run")
                let timing = try context.measure { _ = try w.timedRun() }
                try Self.expectUnchanged(w.output, w.checksum, w.name)
                return context.result(workload: w.name, timing: timing, metrics: w.metrics(timing))
            }
        }
        return try interleavedWithPeer(workloads, context: context)
    }

    /// `--repeat` rounds of [for each of our workloads, `--warmup` untimed runs and one timed
    /// run; then one run of the C peer, which does the same in a fresh process]. Host noise on a
    /// shared machine comes in spells of seconds; alternating puts both sides in the same spells,
    /// and every timed run, ours or the peer's, directly follows an untimed run of the same calls.
    private func interleavedWithPeer(_ workloads: [SmallCallWorkload], context: BenchmarkContext) throws -> [BenchmarkResult] {
        let options = context.options
        var ours = [[Double]](repeating: [], count: workloads.count)
        var theirs = [[BenchmarkResult]](repeating: [], count: workloads.count)
        var peerFailed = false
        let arguments = [
            "--threads", String(context.threads), "--repeat", "1", "--warmup", String(options.warmup),
            "--seed", String(seed),
            "--gemm-size", String(smallGEMMSize), "--gemm-calls", String(workloads[0].callsPerRun),
            "--gemv-rows", String(gemvRows), "--gemv-cols", String(gemvColumns),
            "--gemv-calls", String(workloads[1].callsPerRun),
        ]
        for round in 0..<options.repeat {
            context.logger.info("small calls: round \(round + 1) of \(options.repeat)")
            for (i, w) in workloads.enumerated() {
                for _ in 0..<options.warmup { _ = try w.timedRun() }
                ours[i].append(try w.timedRun())
            }
            guard !peerFailed else { continue }
            let peer = context.runPeer(Self.smallCallsPeerName) { () throws(PeerError) in
                try context.peers.runC(Self.smallCallsPeer, arguments: arguments)
            }
            for (i, w) in workloads.enumerated() {
                guard let line = peer.first(where: { $0.workload == w.name }) else {
                    if !peer.isEmpty { context.recordPeerFailure(Self.smallCallsPeerName, "printed no \(w.name) line") }
                    peerFailed = true
                    continue
                }
                guard line.metrics["checksum"] == w.checksum else {
                    context.recordPeerFailure(
                        Self.smallCallsPeerName,
                        "\(w.name): computed a different result (checksum \(line.metrics["checksum"] ?? .nan), ours \(w.checksum)); not compared")
                    peerFailed = true
                    continue
                }
                theirs[i].append(line)
            }
        }
        var results: [BenchmarkResult] = []
        for (i, w) in workloads.enumerated() {
            try Self.expectUnchanged(w.output, w.checksum, w.name)
            let timing = try TimingSummary(samples: ours[i])
            results.append(context.result(workload: w.name, timing: timing, metrics: w.metrics(timing)))
            guard !peerFailed, let first = theirs[i].first else { continue }
            let peerTiming = try TimingSummary(samples: theirs[i].map(\.medianSeconds))
            results.append(BenchmarkResult(
                suite: context.suite, workload: w.name, impl: first.impl, version: first.version, threads: first.threads,
                timing: peerTiming, peakRSSMegabytes: theirs[i].map(\.peakRSSMegabytes).max() ?? 0,
                metrics: w.metrics(peerTiming)))
        }
        return results
    }

    /// Checks once and picks the call count for ~``secondsPerSmallCallRun`` per run.
    private func prepare(
        _ workload: String, flopsPerCall: Double, output: UnsafeBufferPointer<Float>, context: BenchmarkContext,
        calls: @escaping (Int) throws -> Void, verify: () throws(BenchmarkError) -> Void
    ) throws -> SmallCallWorkload {
        context.logger.info("\(workload): checking")
        try calls(1)
        try verify()
        return SmallCallWorkload(
            name: workload, flopsPerCall: flopsPerCall, output: output, checksum: BenchmarkData.checksum(output),
            callsPerRun: try Self.callsPerRun(seconds: secondsPerSmallCallRun, calls), calls: calls)
    }

    /// Calls per run for about `seconds` a run: time growing batches until one lasts 20 ms,
    /// then scale.
    static func callsPerRun(seconds: Double, _ calls: (Int) throws -> Void) throws -> Int {
        var batch = 16
        while true {
            let t = try MonotonicClock.seconds { try calls(batch) }
            if t >= 0.02 || batch >= 1 << 24 {
                return max(1, min(1 << 30, Int((seconds / max(t, 1e-9) * Double(batch)).rounded())))
            }
            batch *= 4
        }
    }
}
