/// How ``CSVReader`` reads SageMaker CSV.
///
/// SageMaker sends CSV with no header, the label in the first column (or the first
/// `label_size` columns), numbers only. `text/csv;label_size=0` marks unlabelled data.
public struct CSVOptions: Sendable, Equatable {
    /// Leading columns that are labels (0 for unsupervised data). Default 1.
    public var labelSize: Int
    /// The field separator. Default `,`.
    public var delimiter: UInt8
    /// Parser threads. Default: ``ComputeContext/defaultThreadCount(environment:cores:quota:)``.
    public var threads: Int
    /// Bytes read and parsed per batch: the batch size in bytes and the reader's working set
    /// (about twice this, plus the parsed floats). Default 16 MiB.
    public var chunkBytes: Int

    public init(labelSize: Int = 1, delimiter: UInt8 = UInt8(ascii: ","), threads: Int? = nil, chunkBytes: Int = 16 << 20) {
        self.labelSize = labelSize
        self.delimiter = delimiter
        self.threads = max(1, threads ?? ComputeContext.defaultThreadCount())
        self.chunkBytes = max(1 << 12, chunkBytes)
    }
}
