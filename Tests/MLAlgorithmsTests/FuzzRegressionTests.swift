import Foundation
import Testing
@testable import MLAlgorithms

/// Inputs the fuzzer found (Tests/Fixtures/fuzz-regressions, docs/reliability.md "Fuzzing"),
/// each replayed through the parser that hung or trapped on it.
@Suite struct FuzzRegressionTests {
    /// xgboost-model/typed-null-array: `[$Z#l` and the count 2^26: nine bytes asking for 67
    /// million nulls, which took seconds (a hang under the fuzzer's 10 s limit with sanitizers).
    /// Elements without payload now share a budget of the input's size.
    @Test func ubjsonTypedNullArrayIsBoundedByTheInput() throws {
        let input = try Data(contentsOf: repositoryRoot.appendingPathComponent("Tests/Fixtures/fuzz-regressions/xgboost-model/typed-null-array"))
        let start = Date()
        #expect(throws: ModelFormatError.self) { try BoostedTreesModel.decode(input) }
        #expect(Date().timeIntervalSince(start) < 1)
        // Within the budget the same container still decodes.
        #expect(try UBJSONDecoder.decode(Data([UInt8]("[$Z#i".utf8) + [3])) == .array([.null, .null, .null]))
    }

    /// Many small payload-less containers: each within the input's size, together far beyond
    /// it. The budget is shared, so the second one is refused.
    @Test func ubjsonPayloadlessBudgetIsShared() throws {
        let containers = 2000
        let count = 6 * containers  // each container below is 7 bytes: the input is 14,002
        let element = [UInt8]("[$Z#I".utf8) + [UInt8(count >> 8), UInt8(count & 0xFF)]
        let input = [UInt8(ascii: "[")] + Array(Array(repeating: element, count: containers).joined()) + [UInt8(ascii: "]")]
        #expect(count <= input.count)
        #expect(throws: ModelFormatError.self) { try UBJSONDecoder.decode(Data(input)) }
    }
}
