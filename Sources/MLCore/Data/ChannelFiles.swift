#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The data files of one SageMaker channel in File mode.
///
/// SageMaker downloads a channel (`/opt/ml/input/data/<channel>`) as a directory tree; every file
/// in it is data. A single file path is a channel of that one file.
///
/// Rules, the same everywhere so runs are reproducible:
/// - **Recursive.** Files in subdirectories belong to the channel, at any depth.
/// - **Skipped names.** A file *or directory* whose name starts with `.` or `_` is skipped, at any
///   level below the channel root (`.DS_Store`, `_SUCCESS`, `_temporary/`, `.ipynb_checkpoints/`).
///   The root itself is never skipped: the caller named it.
/// - **Order.** Files are sorted by their path relative to the root, compared byte by byte as
///   UTF-8 (`"B" < "a"`, `"a-c" < "a/b"`), so the order does not depend on the locale or on the
///   order the file system returns entries in.
/// - **Symbolic links are followed**, to files and to directories, as SageMaker local mode and
///   hand-made channels use them. A link whose target does not exist, and a directory link that
///   points back to one of its own ancestors (a cycle), are ``DataError/io(path:reason:)`` errors
///   naming the link. Two links to the same directory list its files twice, once under each path.
/// - **Only regular files.** FIFOs, sockets and devices inside a directory are skipped; a single
///   path given directly is accepted whatever it is (a Pipe-mode FIFO, for instance).
/// - An existing channel with no data files is ``DataError/emptyChannel(path:)``; a path that
///   does not exist or cannot be read is ``DataError/io(path:reason:)``.
public struct ChannelFiles: Sendable, Equatable {
    /// The channel path as given.
    public let path: String
    /// The data files: `path/relative` for a directory (sorted as above), `[path]` for a file.
    public let files: [String]

    /// Lists the data files of the channel at `path` (a directory or a single file).
    public init(path: String) throws(DataError) {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw DataError.io(path: path, reason: Self.reason(errno))
        }
        guard Self.isDirectory(info) else {
            files = [path]
            return
        }
        // "dir", "dir/" and "dir//" all give "dir/x"; "/" gives "/x".
        var root = path
        while root.utf8.count > 1 && root.hasSuffix("/") { root.removeLast() }
        let prefix = root.hasSuffix("/") ? root : root + "/"
        var relative: [String] = []
        try Self.walk(prefix: prefix, relative: "", ancestors: [FileIdentity(info)], into: &relative)
        guard !relative.isEmpty else { throw DataError.emptyChannel(path: path) }
        relative.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        files = relative.map { prefix + $0 }
    }

    /// Convenience for ``init(path:)``: the sorted data files of the channel at `path`.
    public static func list(_ path: String) throws(DataError) -> [String] {
        try ChannelFiles(path: path).files
    }

    /// Whether a file or directory name is skipped (starts with `.` or `_`).
    public static func isSkipped(name: String) -> Bool {
        name.utf8.first == UInt8(ascii: ".") || name.utf8.first == UInt8(ascii: "_")
    }

    /// A directory's identity, to detect symbolic-link cycles.
    private struct FileIdentity: Equatable {
        var device: UInt64
        var inode: UInt64
        init(_ info: stat) {
            device = UInt64(truncatingIfNeeded: info.st_dev)
            inode = UInt64(truncatingIfNeeded: info.st_ino)
        }
    }

    private static func isDirectory(_ info: stat) -> Bool { (info.st_mode & S_IFMT) == S_IFDIR }
    private static func isRegular(_ info: stat) -> Bool { (info.st_mode & S_IFMT) == S_IFREG }

    static func reason(_ code: Int32) -> String {
        guard let message = strerror(code) else { return "error \(code)" }
        return String(cString: message)
    }

    /// Appends the data files under the directory `prefix` (which ends with `/`) to `files`,
    /// as paths relative to the channel root (`relative` is this directory's).
    private static func walk(
        prefix: String, relative: String, ancestors: [FileIdentity], into files: inout [String]
    ) throws(DataError) {
        for name in try entries(of: prefix) where !isSkipped(name: name) {
            let full = prefix + name
            let rel = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            guard stat(full, &info) == 0 else {
                let code = errno
                var linkInfo = stat()
                if code == ENOENT, lstat(full, &linkInfo) == 0, (linkInfo.st_mode & S_IFMT) == S_IFLNK {
                    throw DataError.io(path: full, reason: "symbolic link to a file that does not exist")
                }
                throw DataError.io(path: full, reason: reason(code))
            }
            if isDirectory(info) {
                let identity = FileIdentity(info)
                guard !ancestors.contains(identity) else {
                    throw DataError.io(path: full, reason: "symbolic link cycle: this directory contains itself")
                }
                try walk(prefix: full + "/", relative: rel, ancestors: ancestors + [identity], into: &files)
            } else if isRegular(info) {
                files.append(rel)
            }
        }
    }

    /// The names in `directory`, unsorted, `.` and `..` included.
    private static func entries(of directory: String) throws(DataError) -> [String] {
        let shown = directory.utf8.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        guard let handle = opendir(directory) else {
            throw DataError.io(path: shown, reason: reason(errno))
        }
        defer { closedir(handle) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(handle) else {
                if errno != 0 { throw DataError.io(path: shown, reason: reason(errno)) }
                break
            }
            // `d_name` is a fixed-size C array (a tuple in Swift) holding a NUL-terminated name.
            let name: String? = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                let bytes = raw.bindMemory(to: UInt8.self)
                return String(validating: bytes[..<(bytes.firstIndex(of: 0) ?? bytes.count)], as: UTF8.self)
            }
            guard let name else {
                throw DataError.io(path: shown, reason: "a file name in this directory is not valid UTF-8; rename it")
            }
            names.append(name)
        }
        return names
    }
}

/// A file opened for positional reads (`pread`), closed when the last reference goes.
///
/// Positional reads keep no shared file offset, so one handle can serve any number of readers
/// and threads at once.
final class PositionalFile: Sendable {
    let path: String
    let descriptor: Int32
    /// Size in bytes when opened.
    let size: Int

    init(path: String) throws(DataError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DataError.io(path: path, reason: ChannelFiles.reason(errno)) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw DataError.io(path: path, reason: ChannelFiles.reason(code))
        }
        guard (info.st_mode & S_IFMT) != S_IFDIR else {
            close(fd)
            throw DataError.io(path: path, reason: "is a directory, not a data file")
        }
        descriptor = fd
        size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    /// Reads up to `buffer.count` bytes at `offset`; fewer only at the end of the file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(DataError) -> Int {
        var done = 0
        while done < buffer.count {
            guard let base = buffer.baseAddress else { return 0 }
            let n = pread(descriptor, base + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw DataError.io(path: path, reason: ChannelFiles.reason(errno))
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads up to `bytes.count - index` bytes at file `offset` into `bytes[index...]`.
    func read(into bytes: inout [UInt8], from index: Int, at offset: Int) throws(DataError) -> Int {
        var result: Result<Int, DataError> = .success(0)
        bytes.withUnsafeMutableBytes { all in
            do throws(DataError) {
                result = .success(try read(into: UnsafeMutableRawBufferPointer(rebasing: all[index...]), at: offset))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    /// Reads exactly `buffer.count` bytes at `offset`, or throws ``DataError/truncated(_:reason:)``.
    func readExactly(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(DataError) {
        let n = try read(into: buffer, at: offset)
        guard n == buffer.count else {
            throw DataError.truncated(
                DataLocation(file: path),
                reason: "expected \(buffer.count) bytes at offset \(offset) but the file ends after \(n)")
        }
    }
}
