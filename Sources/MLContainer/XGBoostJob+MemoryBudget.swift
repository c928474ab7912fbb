import MLCore

extension XGBoostJob {
    /// XGBoost holds every channel in memory: its float32 values, then their histogram bins
    /// (one byte a value, row-major and column-major). Checked against the memory budget before
    /// a byte is read, so data too large for the machine is a ClientError that says how much it
    /// needs, not an OOM kill.
    static func checkMemory(_ readers: [String: ChannelReader], budget: MemoryBudget) throws(ContainerError) {
        var needed = 0
        var parts: [String] = []
        for reader in readers.values.sorted(by: { $0.name < $1.name }) {
            guard let values = reader.estimatedMemoryBytes() else { continue }  // Pipe: size unknown
            let bytes = values + values / 2
            needed += bytes
            parts.append("\(reader.name) about " + MemoryBudgetError.short(bytes))
        }
        do {
            try budget.check(needed, for: "XGBoost's channels in memory (" + parts.joined(separator: ", ") + ": float32 values and their histogram bins)",
                             remedy: "use an instance with more memory, or more instances with the train channel ShardedByS3Key")
        } catch {
            throw .client(error.description)
        }
    }
}
