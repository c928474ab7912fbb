#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One line of an image list: the image's index, its labels and its path relative to the image
/// root.
public struct ImageListEntry: Sendable, Hashable {
    /// The first field: an integer, unique within the list.
    public var index: Int
    /// The fields between the index and the path (one for single-label lists).
    public var labels: [Float]
    /// The last field, as written: relative to the image root.
    public var path: String
    /// The 1-based line of the list the entry comes from (for errors about the image later).
    public var line: Int

    public init(index: Int, labels: [Float], path: String, line: Int) {
        self.index = index
        self.labels = labels
        self.path = path
        self.line = line
    }
}

/// An MXNet `.lst` image list, as `im2rec` writes it: one image per line,
///
/// ```
/// index<TAB>label<TAB>relative/path.jpg
/// index<TAB>label1<TAB>…<TAB>labelK<TAB>relative/path.jpg      (multi-label)
/// ```
///
/// Rules (MXNet's own reader, `line.strip().split('\t')`, with stricter checks):
/// - fields are separated by tabs; spaces (and `\r`, `\v`, `\f`) around a whole line are ignored,
///   and so are spaces around the index and the labels; blank lines are skipped; `\n` or `\r\n`
///   line ends, with or without a final newline. Unlike MXNet's `strip()`, tabs at the ends of a
///   line are not dropped: a trailing tab leaves an empty last field, which is an error, not a
///   silent change in the number of fields; a UTF-8 byte-order mark at the start is skipped;
/// - the index is an integer, unique within the list;
/// - labels are finite decimal numbers (`im2rec` writes `3.000000`), and every line has the same
///   number of them (``labelCount``);
/// - the path is the last field, non-empty, relative to the image root (in SageMaker, the root of
///   the `train` or `validation` channel): an absolute path, or one whose `..` climbs above the
///   root, is refused when the list is read; ``resolvedPaths(root:)`` also refuses paths that
///   leave the root through symbolic links, and missing files.
///
/// Every problem is ``DataError/badImageList(_:_:)`` naming the list file, the 1-based line
/// (blank lines count, as editors count them) and the 1-based field.
public struct ImageList: Sendable, Hashable {
    /// Names the list in errors (its path).
    public let name: String
    /// The entries in file order.
    public let entries: [ImageListEntry]
    /// Labels per line (1 for a single-label list).
    public let labelCount: Int

    /// Reads and checks the list file at `path`.
    public init(contentsOfFile path: String) throws(DataError) {
        try self.init(bytes: try ImageDecoder.readFile(path), name: path)
    }

    /// Parses and checks a list held in memory; `name` stands for it in errors.
    public init(bytes: [UInt8], name: String) throws(DataError) {
        self.name = name
        var entries: [ImageListEntry] = []
        var firstLine: (line: Int, fields: Int)?
        var seen: [Int: Int] = [:]
        var lineNumber = 0
        // A UTF-8 byte-order mark (Windows editors write one) is not part of the first index.
        var lineStart = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let count = bytes.count
        while lineStart < count {
            lineNumber += 1
            var lineEnd = lineStart
            while lineEnd < count && bytes[lineEnd] != 0x0A { lineEnd += 1 }
            defer { lineStart = lineEnd + 1 }
            // Spaces, \r, \v, \f at both ends (tabs are separators, even there).
            var a = lineStart, b = lineEnd
            while a < b && Self.isSpace(bytes[a]) { a += 1 }
            while b > a && Self.isSpace(bytes[b - 1]) { b -= 1 }
            if a == b { continue }
            var fields: [Range<Int>] = []
            var fieldStart = a
            for i in a..<b where bytes[i] == 0x09 {
                fields.append(fieldStart..<i)
                fieldStart = i + 1
            }
            fields.append(fieldStart..<b)

            func location(_ field: Int) -> DataLocation { DataLocation(file: name, line: lineNumber, column: field) }
            guard fields.count >= 3 else {
                throw .badImageList(location(fields.count), .tooFewFields(got: fields.count))
            }
            if let firstLine {
                guard fields.count == firstLine.fields else {
                    throw .badImageList(location(min(fields.count, firstLine.fields)),
                                        .fieldCountMismatch(expected: firstLine.fields, got: fields.count, firstLine: firstLine.line))
                }
            } else {
                firstLine = (lineNumber, fields.count)
            }

            let indexText = Self.text(bytes, fields[0], trimmingSpaces: true)
            guard let index = Int(indexText) else { throw .badImageList(location(1), .badIndex(text: Self.clipped(indexText))) }
            if let earlier = seen[index] { throw .badImageList(location(1), .duplicateIndex(index, firstLine: earlier)) }
            seen[index] = lineNumber

            var labels: [Float] = []
            labels.reserveCapacity(fields.count - 2)
            for f in 1..<(fields.count - 1) {
                let labelText = Self.text(bytes, fields[f], trimmingSpaces: true)
                guard let value = DecimalParser.parseFloat(labelText), value.isFinite else {
                    throw .badImageList(location(f + 1), .badLabel(text: Self.clipped(labelText)))
                }
                labels.append(value)
            }

            let pathField = fields.count
            let path = Self.text(bytes, fields[fields.count - 1], trimmingSpaces: false)
            guard !path.isEmpty else { throw .badImageList(location(pathField), .emptyPath) }
            guard !path.hasPrefix("/") else { throw .badImageList(location(pathField), .absolutePath(path)) }
            guard !Self.climbsAboveRoot(path) else { throw .badImageList(location(pathField), .climbsAboveRoot(path)) }
            entries.append(ImageListEntry(index: index, labels: labels, path: path, line: lineNumber))
        }
        guard let firstLine else { throw .badImageList(DataLocation(file: name), .noEntries) }
        self.entries = entries
        labelCount = firstLine.fields - 2
    }

    /// The real path (symbolic links resolved) of every entry's image under `root`, in entry
    /// order. Refuses, naming the list line: a missing image, a path that is not a regular
    /// file, and a path that resolves outside the root's real path (through a symbolic link).
    public func resolvedPaths(root: String) throws(DataError) -> [String] {
        let root = try ImageRoot(path: root)
        var paths: [String] = []
        paths.reserveCapacity(entries.count)
        for entry in entries { paths.append(try resolvedPath(of: entry, root: root)) }
        return paths
    }

    /// The real path of one entry's image under `root` (see ``resolvedPaths(root:)``).
    public func resolvedPath(of entry: ImageListEntry, root: ImageRoot) throws(DataError) -> String {
        let at = DataLocation(file: name, line: entry.line, column: labelCount + 2)
        do throws(ImageListProblem) {
            return try root.resolve(entry.path)
        } catch {
            throw .badImageList(at, error)
        }
    }

    // MARK: Parsing helpers

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0D || byte == 0x0B || byte == 0x0C
    }

    private static func text(_ bytes: [UInt8], _ range: Range<Int>, trimmingSpaces: Bool) -> String {
        var a = range.lowerBound, b = range.upperBound
        if trimmingSpaces {
            while a < b && isSpace(bytes[a]) { a += 1 }
            while b > a && isSpace(bytes[b - 1]) { b -= 1 }
        }
        return String(decoding: bytes[a..<b], as: UTF8.self)
    }

    /// A field as quoted in an error: at most 64 characters.
    private static func clipped(_ text: String) -> String {
        text.count <= 64 ? text : String(text.prefix(64)) + "…"
    }

    /// Whether `..` components take the relative `path` above its root (lexically).
    static func climbsAboveRoot(_ path: String) -> Bool {
        var depth = 0
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..":
                depth -= 1
                if depth < 0 { return true }
            default: depth += 1
            }
        }
        return false
    }
}

/// A directory images are resolved under, by its real path (symbolic links resolved), so that
/// relative paths that leave it — through `..` or a symbolic link — can be refused.
public struct ImageRoot: Sendable, Hashable {
    /// The root as given.
    public let path: String
    /// `realpath(path)`.
    public let realPath: String

    /// Resolves `path`, which must be an existing directory.
    public init(path: String) throws(DataError) {
        guard let resolved = realpath(path, nil) else { throw .io(path: path, reason: ChannelFiles.reason(errno)) }
        defer { free(resolved) }
        let real = String(cString: resolved)
        var info = stat()
        guard stat(real, &info) == 0 else { throw .io(path: path, reason: ChannelFiles.reason(errno)) }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw .io(path: path, reason: "is not a directory (the image root must be one)") }
        self.path = path
        realPath = real
    }

    /// The real path of the regular file `relative` names under the root.
    public func resolve(_ relative: String) throws(ImageListProblem) -> String {
        guard !relative.isEmpty else { throw .emptyPath }
        guard !relative.hasPrefix("/") else { throw .absolutePath(relative) }
        guard !ImageList.climbsAboveRoot(relative) else { throw .climbsAboveRoot(relative) }
        let joined = (realPath == "/" ? "" : realPath) + "/" + relative
        guard let resolved = realpath(joined, nil) else {
            throw .missingImage(relative, root: path, reason: ChannelFiles.reason(errno))
        }
        defer { free(resolved) }
        let real = String(cString: resolved)
        let prefix = realPath == "/" ? "/" : realPath + "/"
        guard real.hasPrefix(prefix) else { throw .resolvesOutsideRoot(relative, resolved: real, root: path) }
        var info = stat()
        guard stat(real, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { throw .notAFile(relative) }
        return real
    }
}
