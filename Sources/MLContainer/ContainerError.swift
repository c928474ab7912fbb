/// Why the container stopped: SageMaker's two kinds of failure (reference §1.9). The first line
/// of ``failureReason`` is the root cause; SageMaker keeps the first 1024 characters of
/// `/opt/ml/output/failure` as the job's `FailureReason`.
public enum ContainerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The user's configuration or data is wrong; the message says what, where and how to fix it.
    case client(String)
    /// Something inside the algorithm failed that the user could not have avoided.
    case algorithm(String)

    public var description: String { failureReason }

    /// `ClientError: …` or `AlgorithmError: …`, as the built-in algorithms write it.
    public var failureReason: String {
        switch self {
        case .client(let message): "ClientError: " + message
        case .algorithm(let message): "AlgorithmError: " + message
        }
    }
}
