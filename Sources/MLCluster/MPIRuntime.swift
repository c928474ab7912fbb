#if MPI
import CMPI
import Foundation
import Synchronization

/// MPI's process-wide life cycle: initialised once, on first use, and finalised at exit.
///
/// Initialisation asks for `MPI_THREAD_SERIALIZED`: a process hosts one rank and calls
/// collectives from one thread at a time, but not always the thread that initialised MPI (a
/// trainer may run its rank on a worker thread). Errors on `MPI_COMM_WORLD` are returned, not
/// fatal, so they surface as ``CommunicatorError`` values with MPI's own message.
///
/// Nothing here runs unless asked: `mlc train` calls ``start()`` only when
/// ``MPIEnvironment/isLaunchedByMPI(_:)`` says `mpirun` started it.
public enum MPIRuntime {
    private enum State: Sendable {
        case idle
        case running(rank: Int, size: Int)
        /// A collective timed out or failed with requests still pending: finalising could wait
        /// for ranks that never come, so exit aborts instead.
        case broken
        case failed(ClusterError)
    }

    private static let state = Mutex<State>(.idle)

    /// Initialises MPI if this process has not yet, and returns this rank and the world size.
    public static func start() throws(ClusterError) -> (rank: Int, size: Int) {
        let outcome: Result<(rank: Int, size: Int), ClusterError> = state.withLock { state in
            switch state {
            case .running(let rank, let size): return .success((rank, size))
            case .failed(let error): return .failure(error)
            case .broken: return .failure(.runtime("MPI is unusable after an earlier collective failed"))
            case .idle:
                var provided: Int32 = 0
                var rc = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_SERIALIZED), &provided)
                guard rc == MPI_SUCCESS else {
                    let error = ClusterError.runtime("MPI_Init_thread failed (code \(rc)); was this process started by mpirun?")
                    state = .failed(error)
                    return .failure(error)
                }
                atexit { MPIRuntime.finish() }
                guard provided >= Int32(MPI_THREAD_SERIALIZED) else {
                    let error = ClusterError.runtime("this Open MPI provides thread level \(provided), below MPI_THREAD_SERIALIZED (\(MPI_THREAD_SERIALIZED))")
                    state = .failed(error)
                    return .failure(error)
                }
                rc = MPI_Comm_set_errhandler(mlc_mpi_comm_world(), mlc_mpi_errors_return())
                var rank: Int32 = 0, size: Int32 = 0
                if rc == MPI_SUCCESS { rc = MPI_Comm_rank(mlc_mpi_comm_world(), &rank) }
                if rc == MPI_SUCCESS { rc = MPI_Comm_size(mlc_mpi_comm_world(), &size) }
                guard rc == MPI_SUCCESS else {
                    let error = ClusterError.runtime("MPI setup failed: \(errorString(rc))")
                    state = .failed(error)
                    return .failure(error)
                }
                state = .running(rank: Int(rank), size: Int(size))
                return .success((Int(rank), Int(size)))
            }
        }
        return try outcome.get()
    }

    /// Whether MPI is initialised in this process (and not yet finalised).
    public static var isRunning: Bool {
        state.withLock { state in
            switch state {
            case .running, .broken: true
            case .idle, .failed: false
            }
        }
    }

    /// Records that a collective was abandoned with its request pending.
    static func markBroken() {
        state.withLock { $0 = .broken }
    }

    /// Ends every process of the job: prints nothing itself (the caller says why), flushes this
    /// process's output, then `MPI_Abort`, which has `mpirun` kill every rank and exit with `code`.
    public static func abortJob(code: Int32 = 1) -> Never {
        fflush(nil)
        let initialised = state.withLock { state -> Bool in
            if case .running = state { return true }
            if case .broken = state { return true }
            return false
        }
        if initialised { _ = MPI_Abort(mlc_mpi_comm_world(), code) }
        // MPI_Abort does not return in Open MPI; if it ever did, still end this rank.
        exit(code)
    }

    /// At exit: `MPI_Finalize` after a clean run. Open MPI's finalize waits for every rank (a
    /// PMIx fence), so after a failed collective this process aborts instead of waiting.
    private static func finish() {
        let current = state.withLock { state -> State in
            let current = state
            state = .idle
            return current
        }
        var finalized: Int32 = 0
        _ = MPI_Finalized(&finalized)
        guard finalized == 0 else { return }
        switch current {
        case .running: _ = MPI_Finalize()
        case .broken: _ = MPI_Abort(mlc_mpi_comm_world(), 1)
        case .idle, .failed: break
        }
    }

    /// MPI's text for an error code.
    static func errorString(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        var length: Int32 = 0
        guard MPI_Error_string(code, &buffer, &length) == MPI_SUCCESS else { return "MPI error \(code)" }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
#endif
