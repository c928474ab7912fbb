import Foundation
import MLAlgorithms
import Testing
@testable import MLContainer

@Suite("MemoryBudget: MLC_MEMORY_BUDGET_MB, the machine's memory and the cgroup limit")
struct MemoryBudgetTests {
    /// A fake cgroup root holding `files` (path → contents).
    func cgroup(_ files: [String: String]) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cgroup-\(UUID().uuidString)").path
        for (path, text) in files {
            let full = root + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: full))
        }
        return root
    }

    @Test("MLC_MEMORY_BUDGET_MB in MiB, fractions allowed; a value that is not a number ≥ 0 is ignored")
    func environment() throws {
        #expect(MemoryBudget.fromEnvironment(["MLC_MEMORY_BUDGET_MB": "2"]) == MemoryBudget(bytes: 2 << 20, isExplicit: true))
        #expect(MemoryBudget.fromEnvironment(["MLC_MEMORY_BUDGET_MB": "0.5"]).bytes == 1 << 19)
        #expect(MemoryBudget.fromEnvironment(["MLC_MEMORY_BUDGET_MB": "0"]).bytes == 0)
        for bad in ["-1", "lots", "nan", ""] {
            #expect(!MemoryBudget.fromEnvironment(["MLC_MEMORY_BUDGET_MB": bad]).isExplicit, "\(bad)")
        }
    }

    @Test("the default: 90% of the smaller of physical memory and the cgroup limit (v2 memory.max, v1 memory.limit_in_bytes)")
    func defaults() throws {
        let physical = Int(ProcessInfo.processInfo.physicalMemory)
        let v2 = try cgroup(["memory.max": "1073741824\n"])
        defer { try? FileManager.default.removeItem(atPath: v2) }
        #expect(MemoryBudget.fromEnvironment([:], cgroupRoot: v2).bytes == Int(Double(min(physical, 1 << 30)) * 0.9))
        let v1 = try cgroup(["memory/memory.limit_in_bytes": "536870912\n"])
        defer { try? FileManager.default.removeItem(atPath: v1) }
        #expect(MemoryBudget.availableMemory(cgroupRoot: v1) == min(physical, 1 << 29))
        let unlimited = try cgroup(["memory.max": "max\n", "memory/memory.limit_in_bytes": "9223372036854771712\n"])
        defer { try? FileManager.default.removeItem(atPath: unlimited) }
        #expect(MemoryBudget.availableMemory(cgroupRoot: unlimited) == physical)
    }

    @Test("check: silent within the budget; over it, an error with what, the bytes needed, the budget and its source")
    func check() throws {
        let budget = MemoryBudget(bytes: 1 << 20, isExplicit: true)
        try budget.check(1 << 20, for: "the data", remedy: "use less")
        #expect(throws: MemoryBudgetError.self) { try budget.check((1 << 20) + 1, for: "the data", remedy: "use less") }
        do {
            try budget.check(3 << 20, for: "the train channel", remedy: "use a larger instance")
        } catch {
            #expect(error.needed == 3 << 20 && error.budget == 1 << 20)
            #expect(error.description == "the train channel needs about 3.0 MiB (3145728 bytes) of memory, over the memory budget of "
                    + "1.0 MiB (1048576 bytes) (MLC_MEMORY_BUDGET_MB); use a larger instance")
        }
    }

    @Test("k-means: centres that would not fit (k=1,000,000 × feature_dim=100,000) are refused before training, with the bytes; 10 × 64 pass")
    func kmeansCentres() throws {
        let budget = MemoryBudget(bytes: 1 << 30, isExplicit: false)
        let huge = try KMeansHyperparameters(strings: ["k": "1000000", "feature_dim": "100000"])
        #expect {
            try KMeansJob.checkMemory(huge, workers: 2, budget: budget)
        } throws: { error in
            guard case ContainerError.client(let message)? = error as? ContainerError else { return false }
            return message.hasPrefix("k-means' centres (k=1000000") && message.contains("over the memory budget of 1.0 GiB (1073741824 bytes)")
        }
        try KMeansJob.checkMemory(try KMeansHyperparameters(strings: ["k": "10", "feature_dim": "64"]), workers: 2, budget: budget)
    }
}
