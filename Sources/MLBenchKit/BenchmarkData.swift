#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Deterministic benchmark inputs that a C or Python peer can regenerate bit for bit.
///
/// Element `i` of stream `seed` is `((splitmix64((seed << 32) ^ i) >> 32) % 17 − 8) / 8`: one of
/// the 17 values −1, −0.875, …, 1. Products are multiples of 1/64 and a dot product of length
/// k ≤ 2¹⁶ stays an exact Float, so GEMM results do not depend on the summation order, the
/// kernel or the thread count, and checksums agree exactly between us and a peer. The same
/// formula is in `Benchmarks/peers/gemm/small_calls.c`.
public enum BenchmarkData {
    @inlinable @inline(__always)
    public static func splitmix64(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Element `index` of stream `seed`.
    @inlinable
    public static func value<T: BinaryFloatingPoint>(seed: UInt64, index: Int, as: T.Type = T.self) -> T {
        let h = splitmix64((seed << 32) ^ UInt64(truncatingIfNeeded: index))
        return T(Int((h >> 32) % 17) - 8) / 8
    }

    /// Fills `buffer` with stream `seed`.
    @inlinable
    public static func fill<T: BinaryFloatingPoint>(_ buffer: UnsafeMutableBufferPointer<T>, seed: UInt64) {
        for i in buffer.indices { buffer[i] = value(seed: seed, index: i) }
    }

    /// The sum of `buffer` in Double, in index order: the checksum both sides print.
    @inlinable
    public static func checksum<T: BinaryFloatingPoint>(_ buffer: UnsafeBufferPointer<T>) -> Double {
        var sum = 0.0
        for x in buffer { sum += Double(x) }
        return sum
    }
}

/// A 64-byte-aligned buffer of `count` elements, zeroed, freed on deinit. Allocation failure is
/// a thrown error, not a trap (a 4096² dgemm needs 400 MB).
public final class AlignedBuffer<T: BinaryFloatingPoint> {
    public let pointer: UnsafeMutableBufferPointer<T>

    public init(count: Int, workload: String) throws(BenchmarkError) {
        let bytes = count.multipliedReportingOverflow(by: MemoryLayout<T>.stride)
        guard count > 0, !bytes.overflow else {
            throw .setupFailed(workload: workload, detail: "cannot allocate \(count) elements")
        }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, bytes.partialValue) == 0, let raw else {
            throw .setupFailed(workload: workload, detail: "out of memory allocating \(bytes.partialValue / 1_048_576) MiB")
        }
        memset(raw, 0, bytes.partialValue)
        pointer = UnsafeMutableBufferPointer(start: raw.bindMemory(to: T.self, capacity: count), count: count)
    }

    deinit { free(pointer.baseAddress) }

    /// The first element; the buffer is never empty.
    public var base: UnsafeMutablePointer<T> {
        pointer.baseAddress! // invariant: init allocated count > 0 elements
    }
    public var readOnly: UnsafeBufferPointer<T> { UnsafeBufferPointer(pointer) }
}
