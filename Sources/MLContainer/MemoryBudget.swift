import Foundation

/// How much memory training may take for its data and model buffers, checked before the large
/// allocations are made, so data too large for the machine ends in an error that says how much
/// was needed — never in the kernel's OOM kill, which leaves no message (docs/reliability.md
/// "Faults").
///
/// The budget is `MLC_MEMORY_BUDGET_MB` (MiB, fractions allowed) when set; otherwise 90% of the
/// smaller of physical memory and the container's memory limit (cgroup v2 `memory.max`, v1
/// `memory.limit_in_bytes`). Algorithms that can stream (linear learner, PCA, k-means, Pipe
/// mode) stream data over the budget instead of refusing it; the others refuse it with
/// ``MemoryBudgetError``.
public struct MemoryBudget: Sendable, Equatable {
    /// The budget in bytes.
    public var bytes: Int
    /// Whether `MLC_MEMORY_BUDGET_MB` set it (rather than the machine's memory).
    public var isExplicit: Bool

    public init(bytes: Int, isExplicit: Bool) {
        self.bytes = max(0, bytes)
        self.isExplicit = isExplicit
    }

    /// The environment variable that sets the budget.
    public static let environmentKey = "MLC_MEMORY_BUDGET_MB"

    /// From `MLC_MEMORY_BUDGET_MB`, else 90% of min(physical memory, the cgroup memory limit).
    /// A value that is not a number ≥ 0 is ignored (the default applies).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment,
                                       cgroupRoot: String = "/sys/fs/cgroup") -> MemoryBudget {
        if let text = environment[environmentKey], let mb = Double(text), mb.isFinite, mb >= 0 {
            return MemoryBudget(bytes: Int(min(mb * 1_048_576, Double(Int.max / 2))), isExplicit: true)
        }
        return MemoryBudget(bytes: Int(Double(availableMemory(cgroupRoot: cgroupRoot)) * 0.9), isExplicit: false)
    }

    /// The smaller of physical memory and the cgroup limit (v2, then v1; "max" or an absurdly
    /// large v1 value means none).
    public static func availableMemory(cgroupRoot: String = "/sys/fs/cgroup") -> Int {
        let physical = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        var limit = physical
        for file in ["/memory.max", "/memory/memory.limit_in_bytes"] {
            guard let text = try? String(contentsOfFile: cgroupRoot + file, encoding: .utf8),
                  let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), value > 0
            else { continue }
            limit = min(limit, value)
        }
        return limit
    }

    /// Throws when `needed` bytes (for `what`, e.g. "the train channel as 1,000,000 × 30
    /// float32 values") do not fit. `remedy` says what the user can change.
    public func check(_ needed: Int, for what: String, remedy: String) throws(MemoryBudgetError) {
        guard needed > bytes else { return }
        throw MemoryBudgetError(needed: needed, budget: bytes, what: what, isExplicit: isExplicit, remedy: remedy)
    }
}

/// Data or model buffers that would not fit in the ``MemoryBudget``: what, how many bytes, the
/// budget and where it came from, and what to change.
public struct MemoryBudgetError: Error, Equatable, Sendable, CustomStringConvertible {
    public var needed: Int
    public var budget: Int
    public var what: String
    public var isExplicit: Bool
    public var remedy: String

    public var description: String {
        let source = isExplicit ? "\(MemoryBudget.environmentKey)" : "90% of this machine's memory (set \(MemoryBudget.environmentKey) to change it)"
        return "\(what) needs about \(Self.megabytes(needed)) of memory, over the memory budget of \(Self.megabytes(budget)) (\(source)); \(remedy)"
    }

    /// `n` bytes in MiB with one decimal (GiB from 1 GiB), for naming the parts of a need.
    static func short(_ n: Int) -> String {
        n >= 1 << 30 ? String(format: "%.1f GiB", Double(n) / Double(1 << 30)) : String(format: "%.1f MiB", Double(n) / Double(1 << 20))
    }

    static func megabytes(_ n: Int) -> String {
        n >= 1 << 30 ? String(format: "%.1f GiB (%d bytes)", Double(n) / Double(1 << 30), n)
            : String(format: "%.1f MiB (%d bytes)", Double(n) / Double(1 << 20), n)
    }
}
