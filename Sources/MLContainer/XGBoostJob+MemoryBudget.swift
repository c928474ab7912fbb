import MLCore

extension XGBoostJob {
    /// XGBoost holds every channel in memory: its float32 values, then their histogram bins
    /// (one byte a value, row-major and column-major). Checked against the memory budget before
    /// a byte is read, so data too large for the machine is a ClientError that says how much it
    /// needs, not an OOM kill.
    static func checkMemory(_ readers: [String: ChannelReader], budget: MemoryBudget) throws(ContainerError) {
        // float32 values, then half as many bytes again of bins.
        try budget.checkChannels(readers.values.sorted { $0.name < $1.name }, held: { $0 + $0 / 2 }, what: "XGBoost's channels in memory",
                                 detail: ": float32 values and their histogram bins",
                                 remedy: "use an instance with more memory, or more instances with the train channel ShardedByS3Key")
    }
}
