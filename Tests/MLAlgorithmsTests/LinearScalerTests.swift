import MLCore
import Testing
@testable import MLAlgorithms

@Suite struct LinearScalerTests {
    private let sample = try! Matrix<Double>([[1, 10, 5], [3, 10, 7], [5, 10, 3], [7, 10, 1]])  // invariant: literal rows of equal length
    private let labels: [Double] = [2, 4, 6, 8]

    @Test func statisticsFromTheSample() {
        let s = LinearScaler.fit(sample: sample, labels: labels, normalizeData: true, unbiasData: true,
                                 normalizeLabel: true, unbiasLabel: true)
        #expect(s.featureMean == [4, 10, 4])
        // Population σ of [1,3,5,7] is √5; the constant column keeps scale 1.
        #expect(abs(s.featureScale[0] - 1 / 5.0.squareRoot()) < 1e-15 && s.featureScale[1] == 1)
        #expect(s.labelMean == 5 && abs(s.labelScale - 5.0.squareRoot()) < 1e-15)
        let x = try! s.transform(sample)  // invariant: same width
        #expect(abs(x.columnMeans()[0]) < 1e-15 && abs(x.columnVariances()[0] - 1) < 1e-12)
    }

    @Test func optionsOff() {
        let s = LinearScaler.fit(sample: sample, labels: nil, normalizeData: false, unbiasData: false,
                                 normalizeLabel: true, unbiasLabel: true)
        #expect(s == LinearScaler(features: 3), "classification labels and disabled options leave everything as is")
    }

    /// The folded raw-space model predicts exactly what the scaled pipeline predicts.
    @Test(arguments: [1, 3])
    func foldingGivesTheSamePredictions(outputs: Int) throws {
        let scaler = LinearScaler.fit(sample: sample, labels: outputs == 1 ? labels : nil, normalizeData: true, unbiasData: true,
                                      normalizeLabel: true, unbiasLabel: true)
        let layout = LinearParameterLayout(features: 3, outputs: outputs)
        let scaled: [Double] = (0..<layout.count).map { Double($0 % 5) * 0.3 - 0.5 }
        let raw = try scaler.foldedIntoRawSpace(scaled, layout: layout)
        let x = try Matrix<Double>([[2, 9, 6], [-1, 10, 0], [8, 11, 2]])
        let xs = try scaler.transform(x)
        for i in 0..<x.rows {
            for c in 0..<outputs {
                var viaScaled = scaled[layout.biasOffset + c], viaRaw = raw[layout.biasOffset + c]
                for j in 0..<3 {
                    viaScaled += xs[i, j] * scaled[j * outputs + c]
                    viaRaw += x[i, j] * raw[j * outputs + c]
                }
                viaScaled = scaler.labelScale * viaScaled + scaler.labelMean
                #expect(abs(viaScaled - viaRaw) <= 1e-12 * max(1, abs(viaRaw)), "row \(i) output \(c)")
            }
        }
    }

    @Test func shapeMismatchThrows() {
        let s = LinearScaler(features: 3)
        #expect(throws: ShapeError.self) { _ = try s.transform(Matrix<Double>(rows: 2, columns: 4)) }
        #expect(throws: ShapeError.self) { _ = try s.foldedIntoRawSpace([1.0, 2], layout: LinearParameterLayout(features: 1, outputs: 1)) }
    }
}
