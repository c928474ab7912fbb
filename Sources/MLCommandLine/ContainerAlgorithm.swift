import ArgumentParser

/// The algorithms the container trains and serves (`--algorithm`, `MLC_ALGORITHM`).
public enum ContainerAlgorithm: String, CaseIterable, Sendable, ExpressibleByArgument {
    case linearLearner = "linear-learner"
    case pca
    case kmeans
    case xgboost
    case imageClassification = "image-classification"
}
