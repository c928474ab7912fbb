/// The rule a line of an MXNet `.lst` image list breaks, carried by
/// ``DataError/badImageList(_:_:)`` with the list file, the 1-based line and the 1-based field
/// (tab-separated) where it was found.
public enum ImageListProblem: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer than 3 tab-separated fields.
    case tooFewFields(got: Int)
    /// A field count different from the first line's (every line has the same number of labels).
    case fieldCountMismatch(expected: Int, got: Int, firstLine: Int)
    /// The first field is not an integer.
    case badIndex(text: String)
    /// A label field that is not a finite decimal number.
    case badLabel(text: String)
    /// An index already used on an earlier line.
    case duplicateIndex(Int, firstLine: Int)
    /// The last field (the image path) is empty.
    case emptyPath
    /// An absolute image path; paths are relative to the image root.
    case absolutePath(String)
    /// A path whose `..` components climb above the image root (found without touching the
    /// file system).
    case climbsAboveRoot(String)
    /// A path that resolves (through symbolic links) to `resolved`, outside the image root.
    case resolvesOutsideRoot(String, resolved: String, root: String)
    /// A listed image that does not exist (or cannot be reached) under the root.
    case missingImage(String, root: String, reason: String)
    /// A listed path that is not a regular file (a directory, a device).
    case notAFile(String)
    /// The list has no entries at all.
    case noEntries

    public var description: String {
        switch self {
        case let .tooFewFields(got):
            return "the line has \(got) tab-separated field\(got == 1 ? "" : "s"); a .lst line is index<TAB>label<TAB>…<TAB>relative/path (at least 3 fields, separated by tabs, not spaces)"
        case let .fieldCountMismatch(expected, got, firstLine):
            return "the line has \(got) fields but line \(firstLine) has \(expected); every line needs the same number of labels"
        case let .badIndex(text):
            return "'\(text)' is not an integer; the first field is the image's integer index"
        case let .badLabel(text):
            return "label '\(text)' is not a number (expected a finite decimal such as 3 or 0.5)"
        case let .duplicateIndex(index, firstLine):
            return "index \(index) is already used on line \(firstLine); indices must be unique"
        case .emptyPath:
            return "the image path (the last field) is empty"
        case let .absolutePath(path):
            return "the image path '\(path)' is absolute; .lst paths are relative to the image root"
        case let .climbsAboveRoot(path):
            return "the image path '\(path)' leads outside the image root through '..'; paths must stay inside the root"
        case let .resolvesOutsideRoot(path, resolved, root):
            return "the image path '\(path)' resolves to '\(resolved)', outside the image root '\(root)' (through a symbolic link); images must lie inside the root"
        case let .missingImage(path, root, reason):
            return "the image '\(path)' is not there under the image root '\(root)' (\(reason))"
        case let .notAFile(path):
            return "the image path '\(path)' is not a regular file"
        case .noEntries:
            return "the list has no entries; expected lines index<TAB>label<TAB>relative/path"
        }
    }
}
