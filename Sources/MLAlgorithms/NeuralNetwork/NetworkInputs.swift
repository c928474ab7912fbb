/// Where a ``NetworkTrainer`` gets its rows: images already in memory as tensors
/// (``ImageDataset``), or images decoded, cropped and augmented as they are needed
/// (``AugmentedImages``).
///
/// A row's input may depend on the epoch (augmentation draws a new crop each epoch) but only on
/// `(seed, epoch, row)` — never on which worker asks or in which order — so training stays
/// bit-identical for any worker count.
public protocol NetworkInputs: Sendable {
    /// One row's input, `[channels, height, width]`.
    var shape: FeatureShape { get }
    var rows: Int { get }
    /// Target values per row (a class index, or one value per output).
    var targetWidth: Int { get }
    /// `rows × targetWidth` targets, row-major.
    var targets: [Float] { get }
    /// Writes the inputs of `rows` (indices into `0..<rows`), one after another, `shape.count`
    /// floats each (NCHW), to `x`. `training` selects the training-time view of the row in
    /// `epoch` (augmented); evaluation passes `false` and gets the same view every time.
    func fill(_ rows: ArraySlice<Int>, epoch: Int, training: Bool, into x: UnsafeMutablePointer<Float>) throws
}

extension ImageDataset: NetworkInputs {
    /// Copies the stored images: tensors have no augmentation, so every epoch sees the same rows.
    public func fill(_ rows: ArraySlice<Int>, epoch: Int, training: Bool, into x: UnsafeMutablePointer<Float>) throws {
        let features = shape.count
        images.withUnsafeBufferPointer { src in
            guard let base = src.baseAddress else { return }
            for (i, r) in rows.enumerated() {
                (x + i * features).update(from: base + r * features, count: features)
            }
        }
    }
}
