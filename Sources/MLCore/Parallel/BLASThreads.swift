import CBLAS

/// How OpenBLAS uses threads in this process. One policy per process (DESIGN.md "Threads").
public enum BLASThreadPolicy: Sendable, Equatable {
    /// OpenBLAS runs on the calling thread; our workers supply the parallelism. The training
    /// default: it keeps results bit-identical whatever the worker count.
    case singleThreaded
    /// OpenBLAS uses `threads` for one big call made from one thread (large-batch inference,
    /// benchmarks of the machine's peak). Not bit-reproducible across thread counts.
    case multiThreaded(threads: Int)
}

/// The process-wide OpenBLAS thread setting. The only place that calls `openblas_set_num_threads`.
public enum BLASThreads {
    /// Applies `policy`. Refused (returns `false`) from inside a ``parallelFor(blocks:threads:_:)``
    /// region, where changing OpenBLAS's pool would race with the calls in flight.
    @discardableResult
    public static func apply(_ policy: BLASThreadPolicy) -> Bool {
        guard !ParallelRegion.isActive else { return false }
        switch policy {
        case .singleThreaded: openblas_set_num_threads(1)
        case .multiThreaded(let n): openblas_set_num_threads(Int32(clamping: max(1, n)))
        }
        return true
    }

    /// OpenBLAS's current thread count.
    public static var current: Int { Int(openblas_get_num_threads()) }

    /// OpenBLAS's build configuration string (version, kernel, `MAX_THREADS`).
    public static var configuration: String {
        guard let c = openblas_get_config() else { return "unknown" }
        return String(cString: c).trimmingCharacters(in: .whitespaces)
    }

    /// The CPU core type OpenBLAS selected its kernels for (e.g. `Zen`, `Haswell`).
    public static var coreName: String {
        guard let c = openblas_get_corename() else { return "unknown" }
        return String(cString: c)
    }

    /// How OpenBLAS was built to parallelize: 0 sequential, 1 pthreads, 2 OpenMP.
    public static var parallelMode: Int { Int(openblas_get_parallel()) }
}
