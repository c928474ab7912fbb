import Foundation
import MLCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The machine and build a run measured, printed with every report (LightGBM
/// `docs/Experiments.rst`: environment and settings beside the results).
public struct MachineInfo: Sendable, Equatable {
    /// `model name` from /proc/cpuinfo.
    public var cpuModel: String
    /// Online cores.
    public var cores: Int
    /// The cgroup CPU quota in CPUs, when one is set.
    public var cpuQuota: Double?
    /// `ComputeContext.defaultThreadCount()`: min(cores, quota) or `MLCORE_THREADS`.
    public var defaultThreads: Int
    /// `openblas_get_config()`, `openblas_get_corename()`, `openblas_get_parallel()` and
    /// `openblas_get_num_threads()` when the run started.
    public var openBLASConfiguration: String
    public var openBLASCoreName: String
    public var openBLASParallelMode: Int
    public var openBLASThreadsAtStart: Int
    /// `git rev-parse --short HEAD`, with `-dirty` when tracked files have uncommitted changes;
    /// "unknown" outside a git checkout.
    public var commit: String

    public static func detect(currentDirectory: URL? = nil) -> MachineInfo {
        let quota = CPUQuota.detect()
        return MachineInfo(
            cpuModel: cpuModelName() ?? "unknown",
            cores: ProcessInfo.processInfo.activeProcessorCount,
            cpuQuota: quota?.cpus,
            defaultThreads: ComputeContext.defaultThreadCount(),
            openBLASConfiguration: BLASThreads.configuration,
            openBLASCoreName: BLASThreads.coreName,
            openBLASParallelMode: BLASThreads.parallelMode,
            openBLASThreadsAtStart: BLASThreads.current,
            commit: gitCommit(in: currentDirectory))
    }

    /// "pthreads", "OpenMP" or "sequential".
    public var openBLASParallelName: String {
        switch openBLASParallelMode {
        case 0: return "sequential"
        case 1: return "pthreads"
        case 2: return "OpenMP"
        default: return "parallel mode \(openBLASParallelMode)"
        }
    }

    /// The first `model name` (x86) or `Processor`/`cpu model` line of /proc/cpuinfo.
    static func cpuModelName(cpuinfo path: String = "/proc/cpuinfo") -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            if key == "model name" || key == "Processor" || key == "cpu model" {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    static func gitCommit(in directory: URL?) -> String {
        guard let head = try? Subprocess.run("git", ["rev-parse", "--short", "HEAD"], currentDirectory: directory),
              head.succeeded
        else { return "unknown" }
        let commit = head.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !commit.isEmpty else { return "unknown" }
        let status = try? Subprocess.run(
            "git", ["status", "--porcelain", "--untracked-files=no"], currentDirectory: directory)
        let dirty = status.map { $0.succeeded && !$0.stdout.isEmpty } ?? false
        return dirty ? commit + "-dirty" : commit
    }
}

/// The peak resident set of this process image so far, in MiB.
///
/// On Linux, `VmHWM` from /proc/self/status: `getrusage`'s `ru_maxrss` survives fork and exec, so
/// a process started by a large parent (`swift run` is about 120 MB) would report the parent's
/// peak. Elsewhere, `ru_maxrss` (bytes on macOS).
public func peakRSSMegabytes() -> Double {
    #if os(Linux)
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
       let kilobytes = Double(line.dropFirst("VmHWM:".count).trimmingCharacters(in: .whitespaces).dropLast(3).trimmingCharacters(in: .whitespaces)) {
        return kilobytes / 1024
    }
    #endif
    var usage = rusage()
    #if canImport(Darwin)
    guard getrusage(RUSAGE_SELF, &usage) == 0 else { return 0 }
    return Double(usage.ru_maxrss) / (1024 * 1024)
    #else
    guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
    return Double(usage.ru_maxrss) / 1024
    #endif
}
