import MLCore
import Testing

@Suite("Matrix")
struct MatrixTests {
    // MARK: Construction and access

    @Test func constructionAndAccess() throws {
        let m = try Matrix<Double>([[1, 2, 3], [4, 5, 6]])
        #expect(m.rows == 2 && m.columns == 3 && m.count == 6)
        #expect(m.shape == (2, 3))
        #expect(m.elements == [1, 2, 3, 4, 5, 6])
        #expect(m.row(1) == [4, 5, 6])
        #expect(m[1, 2] == 6)
        #expect(m == (try Matrix(rows: 2, columns: 3, elements: [1, 2, 3, 4, 5, 6])))
        #expect(Matrix<Float>(rows: 2, columns: 2, repeating: 7).elements == [7, 7, 7, 7])
        #expect(Matrix<Float>(rows: 0, columns: 5).count == 0)
        #expect(try Matrix<Float>([]).shape == (0, 0))
        #expect(m != (try Matrix<Double>([[1, 2], [3, 4], [5, 6]])), "same elements, different shape")
    }

    @Test func constructionErrors() {
        #expect(throws: ShapeError.raggedRows(row: 1, expected: 2, got: 3)) {
            try Matrix<Float>([[1, 2], [3, 4, 5]])
        }
        #expect(throws: ShapeError.elementCount(expected: 6, got: 5, rows: 2, columns: 3)) {
            try Matrix<Float>(rows: 2, columns: 3, elements: [1, 2, 3, 4, 5])
        }
        #expect(throws: ShapeError.self) { try Matrix<Float>(rows: -1, columns: 3, elements: []) }
        // Shapes from data whose element count overflows Int throw (2^62 · 4 wraps to 0).
        let overflow = #expect(throws: ShapeError.self) { try Matrix<Float>(rows: 1 << 62, columns: 4, elements: []) }
        #expect(overflow.map { "\($0)" }?.contains("more than") == true)
        #expect(throws: ShapeError.self) { try Matrix<Float>(rows: Int.max, columns: 2, elements: [1, 2]) }
        #expect(throws: ShapeError.self) { try Matrix<Float>(rows: 2, columns: 2).reshaped(rows: 1 << 62, columns: 4) }
    }

    // MARK: Copy-on-write

    @Test func uniquelyHeldMatrixMutatesInPlace() throws {
        var rng = SeededRandom(seed: 1)
        var m: Matrix<Double> = rng.integerMatrix(4, 3)
        let before = baseAddress(m)
        m[2, 1] = 42
        m.withUnsafeMutableBufferPointer { $0[0] = -1 }
        try m.add(Matrix(rows: 4, columns: 3, repeating: 1))
        m.scale(by: 2)
        m.apply { $0 + 1 }
        try m.addToEachRow([1, 2, 3])
        #expect(baseAddress(m) == before, "a uniquely held matrix must not copy on mutation")
        #expect(m[2, 1] == (42 + 1) * 2 + 1 + 2)
    }

    @Test func copyMutatedLeavesOriginal() {
        var rng = SeededRandom(seed: 2)
        let original: Matrix<Float> = rng.integerMatrix(3, 4)
        let snapshot = original.elements
        var copy = original
        #expect(baseAddress(copy) == baseAddress(original), "copying is O(1): storage is shared")
        copy[0, 0] = 100
        #expect(original.elements == snapshot)
        #expect(copy[0, 0] == 100)
        #expect(baseAddress(copy) != baseAddress(original))
        // Mutating the original after the copy split leaves the copy alone too.
        var original2 = original
        let copy2 = original2
        original2.withUnsafeMutableBufferPointer { $0[5] = -9 }
        #expect(copy2.elements == snapshot)
    }

    @Test func viewsShareStorageUntilMutated() throws {
        var rng = SeededRandom(seed: 3)
        let parent: Matrix<Double> = rng.integerMatrix(6, 5)
        let snapshot = parent.elements
        var view = parent.rows(2..<4)
        #expect(view.shape == (2, 5))
        #expect(view.elements == Array(snapshot[10..<20]))
        #expect(view[1, 3] == parent[3, 3])
        #expect(view.row(0) == parent.row(2))
        // No copy: the view starts two rows into the parent's block.
        let parentBase = try #require(baseAddress(parent))
        #expect(baseAddress(view) == parentBase + 2 * 5 * MemoryLayout<Double>.stride)

        // Mutating the view copies just its rows; the parent is unchanged.
        view[0, 0] = 1000
        #expect(parent.elements == snapshot)
        #expect(view[0, 0] == 1000 && view[1, 4] == snapshot[19])
        #expect(view.elements.count == 10)
        #expect(baseAddress(view) != parentBase + 2 * 5 * MemoryLayout<Double>.stride)

        // Mutating the parent leaves an existing view alone.
        var parent2 = parent
        let view2 = parent2.rows(1..<3)
        parent2[1, 0] = -500
        parent2.scale(by: 3)
        #expect(view2.elements == Array(snapshot[5..<15]))
        #expect(parent2[1, 0] == -1500)
    }

    @Test func viewsOfViews() throws {
        var rng = SeededRandom(seed: 4)
        let parent: Matrix<Float> = rng.integerMatrix(8, 3)
        let snapshot = parent.elements
        let outer = parent.rows(1..<7)
        var inner = outer.rows(2..<5) // parent rows 3..<6
        #expect(inner == parent.rows(3..<6))
        #expect(inner.elements == Array(snapshot[9..<18]))
        let parentBase = try #require(baseAddress(parent))
        #expect(baseAddress(inner) == parentBase + 3 * 3 * MemoryLayout<Float>.stride)
        #expect(inner.rows(1..<2).row(0) == parent.row(4))
        #expect(outer.rows(0..<0).count == 0)

        inner[2, 2] = 77
        #expect(parent.elements == snapshot)
        #expect(outer.elements == Array(snapshot[3..<21]))
        #expect(inner[2, 2] == 77 && inner[0, 0] == snapshot[9])
    }

    @Test func viewWhoseParentIsGoneMutatesInPlace() throws {
        var rng = SeededRandom(seed: 5)
        var view = (rng.integerMatrix(5, 4) as Matrix<Double>).rows(1..<3)
        let expected = view.elements
        let before = baseAddress(view)
        view[1, 3] = 9
        #expect(baseAddress(view) == before, "the only owner of a block mutates it in place, offset and all")
        var e = expected
        e[7] = 9
        #expect(view.elements == e)
    }

    @Test func reshapedSharesStorage() throws {
        var rng = SeededRandom(seed: 6)
        let m: Matrix<Float> = rng.integerMatrix(4, 6)
        var r = try m.reshaped(rows: 8, columns: 3)
        #expect(r.shape == (8, 3))
        #expect(r.elements == m.elements)
        #expect(baseAddress(r) == baseAddress(m))
        #expect(r[5, 1] == m[2, 4]) // element 16
        r[0, 0] = 55
        #expect(r[0, 0] == 55 && m[0, 0] != 55, "a reshaped view copies on write")
        // A reshaped view of a row view keeps its offset.
        let v = try m.rows(1..<3).reshaped(rows: 3, columns: 4)
        #expect(v.elements == Array(m.elements[6..<18]))
        #expect(try m.reshaped(rows: 24, columns: 1).row(23) == [m[3, 5]])
        #expect(throws: ShapeError.elementCount(expected: 24, got: 25, rows: 5, columns: 5)) {
            try m.reshaped(rows: 5, columns: 5)
        }
        #expect(throws: ShapeError.self) { try m.reshaped(rows: -4, columns: -6) }
    }

    @Test(arguments: [(1, 1), (1, 7), (7, 1), (3, 5), (33, 70), (64, 32), (0, 4)])
    func transposedMatchesLoop(shape: (Int, Int)) {
        var rng = SeededRandom(seed: UInt64(shape.0 * 100 + shape.1))
        let m: Matrix<Double> = rng.integerMatrix(shape.0, shape.1)
        let t = m.transposed()
        #expect(t == Naive.transpose(m))
        #expect(t.transposed() == m)
        // Transposing a view reads only the view's rows.
        if shape.0 > 2 {
            #expect(m.rows(1..<3).transposed() == Naive.transpose(m.rows(1..<3)))
        }
    }

    // MARK: Elementwise

    @Test func elementwiseMatchesLoops() throws {
        var rng = SeededRandom(seed: 7)
        let a: Matrix<Double> = rng.integerMatrix(5, 7)
        var b: Matrix<Double> = rng.integerMatrix(5, 7)
        b.apply { $0 == 0 ? 3 : $0 } // no division by zero
        let ae = a.elements, be = b.elements
        func loop(_ f: (Double, Double) -> Double) -> [Double] { zip(ae, be).map(f) }

        #expect(try a.adding(b).elements == loop(+))
        #expect(try a.subtracting(b).elements == loop(-))
        #expect(try a.multiplying(elementwise: b).elements == loop(*))
        var q = a
        try q.divide(elementwise: b)
        #expect(q.elements == loop(/))
        var s = a
        try s.subtract(b)
        #expect(s.elements == loop(-))
        var p = a
        try p.multiply(elementwise: b)
        #expect(p.elements == loop(*))
        #expect(a.elements == ae && b.elements == be, "non-mutating forms leave their operands alone")

        #expect((a + 2).elements == ae.map { $0 + 2 })
        #expect((a - 2).elements == ae.map { $0 - 2 })
        #expect((a * 3).elements == ae.map { $0 * 3 })
        #expect((3 * a).elements == ae.map { 3 * $0 })
        #expect((a / 4).elements == ae.map { $0 / 4 })
        #expect(a.map { $0 * $0 - 1 }.elements == ae.map { $0 * $0 - 1 })
        #expect(a.map { $0 }.shape == a.shape)
        var scaled = a
        scaled.scale(by: -0.5)
        #expect(scaled.elements == ae.map { $0 * -0.5 })

        let vector: [Double] = (0..<7).map { Double($0) - 3 }
        var broadcast = a
        try broadcast.addToEachRow(vector)
        for i in 0..<5 { for j in 0..<7 { #expect(broadcast[i, j] == a[i, j] + vector[j]) } }
    }

    @Test func elementwiseOnViews() throws {
        var rng = SeededRandom(seed: 8)
        let a: Matrix<Float> = rng.integerMatrix(6, 4)
        let b: Matrix<Float> = rng.integerMatrix(6, 4)
        let va = a.rows(2..<5), vb = b.rows(1..<4)
        let sum = try va.adding(vb)
        for i in 0..<3 { for j in 0..<4 { #expect(sum[i, j] == a[i + 2, j] + b[i + 1, j]) } }
        var v = a.rows(3..<6)
        try v.addToEachRow([1, 1, 1, 1])
        v.apply { $0 * 2 }
        for i in 0..<3 { for j in 0..<4 { #expect(v[i, j] == (a[i + 3, j] + 1) * 2) } }
        #expect((va * 2).elements == va.elements.map { $0 * 2 })
    }

    @Test func elementwiseShapeErrors() {
        var a = Matrix<Double>(rows: 2, columns: 3)
        let b = Matrix<Double>(rows: 3, columns: 2)
        #expect(throws: ShapeError.mismatch(operation: "add", left: "2×3", right: "3×2")) { try a.add(b) }
        #expect(throws: ShapeError.self) { try a.subtract(b) }
        #expect(throws: ShapeError.self) { try a.multiply(elementwise: b) }
        #expect(throws: ShapeError.self) { try a.divide(elementwise: b) }
        #expect(throws: ShapeError.self) { try a.adding(b) }
        #expect(throws: ShapeError.self) { try a.subtracting(b) }
        #expect(throws: ShapeError.self) { try a.multiplying(elementwise: b) }
        #expect(throws: ShapeError.mismatch(operation: "addToEachRow", left: "2×3", right: "2")) {
            try a.addToEachRow([1, 2])
        }
        #expect(a == Matrix(rows: 2, columns: 3), "a failed operation leaves the matrix unchanged")
    }

    // MARK: Statistics

    @Test(arguments: [(1, 1), (1, 6), (9, 1), (13, 7), (0, 3)])
    func statisticsMatchLoops(shape: (Int, Int)) throws {
        let (r, c) = shape
        var rng = SeededRandom(seed: UInt64(r * 31 + c))
        let m: Matrix<Double> = rng.integerMatrix(r, c, in: -20...20)
        let x = m.doubleRows

        let rowSums = x.map { $0.reduce(0, +) }
        var columnSums = [Double](repeating: 0, count: c)
        for row in x { for j in 0..<c { columnSums[j] += row[j] } }
        #expect(m.rowSums() == rowSums) // integers: exact
        #expect(m.columnSums() == columnSums)
        #expect(m.sum() == rowSums.reduce(0, +))
        expectAllClose(m.rowMeans(), rowSums.map { $0 / Double(c) }, rtol: 1e-15)

        guard r > 0 else {
            #expect(m.columnMeans().allSatisfy { $0.isNaN }, "the mean of no rows is NaN")
            #expect(m.columnVariances().allSatisfy { $0.isNaN })
            return
        }
        let means = columnSums.map { $0 / Double(r) }
        expectAllClose(m.columnMeans(), means, rtol: 1e-15)
        for ddof in [0, 1] {
            var squares = [Double](repeating: 0, count: c)
            for row in x { for j in 0..<c { squares[j] += (row[j] - means[j]) * (row[j] - means[j]) } }
            let variances = m.columnVariances(deltaDegreesOfFreedom: ddof)
            if r - ddof > 0 {
                expectAllClose(variances, squares.map { $0 / Double(r - ddof) }, atol: 1e-12, rtol: 1e-12, "ddof \(ddof)")
            } else {
                #expect(variances.allSatisfy { $0.isNaN }, "rows − ddof ≤ 0 gives NaN, as NumPy does")
            }
        }
        #expect(m.columnVariances(deltaDegreesOfFreedom: r).allSatisfy { $0.isNaN })
    }

    @Test func statisticsKnownValues() throws {
        let m = try Matrix<Float>([[1, 2], [3, 4], [5, 9]])
        #expect(m.rowSums() == [3, 7, 14])
        #expect(m.rowMeans() == [1.5, 3.5, 7])
        #expect(m.columnSums() == [9, 15])
        #expect(m.columnMeans() == [3, 5])
        #expect(m.columnVariances() == [8.0 / 3.0, 26.0 / 3.0]) // NumPy: np.var([[1,2],[3,4],[5,9]], axis=0)
        #expect(m.columnVariances(deltaDegreesOfFreedom: 1) == [4, 13])
        #expect(m.sum() == 24)
        // On a view, only the view's rows count.
        let v = m.rows(1..<3)
        #expect(v.rowSums() == [7, 14] && v.columnSums() == [8, 13] && v.sum() == 21)
        #expect(v.columnVariances(deltaDegreesOfFreedom: 1) == [2, 12.5])
    }

    @Test func floatMeansAreRoundedOnce() {
        // Sums of a few hundred Floats are exact in Double, so the best Float mean is the Double
        // quotient rounded once; rounding the sum to Float first can be an ulp off.
        var rng = SeededRandom(seed: 9)
        let m: Matrix<Float> = rng.uniformMatrix(300, 40)
        let x = m.doubleRows
        let rowMeans = x.map { Float($0.reduce(0, +) / 40) }
        let columnMeans = (0..<40).map { j in Float(x.reduce(0) { $0 + $1[j] } / 300) }
        #expect(m.rowMeans() == rowMeans)
        #expect(m.transposed().rowMeans() == columnMeans)
        #expect(m.columnMeans() == columnMeans)
    }

    @Test func floatStatisticsAccumulateInDouble() {
        // 2^24 then 4096 ones: a Float running sum would stay at 2^24; the Double one is exact
        // (and the even totals are representable in Float).
        var m = Matrix<Float>(rows: 4097, columns: 2, repeating: 1)
        m[0, 0] = 16_777_216
        m.withUnsafeMutableBufferPointer { p in for i in 0..<4097 { p[2 * i + 1] = 2 } }
        #expect(m.columnSums() == [16_777_216 + 4096, 8194])
        #expect(m.sum() == 16_777_216 + 4096 + 8194)
        let wide = m.transposed()
        #expect(wide.rowSums() == [16_777_216 + 4096, 8194])
        #expect(wide.rowMeans()[1] == 2)
        // Variance around a large mean: the two-pass form stays accurate.
        var shifted = Matrix<Float>(rows: 4, columns: 1)
        for (i, x) in [1_000_000, 1_000_001, 1_000_002, 1_000_003].enumerated() { shifted[i, 0] = Float(x) }
        #expect(shifted.columnVariances() == [1.25])
    }
}
