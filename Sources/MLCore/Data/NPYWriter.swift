import Foundation

/// Writes `.npy` files (format 1.0, little-endian, C order) that NumPy's `np.load` reads: for
/// exchanging matrices with Python peers and tools. Written atomically (a temporary file in the
/// same directory, then a rename), so a reader never sees half a file.
public enum NPYWriter {
    /// A `rows × columns` matrix as a 2-D array.
    public static func write<T: BLASScalar>(_ matrix: Matrix<T>, to path: String) throws(DataError) {
        let failure: DataError? = matrix.withUnsafeBufferPointer { values in
            do throws(DataError) { try write(values, shape: [matrix.rows, matrix.columns], to: path) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    /// A vector as a 1-D array.
    public static func write<T: BLASScalar>(_ vector: [T], to path: String) throws(DataError) {
        let failure: DataError? = vector.withUnsafeBufferPointer { values in
            do throws(DataError) { try write(values, shape: [vector.count], to: path) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    /// `values` as an array of `shape` (row-major; `[N, C, H, W]` for images). The element count
    /// must be the shape's product.
    public static func write<T: BLASScalar>(_ values: [T], shape: [Int], to path: String) throws(DataError) {
        guard shape.reduce(1, *) == values.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw .unsupported(DataLocation(file: path), reason: "\(values.count) values do not fill shape \(shape)")
        }
        let failure: DataError? = values.withUnsafeBufferPointer { buffer in
            do throws(DataError) { try write(buffer, shape: shape, to: path) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    /// The header for `shape` of `T`, padded with spaces so the data starts on a 64-byte boundary.
    public static func header<T: BLASScalar>(for: T.Type, shape: [Int]) -> [UInt8] {
        let descr = T.self == Float.self ? "<f4" : "<f8"
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
        let prefix = 10  // magic (6) + version (2) + header length (2)
        let total = (prefix + dict.utf8.count + 1 + 63) / 64 * 64
        dict += String(repeating: " ", count: total - prefix - dict.utf8.count - 1) + "\n"
        let length = UInt16(dict.utf8.count)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(dict.utf8)
    }

    static func write<T: BLASScalar>(_ values: UnsafeBufferPointer<T>, shape: [Int], to path: String) throws(DataError) {
        var data = Data(header(for: T.self, shape: shape))
        // Little-endian hosts only (x86-64, arm64): the bytes are the values.
        data.append(UnsafeBufferPointer(start: UnsafeRawPointer(values.baseAddress)?.assumingMemoryBound(to: UInt8.self),
                                        count: values.count * MemoryLayout<T>.stride))
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .io(path: path, reason: error.localizedDescription)
        }
    }
}
