/// The suites `mlbench` knows, in `mlbench list` order. Adding a suite is one line here.
public enum BenchmarkRegistry {
    public static let suites: [any BenchmarkSuite] = [
        GEMMSuite(),
        CSVSuite(),
        LinearSuite(),
        LinearSparseSuite(),
        PCASuite(),
        KMeansSuite(),
        GBDTSuite(),
        CNNSuite(),
        ServeSuite(),
        SoakSuite(),
        ScalingSuite(),
    ]

    public static var names: [String] { suites.map(\.name) }

    /// The suite called `name`, or ``BenchmarkError/unknownSuite(_:available:)``.
    public static func suite(named name: String) throws(BenchmarkError) -> any BenchmarkSuite {
        guard let suite = suites.first(where: { $0.name == name }) else {
            throw .unknownSuite(name, available: names)
        }
        return suite
    }
}
