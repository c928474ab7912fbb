// Elementwise arithmetic. The loops run over contiguous buffers with no bounds checks so the
// optimizer vectorizes them; shapes are checked once, up front.

extension Matrix {
    private func checkSameShape(_ other: Matrix, _ operation: String) throws(ShapeError) {
        guard rows == other.rows, columns == other.columns else {
            throw ShapeError.mismatch(operation: operation, left: "\(rows)×\(columns)", right: "\(other.rows)×\(other.columns)")
        }
    }

    /// Combines `self` and `other` elementwise in place: `self[i] = f(self[i], other[i])`.
    @inlinable
    mutating func combine(_ other: Matrix, _ f: (T, T) -> T) {
        let n = count
        other.withUnsafeBufferPointer { b in
            withUnsafeMutableBufferPointer { a in
                guard let pa = a.baseAddress, let pb = b.baseAddress else { return }
                for i in 0..<n { pa[i] = f(pa[i], pb[i]) }
            }
        }
    }

    /// Adds `other` elementwise.
    public mutating func add(_ other: Matrix) throws(ShapeError) {
        try checkSameShape(other, "add")
        combine(other, +)
    }
    /// Subtracts `other` elementwise.
    public mutating func subtract(_ other: Matrix) throws(ShapeError) {
        try checkSameShape(other, "subtract")
        combine(other, -)
    }
    /// Multiplies by `other` elementwise (Hadamard product).
    public mutating func multiply(elementwise other: Matrix) throws(ShapeError) {
        try checkSameShape(other, "multiply")
        combine(other, *)
    }
    /// Divides by `other` elementwise.
    public mutating func divide(elementwise other: Matrix) throws(ShapeError) {
        try checkSameShape(other, "divide")
        combine(other, /)
    }

    /// `self + other`, elementwise.
    public func adding(_ other: Matrix) throws(ShapeError) -> Matrix { var r = self; try r.add(other); return r }
    /// `self - other`, elementwise.
    public func subtracting(_ other: Matrix) throws(ShapeError) -> Matrix { var r = self; try r.subtract(other); return r }
    /// `self ⊙ other`, elementwise.
    public func multiplying(elementwise other: Matrix) throws(ShapeError) -> Matrix {
        var r = self; try r.multiply(elementwise: other); return r
    }

    /// Applies `f` to every element in place.
    @inlinable
    public mutating func apply(_ f: (T) -> T) {
        withUnsafeMutableBufferPointer { a in
            guard let p = a.baseAddress else { return }
            for i in 0..<a.count { p[i] = f(p[i]) }
        }
    }

    /// A new matrix with `f` applied to every element.
    @inlinable
    public func map(_ f: (T) -> T) -> Matrix {
        Matrix(rows: rows, columns: columns) { out in
            withUnsafeBufferPointer { src in
                guard let s = src.baseAddress, let d = out.baseAddress else { return }
                for i in 0..<src.count { d[i] = f(s[i]) }
            }
        }
    }

    /// Multiplies every element by `scalar` in place.
    public mutating func scale(by scalar: T) { apply { $0 * scalar } }

    /// Adds `vector[j]` to every element of column `j` (broadcast over rows).
    public mutating func addToEachRow(_ vector: [T]) throws(ShapeError) {
        guard vector.count == columns else {
            throw ShapeError.mismatch(operation: "addToEachRow", left: "\(rows)×\(columns)", right: "\(vector.count)")
        }
        let c = columns, rowCount = rows
        vector.withUnsafeBufferPointer { v in
            withUnsafeMutableBufferPointer { a in
                guard let p = a.baseAddress, let pv = v.baseAddress else { return }
                for i in 0..<rowCount {
                    let r = p + i * c
                    for j in 0..<c { r[j] += pv[j] }
                }
            }
        }
    }

    public static func + (lhs: Matrix, rhs: T) -> Matrix { lhs.map { $0 + rhs } }
    public static func - (lhs: Matrix, rhs: T) -> Matrix { lhs.map { $0 - rhs } }
    public static func * (lhs: Matrix, rhs: T) -> Matrix { lhs.map { $0 * rhs } }
    public static func * (lhs: T, rhs: Matrix) -> Matrix { rhs.map { lhs * $0 } }
    public static func / (lhs: Matrix, rhs: T) -> Matrix { lhs.map { $0 / rhs } }
}
