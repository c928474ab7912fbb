#if MPI
import CMPI
import Foundation
import MLCore

/// ``Communicator`` whose ranks are the processes of an MPI job (`MPI_COMM_WORLD`), one rank per
/// process.
///
/// Results are the same bits as ``InProcessCommunicator``'s for the same inputs: `allGather`
/// returns every rank's values untouched in rank order, and the reductions built on it
/// (`allReduceSum`, `reduceMicroShards`) add in the order they do in process. MPI's own
/// reductions (`MPI_Allreduce`) are not used: their summation order depends on the algorithm
/// Open MPI picks for the message size and rank count.
///
/// Every collective starts with a header exchange — operation, element type, length, root —
/// so every rank sees the same disagreement (another collective, another type, another root)
/// and throws the same ``CommunicatorError/mismatch(operation:reason:)`` instead of handing MPI
/// mismatched calls. The exchange is itself a barrier: no rank's allgather completes before every
/// rank has contributed, which is all `barrier()` needs.
///
/// Every wait is bounded: the non-blocking forms (`MPI_Iallgather`, `MPI_Iallgatherv`,
/// `MPI_Ibcast`) are polled with `MPI_Test` until ``timeout``, then
/// ``CommunicatorError/timedOut(operation:seconds:)`` is thrown. MPI cannot cancel a collective,
/// so the buffers of one that timed out are deliberately never freed, and the group must be
/// aborted (``MPIWorkerGroup`` does).
public struct MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    /// Seconds each collective waits for the other ranks.
    public let timeout: Double

    /// This process's rank of `MPI_COMM_WORLD`, initialising MPI if needed. `timeout` defaults
    /// to ``MPIEnvironment/collectiveTimeout(_:)`` of the process environment.
    public static func world(timeout: Double? = nil,
                             environment: [String: String] = ProcessInfo.processInfo.environment) throws(ClusterError) -> MPICommunicator {
        let seconds: Double
        if let timeout { seconds = timeout } else { seconds = try MPIEnvironment.collectiveTimeout(environment) }
        let (rank, size) = try MPIRuntime.start()
        return MPICommunicator(rank: rank, size: size, timeout: seconds)
    }

    private init(rank: Int, size: Int, timeout: Double) {
        self.rank = rank
        self.size = size
        self.timeout = timeout
    }

    public func allGather<T: BLASScalar>(_ local: [T]) throws(CommunicatorError) -> [[T]] {
        let operation = "allGather"
        let type = try Self.elementType(T.self, operation: operation)
        let headers = try exchangeHeaders(Header(operation: .allGather, type: type.code, count: local.count, root: 0), name: operation)
        for (r, header) in headers.enumerated() where header.type != type.code {
            throw .mismatch(operation: operation, reason: "rank \(r) passed [\(Self.typeName(header.type))], rank \(rank) [\(T.self)]")
        }
        let counts = headers.map(\.count)
        let total = counts.reduce(0, +)
        guard total <= Int(Int32.max) else {
            throw .mismatch(operation: operation, reason: "\(total) values in all exceed MPI's 32-bit element count")
        }
        // Buffers MPI may still write after a timeout are never freed (see the type's comment).
        let send = UnsafeMutablePointer<T>.allocate(capacity: max(1, local.count))
        let receive = UnsafeMutablePointer<T>.allocate(capacity: max(1, total))
        let countsAndDisplacements = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * size)
        var completed = false
        defer {
            if completed {
                send.deallocate()
                receive.deallocate()
                countsAndDisplacements.deallocate()
            }
        }
        local.withUnsafeBufferPointer { l in
            if let base = l.baseAddress { send.initialize(from: base, count: l.count) }
        }
        var offset = 0
        for r in 0..<size {
            countsAndDisplacements[r] = Int32(counts[r])
            countsAndDisplacements[size + r] = Int32(offset)
            offset += counts[r]
        }
        var request: MPI_Request? = mlc_mpi_request_null()
        let rc = MPI_Iallgatherv(send, Int32(local.count), type.datatype, receive, countsAndDisplacements,
                                 countsAndDisplacements + size, type.datatype, mlc_mpi_comm_world(), &request)
        try check(rc, operation: operation, call: "MPI_Iallgatherv")
        try wait(&request, operation: operation)
        completed = true
        var out: [[T]] = []
        out.reserveCapacity(size)
        offset = 0
        for r in 0..<size {
            out.append(Array(UnsafeBufferPointer(start: receive + offset, count: counts[r])))
            offset += counts[r]
        }
        return out
    }

    public func broadcast<T: BLASScalar>(_ buffer: [T], root: Int) throws(CommunicatorError) -> [T] {
        guard (0..<size).contains(root) else {
            throw .mismatch(operation: "broadcast", reason: "root \(root) is not a rank of \(size)")
        }
        let operation = "broadcast(root: \(root))"
        let type = try Self.elementType(T.self, operation: "broadcast")
        let headers = try exchangeHeaders(Header(operation: .broadcast, type: type.code, count: rank == root ? buffer.count : 0, root: root),
                                          name: operation)
        guard headers[root].type == type.code else {
            throw .mismatch(operation: "broadcast", reason: "root \(root) passed [\(Self.typeName(headers[root].type))], rank \(rank) expects [\(T.self)]")
        }
        let count = headers[root].count
        guard count <= Int(Int32.max) else {
            throw .mismatch(operation: "broadcast", reason: "\(count) values exceed MPI's 32-bit element count")
        }
        let data = UnsafeMutablePointer<T>.allocate(capacity: max(1, count))
        var completed = false
        defer { if completed { data.deallocate() } }
        if rank == root {
            buffer.withUnsafeBufferPointer { b in
                if let base = b.baseAddress { data.initialize(from: base, count: count) }
            }
        }
        var request: MPI_Request? = mlc_mpi_request_null()
        let rc = MPI_Ibcast(data, Int32(count), type.datatype, Int32(root), mlc_mpi_comm_world(), &request)
        try check(rc, operation: operation, call: "MPI_Ibcast")
        try wait(&request, operation: operation)
        completed = true
        return Array(UnsafeBufferPointer(start: data, count: count))
    }

    public func barrier() throws(CommunicatorError) {
        _ = try exchangeHeaders(Header(operation: .barrier, type: 0, count: 0, root: 0), name: "barrier")
    }

    /// `MPI_Ialltoall` of the part lengths, then `MPI_Ialltoallv` of the parts: each part
    /// crosses the network once, to its rank.
    public func allToAll<T: BLASScalar>(_ parts: [[T]]) throws(CommunicatorError) -> [[T]] {
        let operation = "allToAll"
        guard parts.count == size else {
            throw .mismatch(operation: operation, reason: "rank \(rank) passed \(parts.count) parts for \(size) ranks")
        }
        let type = try Self.elementType(T.self, operation: operation)
        let sent = parts.reduce(0) { $0 + $1.count }
        let headers = try exchangeHeaders(Header(operation: .allToAll, type: type.code, count: sent, root: 0), name: operation)
        for (r, header) in headers.enumerated() where header.type != type.code {
            throw .mismatch(operation: operation, reason: "rank \(r) passed [\(Self.typeName(header.type))], rank \(rank) [\(T.self)]")
        }
        guard sent <= Int(Int32.max) else {
            throw .mismatch(operation: operation, reason: "\(sent) values exceed MPI's 32-bit element count")
        }
        // The lengths each rank sends this one.
        let lengthsOut = UnsafeMutablePointer<Int64>.allocate(capacity: size)
        let lengthsIn = UnsafeMutablePointer<Int64>.allocate(capacity: size)
        var lengthsDone = false
        defer {
            if lengthsDone {
                lengthsOut.deallocate()
                lengthsIn.deallocate()
            }
        }
        for d in 0..<size { lengthsOut[d] = Int64(parts[d].count) }
        var request: MPI_Request? = mlc_mpi_request_null()
        var rc = MPI_Ialltoall(lengthsOut, 1, mlc_mpi_int64(), lengthsIn, 1, mlc_mpi_int64(), mlc_mpi_comm_world(), &request)
        try check(rc, operation: operation, call: "MPI_Ialltoall")
        try wait(&request, operation: operation)
        lengthsDone = true
        let received = (0..<size).map { Int(lengthsIn[$0]) }
        let total = received.reduce(0, +)
        guard total <= Int(Int32.max) else {
            throw .mismatch(operation: operation, reason: "\(total) values received exceed MPI's 32-bit element count")
        }
        // Buffers MPI may still write after a timeout are never freed (see the type's comment).
        let send = UnsafeMutablePointer<T>.allocate(capacity: max(1, sent))
        let receive = UnsafeMutablePointer<T>.allocate(capacity: max(1, total))
        let layout = UnsafeMutablePointer<Int32>.allocate(capacity: 4 * size)
        var completed = false
        defer {
            if completed {
                send.deallocate()
                receive.deallocate()
                layout.deallocate()
            }
        }
        var offset = 0, inOffset = 0
        for d in 0..<size {
            parts[d].withUnsafeBufferPointer { p in
                if let base = p.baseAddress { (send + offset).initialize(from: base, count: p.count) }
            }
            layout[d] = Int32(parts[d].count)
            layout[size + d] = Int32(offset)
            layout[2 * size + d] = Int32(received[d])
            layout[3 * size + d] = Int32(inOffset)
            offset += parts[d].count
            inOffset += received[d]
        }
        request = mlc_mpi_request_null()
        rc = MPI_Ialltoallv(send, layout, layout + size, type.datatype, receive, layout + 2 * size, layout + 3 * size, type.datatype,
                            mlc_mpi_comm_world(), &request)
        try check(rc, operation: operation, call: "MPI_Ialltoallv")
        try wait(&request, operation: operation)
        completed = true
        var out: [[T]] = []
        out.reserveCapacity(size)
        inOffset = 0
        for s in 0..<size {
            out.append(Array(UnsafeBufferPointer(start: receive + inOffset, count: received[s])))
            inOffset += received[s]
        }
        return out
    }

    /// Prints `reason` to stderr and ends the whole job (`MPI_Abort`): `mpirun` kills every
    /// rank, wherever it is, and exits non-zero. Does not return.
    public func abort(reason: String) {
        let line = "mlc: MPI rank \(rank) of \(size) aborts the job: \(reason)\n"
        FileHandle.standardError.write(Data(line.utf8))
        MPIRuntime.abortJob(code: 1)
    }

    // MARK: - Headers

    private enum Operation: Int64 {
        case allGather = 1, broadcast = 2, barrier = 3, allToAll = 4
    }

    private struct Header {
        var operation: Int64
        var type: Int64
        var count: Int
        var root: Int

        init(operation: Operation, type: Int64, count: Int, root: Int) {
            self.operation = operation.rawValue
            self.type = type
            self.count = count
            self.root = root
        }

        init(_ words: UnsafePointer<Int64>) {
            operation = words[0]
            type = words[1]
            count = Int(words[2])
            root = Int(words[3])
        }

        var name: String {
            switch Operation(rawValue: operation) {
            case .allGather: "allGather"
            case .broadcast: "broadcast(root: \(root))"
            case .barrier: "barrier"
            case .allToAll: "allToAll"
            case nil: "unknown collective \(operation)"
            }
        }
    }

    /// Every rank's header, in rank order; throws the same mismatch on every rank when they
    /// called different collectives (or broadcast from different roots).
    private func exchangeHeaders(_ header: Header, name: String) throws(CommunicatorError) -> [Header] {
        let words = 4
        let send = UnsafeMutablePointer<Int64>.allocate(capacity: words)
        let receive = UnsafeMutablePointer<Int64>.allocate(capacity: words * size)
        var completed = false
        defer {
            if completed {
                send.deallocate()
                receive.deallocate()
            }
        }
        send[0] = header.operation
        send[1] = header.type
        send[2] = Int64(header.count)
        send[3] = Int64(header.root)
        var request: MPI_Request? = mlc_mpi_request_null()
        let rc = MPI_Iallgather(send, Int32(words), mlc_mpi_int64(), receive, Int32(words), mlc_mpi_int64(), mlc_mpi_comm_world(), &request)
        try check(rc, operation: name, call: "MPI_Iallgather")
        try wait(&request, operation: name)
        completed = true
        let headers = (0..<size).map { Header(receive + $0 * words) }
        if Set(headers.map(\.name)).count > 1 {
            let reason = "ranks called " + headers.enumerated().map { "\($0.offset): \($0.element.name)" }.joined(separator: ", ")
            throw .mismatch(operation: name, reason: reason)
        }
        return headers
    }

    // MARK: - Waiting

    /// Polls `request` until it completes or ``timeout`` passes. Spins first (a synchronous
    /// trainer's ranks arrive within microseconds of each other), then sleeps between polls,
    /// doubling up to a millisecond so waiting ranks leave the cores to the ranks they wait for.
    private func wait(_ request: inout MPI_Request?, operation: String) throws(CommunicatorError) {
        let start = DispatchTime.now().uptimeNanoseconds
        let deadline = start &+ UInt64(min(timeout, 1e9) * 1e9)
        var flag: Int32 = 0
        var polls = 0
        var pause: UInt32 = 10
        while true {
            let rc = MPI_Test(&request, &flag, mlc_mpi_status_ignore())
            try check(rc, operation: operation, call: "MPI_Test")
            if flag != 0 { return }
            if DispatchTime.now().uptimeNanoseconds >= deadline {
                MPIRuntime.markBroken()
                throw .timedOut(operation: operation, seconds: timeout)
            }
            polls += 1
            if polls > 100 {
                usleep(pause)
                pause = min(pause * 2, 1000)
            }
        }
    }

    private func check(_ rc: Int32, operation: String, call: String) throws(CommunicatorError) {
        guard rc != MPI_SUCCESS else { return }
        MPIRuntime.markBroken()
        throw .aborted(rank: rank, reason: "\(operation): \(call) failed: \(MPIRuntime.errorString(rc))")
    }

    // MARK: - Element types

    private struct ElementType {
        var code: Int64
        var datatype: MPI_Datatype?
    }

    private static func elementType<T: BLASScalar>(_ type: T.Type, operation: String) throws(CommunicatorError) -> ElementType {
        if type == Float.self { return ElementType(code: 1, datatype: mlc_mpi_float()) }
        if type == Double.self { return ElementType(code: 2, datatype: mlc_mpi_double()) }
        throw .mismatch(operation: operation, reason: "\(T.self) has no MPI datatype here (Float and Double do)")
    }

    private static func typeName(_ code: Int64) -> String {
        switch code {
        case 1: "Float"
        case 2: "Double"
        default: "type \(code)"
        }
    }
}
#endif
