import Foundation
import MLCore
#if canImport(Glibc)
import Glibc
#endif

/// Writing a job's artifacts so that a full disk, an unwritable directory or a `kill -9` never
/// leaves a partial model behind (docs/reliability.md "Faults").
///
/// A model is several files (`model.safetensors` + `model.json`). Each is written atomically,
/// but a failure between two of them would leave a new tensor file beside an old or missing
/// `model.json`. So the model is first written whole into a hidden staging directory inside the
/// model directory (same file system, so the moves are renames), then each file is renamed into
/// place; if anything fails, the staging directory is removed and the model directory holds
/// what it held before. A `kill -9` in the middle leaves the staging directory (or Foundation's
/// `.dat.nosync*` temporary file); the next run removes both before it starts.
public enum ArtifactDirectory {
    /// The hidden staging directories' name prefix (the process id follows).
    public static let stagingPrefix = ".mlc-staging-"
    /// Foundation's temporary file prefix for `Data.write(to:options: .atomic)` on Linux.
    public static let foundationTemporaryPrefix = ".dat.nosync"

    /// Writes the model with `save` (which writes its files into the directory it is given)
    /// into `directory` all at once, as described above. Errors name the directory, the
    /// system's reason and what the file system says about it (read-only, not writable, bytes
    /// free).
    public static func writeModel(to directory: String, _ save: (String) throws(ArtifactError) -> Void) throws(ContainerError) {
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw failure("cannot create the model directory \(directory)", error.localizedDescription, directory: directory)
        }
        let staging = directory + "/" + stagingPrefix + String(getpid())
        try? fm.removeItem(atPath: staging)
        defer { try? fm.removeItem(atPath: staging) }
        do {
            try fm.createDirectory(atPath: staging, withIntermediateDirectories: false)
        } catch {
            throw failure("cannot write the model to \(directory)", error.localizedDescription, directory: directory)
        }
        do {
            try save(staging)
        } catch {
            // The staging path means nothing to the user: name the model directory.
            let reason = error.description.replacingOccurrences(of: staging + "/", with: directory + "/")
            throw failure("cannot write the model to \(directory)", reason, directory: directory)
        }
        let names = ((try? fm.contentsOfDirectory(atPath: staging)) ?? []).sorted()
        for name in names where rename(staging + "/" + name, directory + "/" + name) != 0 {
            let reason = String(cString: strerror(errno))
            throw failure("cannot move \(name) into the model directory \(directory)", reason, directory: directory)
        }
    }

    /// Removes what an interrupted write left in `directory`: staging directories and
    /// Foundation's temporary files. Called before a job starts, so a restarted job's model and
    /// checkpoint directories end up holding only whole files.
    public static func removeInterruptedWrites(in directory: String) {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: directory)) ?? []
        where name.hasPrefix(stagingPrefix) || name.hasPrefix(foundationTemporaryPrefix) {
            try? fm.removeItem(atPath: directory + "/" + name)
        }
    }

    /// A ClientError when the file system is the cause (full, read-only, not writable: the job's
    /// volume or mount, which the user sets up), else an AlgorithmError; both say what was being
    /// written, the system's reason and the state of the file system.
    static func failure(_ what: String, _ reason: String, directory: String) -> ContainerError {
        let (diagnosis, isEnvironment) = diagnose(directory)
        let message = "\(what): \(reason)" + (diagnosis.map { " (\($0))" } ?? "")
        return isEnvironment ? .client(message) : .algorithm(message)
    }

    /// What the file system holding `directory` (or its nearest existing parent) says: read-only
    /// (EROFS), not writable (EACCES), or the bytes free (ENOSPC when few); and whether that is
    /// the likely cause.
    public static func diagnose(_ directory: String) -> (String?, Bool) {
        var path = directory
        while !FileManager.default.fileExists(atPath: path), path.contains("/"), path != "/" {
            path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
            if path.isEmpty { path = "/" }
        }
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return (nil, false) }
        if stats.f_flag & UInt(ST_RDONLY) != 0 {
            return ("EROFS: the file system holding \(path) is mounted read-only", true)
        }
        if access(path, W_OK) != 0 {
            return ("EACCES: \(path) is not writable by this user (uid \(getuid()))", true)
        }
        let free = UInt64(stats.f_bavail) * UInt64(stats.f_frsize)
        let total = UInt64(stats.f_blocks) * UInt64(stats.f_frsize)
        // The failed write's partial files are already removed, so "few" is relative: under 1%
        // of the file system or under 1 MiB free means it was full.
        let full = free < 1 << 20 || free < total / 100
        return ((full ? "ENOSPC: " : "") + "the file system holding \(path) has \(Self.bytes(free)) free of \(Self.bytes(total))", full)
    }

    static func bytes(_ n: UInt64) -> String {
        n >= 1 << 30 ? String(format: "%.1f GiB", Double(n) / Double(1 << 30))
            : n >= 1 << 20 ? String(format: "%.1f MiB", Double(n) / Double(1 << 20))
            : n >= 1 << 10 ? String(format: "%.1f KiB", Double(n) / Double(1 << 10)) : "\(n) bytes"
    }
}
