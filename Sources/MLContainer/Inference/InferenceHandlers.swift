/// Every algorithm the inference container serves, by the name `--algorithm` and
/// `MLC_ALGORITHM` take.
public enum InferenceHandlers {
    /// The algorithms served, by name.
    public static let names = [LinearLearnerInference.algorithm, PCAInference.algorithm, KMeansInference.algorithm, XGBoostInference.algorithm,
                                ImageClassificationInference.algorithm]

    /// The handler for `algorithm`'s model in `modelDirectory` (`/opt/ml/model`), loaded once.
    /// `defaultAccept` is `SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`. `workers` is how many requests
    /// may run at once; the linear learner needs no per-model threads (each request is one BLAS
    /// call on the calling thread).
    public static func load(algorithm: String, modelDirectory: String, workers: Int = 1,
                            defaultAccept: String? = nil) throws(ContainerError) -> any InvocationHandler {
        switch algorithm {
        case LinearLearnerInference.algorithm:
            return try ModelInvocations(model: LinearLearnerInference(modelDirectory: modelDirectory), defaultAccept: defaultAccept)
        case PCAInference.algorithm:
            return try ModelInvocations(model: PCAInference(modelDirectory: modelDirectory), defaultAccept: defaultAccept)
        case KMeansInference.algorithm:
            return try ModelInvocations(model: KMeansInference(modelDirectory: modelDirectory), defaultAccept: defaultAccept)
        case XGBoostInference.algorithm:
            return try ModelInvocations(model: XGBoostInference(modelDirectory: modelDirectory), defaultAccept: defaultAccept)
        case ImageClassificationInference.algorithm:
            return try ImageClassificationInference(modelDirectory: modelDirectory, defaultAccept: defaultAccept)
        default:
            throw .client("no inference handler for algorithm '\(algorithm)'; known: " + names.joined(separator: ", "))
        }
    }
}
