import MLCore

/// Which features a node may split on: the tree's sample (`colsample_bytree`), narrowed per
/// depth (`colsample_bylevel`) and per node (`colsample_bynode`), then by the interaction
/// constraints — XGBoost's order, so sampling may leave a constrained node nothing to split on.
extension TreeGrower {
    func candidateFeatures(node id: Int, depth: Int, path: [Int]) -> [Int] {
        var set = features
        if levelShare < 1 {
            var stream = RandomStream(seed: seed, path: samplingPath + [3, UInt64(depth)])
            set = Self.sample(set, share: levelShare, stream: &stream)
        }
        if nodeShare < 1 {
            var stream = RandomStream(seed: seed, path: samplingPath + [4, UInt64(id)])
            set = Self.sample(set, share: nodeShare, stream: &stream)
        }
        if let sets = interactionSets, let allowed = Self.allowedFeatures(path: path, sets: sets) {
            set = set.filter(allowed.contains)
        }
        return set
    }

    /// `max(1, ⌊share · |set|⌋)` of `set`'s features, ascending (XGBoost's `ColSample` count).
    static func sample(_ set: [Int], share: Double, stream: inout RandomStream) -> [Int] {
        guard share < 1, !set.isEmpty else { return set }
        let count = max(1, Int(share * Double(set.count)))
        return try! stream.sampleIndices(count: count, from: set.count).map { set[$0] }.sorted() // invariant: 1 ≤ count ≤ set.count
    }

    /// The features a node whose path split on `path` may use (`nil`: all — the root's case):
    /// the path's own features and every set that holds all of them (XGBoost's
    /// `FeatureInteractionConstraintHost`). A path through a feature in no set keeps only itself.
    static func allowedFeatures(path: [Int], sets: [[Int]]) -> Set<Int>? {
        guard !path.isEmpty else { return nil }
        var allowed = Set(path)
        for s in sets where path.allSatisfy(s.contains) { allowed.formUnion(s) }
        return allowed
    }
}
