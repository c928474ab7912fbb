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

    /// The characters of `/opt/ml/output/failure` SageMaker shows as the job's `FailureReason`.
    public static let failureReasonLimit = 1024

    /// The text of `/opt/ml/output/failure`: the root cause alone on the first line, cut to fit
    /// the ``failureReasonLimit`` characters SageMaker keeps (a long value quoted in a message
    /// must not push the cause out of sight), then the whole message as detail when it was cut
    /// or ran over several lines.
    public var failureFileText: String {
        let reason = failureReason
        let lines = reason.split(separator: "\n", omittingEmptySubsequences: false)
        let first = lines.first.map(String.init) ?? reason
        let limit = Self.failureReasonLimit - 1  // the newline after the first line counts too
        guard first.count > limit || lines.count > 1 else { return reason + "\n" }
        let shown = first.count > limit ? String(first.prefix(limit - 2)) + " …" : first
        return shown + "\n\nDetail:\n" + reason + "\n"
    }
}
