import MLCore

/// Not API: the script `mpicheck` runs under `mpirun` and MLClusterTests runs over
/// ``InProcessCommunicator``, so the two transports can be compared line for line, bit for bit.
///
/// Every collective with ranks contributing different lengths (one of them none), Float and
/// Double, special values (−0, subnormals, infinities, a NaN payload), sums whose bits depend
/// on the order of addition, a message too large for MPI's eager protocol, and a type mismatch.
/// Each line prints values as hexadecimal bit patterns.
public enum _CollectiveCheck {
    public static func run(_ comm: any Communicator) -> [String] {
        var lines: [String] = []
        func record(_ label: String, _ body: () throws -> String) {
            do {
                lines.append(label + ": " + (try body()))
            } catch {
                guard let error = error as? CommunicatorError else {
                    lines.append(label + ": error \(error)")
                    return
                }
                // The case alone: the wording of a reason may differ between transports.
                let kind: String = switch error {
                case .aborted: "aborted"
                case .mismatch(let operation, _): "mismatch(\(operation))"
                case .timedOut(let operation, _): "timedOut(\(operation))"
                }
                lines.append(label + ": error " + kind)
            }
        }
        let r = comm.rank, n = comm.size

        record("rank/size") { "\(r)/\(n)" }
        record("allGather Float uneven") {
            // Rank 1 contributes nothing; the others 3r + 1 values.
            let local: [Float] = r == 1 ? [] : (0..<(3 * r + 1)).map { i in values(Float.self, rank: r, index: i) }
            return render(try comm.allGather(local))
        }
        record("allGather Double uneven") {
            let local: [Double] = (0..<(n - r) * 2).map { i in values(Double.self, rank: r, index: i) }
            return render(try comm.allGather(local))
        }
        record("allGather Float all empty") { render(try comm.allGather([Float]())) }
        record("allReduceSum Float order-sensitive") {
            // 1e8 + 1 − 1e8 is 0 or 1 depending on the order; the sum is in rank order.
            var buffer: [Float] = (0..<257).map { i in
                let big: Float = (i + r) % 3 == 0 ? 1e8 : ((i + r) % 3 == 1 ? -1e8 : 1)
                return big * (1 + Float(r) / 7) + values(Float.self, rank: r, index: i)
            }
            try comm.allReduceSum(&buffer)
            return render([buffer])
        }
        record("allReduceSum Double") {
            var buffer: [Double] = (0..<100).map { i in values(Double.self, rank: r, index: i) * 1e10 + 0.1 * Double(i) }
            try comm.allReduceSum(&buffer)
            return render([buffer])
        }
        record("allToAll Double uneven") {
            // Rank r sends rank d (r + 2d) mod 4 values (some parts empty).
            let parts: [[Double]] = (0..<n).map { d in (0..<((r + 2 * d) % 4)).map { i in values(Double.self, rank: r, index: 10 * d + i) } }
            return render(try comm.allToAll(parts))
        }
        record("allToAll Float") {
            let parts: [[Float]] = (0..<n).map { d in (0..<(d + 1)).map { i in values(Float.self, rank: r, index: 7 * d + i) } }
            return render(try comm.allToAll(parts))
        }
        record("broadcast Float from the last rank") {
            let mine: [Float] = (0..<(r == n - 1 ? 33 : r + 5)).map { i in values(Float.self, rank: r, index: i) }
            return render([try comm.broadcast(mine, root: n - 1)])
        }
        record("broadcast Double from rank 0, empty") {
            render([try comm.broadcast(r == 0 ? [Double]() : [1, 2, 3], root: 0)])
        }
        record("broadcast Double from rank 1") {
            render([try comm.broadcast((0..<(r + 2)).map { i in values(Double.self, rank: r, index: i) }, root: min(1, n - 1))])
        }
        record("barrier") {
            try comm.barrier()
            return "ok"
        }
        record("allGather Float large") {
            // 300,000 values from rank 0 (1.2 MB: past the eager limit of every Open MPI transport).
            let local: [Float] = r == 0 ? (0..<300_000).map { i in values(Float.self, rank: r, index: i) } : [Float(r)]
            let all = try comm.allGather(local)
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for part in all {
                for v in part { hash = (hash ^ UInt64(v.bitPattern)) &* 0x100_0000_01b3 }
            }
            return all.map { "\($0.count)" }.joined(separator: ",") + " fnv1a=" + String(hash, radix: 16)
        }
        record("allGather type mismatch") {
            if r % 2 == 0 { return render(try comm.allGather([Float(1)])) }
            return render(try comm.allGather([Double(1)]))
        }
        record("broadcast invalid root") { render([try comm.broadcast([Float(1)], root: n)]) }
        record("barrier at the end") {
            try comm.barrier()
            return "ok"
        }
        return lines
    }

    /// A value with an irregular mantissa, and a special value every 11th index.
    static func values<T: BLASScalar>(_: T.Type, rank: Int, index: Int) -> T {
        let specials: [T] = [-0.0, T.leastNonzeroMagnitude, -T.infinity, T.greatestFiniteMagnitude, 
                             T(sign: .plus, exponentBitPattern: T.nan.exponentBitPattern,
                               significandBitPattern: T.nan.significandBitPattern | 0x15)]
        if index % 11 == 10 { return specials[(index / 11 + rank) % specials.count] }
        let x = Double(rank * 7919 + index * 104_729 + 1)
        return T((x * 0.6180339887498949).truncatingRemainder(dividingBy: 1) * 2000 - 1000) / T(rank + 3)
    }

    /// Sign, exponent and significand fields in hexadecimal: every bit, NaN payloads included.
    static func bits<T: BLASScalar>(_ v: T) -> String {
        (v.sign == .minus ? "-" : "+") + String(v.exponentBitPattern, radix: 16) + "." + String(v.significandBitPattern, radix: 16)
    }

    static func render<T: BLASScalar>(_ parts: [[T]]) -> String {
        parts.map { part in
            "[" + part.map(bits).joined(separator: " ") + "]"
        }.joined(separator: " ")
    }
}
