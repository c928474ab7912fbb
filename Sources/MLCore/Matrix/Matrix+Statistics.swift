// Row and column reductions. Sums accumulate in Double whatever `T` is, row by row in order, so
// the result does not depend on how the matrix was produced and Float columns of a million rows
// keep their precision. Column loops run across a row (contiguous) so they vectorize.

extension Matrix {
    /// Row sums accumulated in Double.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    func rowSumsDouble() -> [Double] {
        withUnsafeBufferPointer { a in
            (0..<rows).map { i in
                var s = 0.0
                let r = a.baseAddress! + i * columns // invariant: rows > 0 implies a non-empty buffer
                for j in 0..<columns { s += Double(r[j]) }
                return s
            }
        }
    }

    /// Sum of each row: `rows` values.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func rowSums() -> [T] { rowSumsDouble().map { T($0) } }

    /// Mean of each row: `rows` values (NaN for zero columns). Divided in Double and rounded
    /// once, as ``columnMeans()`` is; rounding the sum to `T` first can be an ulp off for Float.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func rowMeans() -> [T] {
        let n = Double(columns)
        return rowSumsDouble().map { T($0 / n) }
    }

    /// Column sums accumulated in Double.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    func columnSumsDouble() -> [Double] {
        var acc = [Double](repeating: 0, count: columns)
        withUnsafeBufferPointer { a in
            acc.withUnsafeMutableBufferPointer { s in
                guard let pa = a.baseAddress, let ps = s.baseAddress else { return }
                for i in 0..<rows {
                    let r = pa + i * columns
                    for j in 0..<columns { ps[j] += Double(r[j]) }
                }
            }
        }
        return acc
    }

    /// Sum of each column: `columns` values.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func columnSums() -> [T] { columnSumsDouble().map { T($0) } }

    /// Mean of each column: `columns` values (NaN when there are no rows).
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func columnMeans() -> [T] {
        let n = Double(rows)
        return columnSumsDouble().map { T($0 / n) }
    }

    /// Variance of each column, two-pass (mean first, then squared deviations) for accuracy.
    ///
    /// - Parameter deltaDegreesOfFreedom: the divisor is `rows - ddof` (0: population, NumPy's
    ///   default; 1: sample variance). A non-positive divisor gives NaN, as NumPy does.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func columnVariances(deltaDegreesOfFreedom ddof: Int = 0) -> [T] {
        let n = Double(rows)
        let means = columnSumsDouble().map { $0 / n }
        var acc = [Double](repeating: 0, count: columns)
        withUnsafeBufferPointer { a in
            acc.withUnsafeMutableBufferPointer { s in
                means.withUnsafeBufferPointer { m in
                    guard let pa = a.baseAddress, let ps = s.baseAddress, let pm = m.baseAddress else { return }
                    for i in 0..<rows {
                        let r = pa + i * columns
                        for j in 0..<columns {
                            let d = Double(r[j]) - pm[j]
                            ps[j] += d * d
                        }
                    }
                }
            }
        }
        let divisor = Double(rows - ddof)
        return acc.map { divisor > 0 ? T($0 / divisor) : T.nan }
    }

    /// Sum of all elements, accumulated in Double.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func sum() -> T {
        withUnsafeBufferPointer { a in
            var s = 0.0
            for x in a { s += Double(x) }
            return T(s)
        }
    }
}
