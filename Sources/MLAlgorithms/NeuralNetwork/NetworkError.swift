/// Why a network could not be built, loaded, trained or run. Every case says where (the layer's
/// path in the state dict, the tensor name, the epoch) and what to change.
public enum NetworkError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A layer's configuration is invalid on its own (a zero kernel, a negative padding, …).
    case invalidLayer(path: String, reason: String)
    /// A layer does not accept the shape the previous layer produces.
    case shapeMismatch(path: String, expected: String, actual: FeatureShape)
    /// Input data whose shape or size does not fit the network.
    case invalidInput(reason: String)
    /// A setting of the trainer or an optimizer is out of range.
    case invalidSetting(name: String, value: String, rule: String)
    /// A saved state dict (or checkpoint) does not fit the network.
    case incompatibleWeights(reason: String)
    /// The loss or the parameters stopped being finite numbers, or the loss exploded.
    case diverged(epoch: Int, step: Int, reason: String)

    public var description: String {
        switch self {
        case let .invalidLayer(path, reason):
            "layer \(path.isEmpty ? "<root>" : path): \(reason)"
        case let .shapeMismatch(path, expected, actual):
            "layer \(path.isEmpty ? "<root>" : path) expects input \(expected) but receives \(actual)"
        case let .invalidInput(reason):
            "invalid input: \(reason)"
        case let .invalidSetting(name, value, rule):
            "\(name) = \(value) is invalid: \(rule)"
        case let .incompatibleWeights(reason):
            "the weights do not fit the network: \(reason)"
        case let .diverged(epoch, step, reason):
            "training diverged in epoch \(epoch) at step \(step): \(reason)"
        }
    }
}
