import MLAlgorithms

extension KMeansJob {
    /// K-means streams its data, but its centres live in memory: the streaming centres
    /// (`k` × `extra_center_factor`) with their sums, a copy per worker, and a mini-batch's
    /// distances to them. Checked before training, so a `k` or `feature_dim` too large for the
    /// machine is a ClientError that says how much it needs, not an OOM kill.
    static func checkMemory(_ hp: KMeansHyperparameters, workers: Int, budget: MemoryBudget) throws(ContainerError) {
        let centres = hp.streamingCentres.multipliedReportingOverflow(by: hp.featureDim)
        let distances = hp.miniBatchSize.multipliedReportingOverflow(by: hp.streamingCentres)
        let copies = 2 + max(1, workers)
        let (centreBytes, o1) = centres.partialValue.multipliedReportingOverflow(by: 4 * copies)
        let (distanceBytes, o2) = distances.partialValue.multipliedReportingOverflow(by: 4)
        let overflow = centres.overflow || distances.overflow || o1 || o2
        let needed = overflow ? Int.max : centreBytes.addingReportingOverflow(distanceBytes).partialValue
        do {
            try budget.check(needed, for: "k-means' centres (k=\(hp.k) × extra_center_factor=\(hp.extraCenterFactor) centres of feature_dim=\(hp.featureDim) "
                             + "float32 values, \(copies) copies, and a mini-batch's distances to them)",
                             remedy: "lower k, extra_center_factor or mini_batch_size, or use an instance with more memory")
        } catch {
            throw .client(error.description)
        }
    }
}
