/// Where in the input a problem was found. Lines and columns are 1-based, as editors count them.
public struct DataLocation: Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?

    public init(file: String, line: Int? = nil, column: Int? = nil) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`, as compilers print it.
    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        if let column { s += ":\(column)" }
        return s
    }
}

/// Input data that cannot be read. Every case says where and what, and the message says how to fix it.
public enum DataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A cell that is not a number (`text` is the offending cell, truncated to 64 bytes).
    case notANumber(DataLocation, text: String)
    /// The first line of a CSV file is a header row.
    case headerRow(DataLocation, text: String)
    /// A row whose field count differs from the first row's.
    case raggedRow(DataLocation, expected: Int, got: Int)
    /// A row with fewer fields than the labels need.
    case missingLabel(DataLocation, labelSize: Int, fields: Int)
    /// Malformed syntax (LibSVM `index:value`, an NPY header, …).
    case syntax(DataLocation, text: String, expected: String)
    /// Well-formed input this reader does not support (Fortran order, a dtype, …).
    case unsupported(DataLocation, reason: String)
    /// The file ends before its header says it should.
    case truncated(DataLocation, reason: String)
    /// The operating system could not read the file.
    case io(path: String, reason: String)
    /// A channel directory with no data files.
    case emptyChannel(path: String)
    /// A RecordIO record (framing, RecordIO-protobuf or MXNet image-record content) that breaks a rule.
    case badRecord(RecordLocation, RecordIOProblem)
    /// An encoded image (PNG or JPEG) that cannot be decoded, or an image operation that cannot
    /// be done. `source` names the image: a file path, `"x.rec: record 17 (byte 96)"`, a request.
    case badImage(source: String, ImageProblem)
    /// A line of an MXNet `.lst` image list that breaks a rule (see ``ImageList``).
    case badImageList(DataLocation, ImageListProblem)

    public var description: String {
        switch self {
        case let .notANumber(at, text):
            return "\(at): '\(text)' is not a number (expected a decimal such as 1, -2.5, 1e-10, nan or inf; an empty field is a missing value)"
        case let .headerRow(at, text):
            return "\(at): the first line looks like a header row ('\(text)'); SageMaker CSV has no header — remove the first line"
        case let .raggedRow(at, expected, got):
            return "\(at): row has \(got) fields but the first row has \(expected); every row needs the same number of columns"
        case let .missingLabel(at, labelSize, fields):
            return "\(at): row has \(fields) fields but label_size=\(labelSize) needs at least \(labelSize + 1)"
        case let .syntax(at, text, expected):
            return "\(at): '\(text)' is malformed; expected \(expected)"
        case let .unsupported(at, reason):
            return "\(at): \(reason)"
        case let .truncated(at, reason):
            return "\(at): file is truncated: \(reason)"
        case let .io(path, reason):
            return "\(path): \(reason)"
        case let .emptyChannel(path):
            return "\(path): the channel has no data files (names starting with '.' or '_' are skipped)"
        case let .badRecord(at, problem):
            return "\(at): \(problem)"
        case let .badImage(source, problem):
            return "\(source): \(problem)"
        case let .badImageList(at, problem):
            return "\(at): \(problem)"
        }
    }
}
