import Foundation
import Testing
import MLCore

/// The README's "From Swift" tour, run on a tiny channel, so the README cannot drift from the API.
@Suite struct ReadmeTourTests {
    @Test func tourRuns() throws {
        let channel = try TemporaryDirectory()
        _ = try channel.write("part-0.csv", "1,1,0\n0,0,2\n")
        _ = try channel.write("part-1.csv", "1,3,1\n")
        _ = try channel.write("_SUCCESS", "")

        let files = try ChannelFiles.list(channel.url.path)
        #expect(files.count == 2)
        var reader = try CSVReader(files: files, options: CSVOptions(labelSize: 1))
        var rows = 0
        while let batch = try reader.nextBatch() {
            rows += batch.rows
            #expect(batch.labels?.columns == 1)
        }
        #expect(rows == 3)

        let all = try CSVReader.readAll(files: files)
        guard case .dense(let x) = all.features else {
            Issue.record("expected dense features")
            return
        }
        let gram = try BLAS.matmul(x, x, transposeA: .transpose)
        #expect(gram.elements == [10, 3, 3, 5])  // XᵀX of [[1,0],[0,2],[3,1]]
        let (eigenvalues, eigenvectors) = try LAPACK.syevd(gram)
        #expect(eigenvalues.count == 2 && eigenvalues[0] <= eigenvalues[1])
        #expect(eigenvectors?.rows == 2)
    }
}
