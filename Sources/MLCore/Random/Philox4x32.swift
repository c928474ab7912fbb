/// The Philox4x32-10 block function: a keyed bijection of 128-bit counters.
///
/// Philox is the counter-based generator of Salmon, Moraes, Dror and Shaw, "Parallel Random
/// Numbers: As Easy as 1, 2, 3" (SC '11), shipped in D. E. Shaw Research's Random123 and used by
/// cuRAND, PyTorch's CUDA/XPU generators, TensorFlow's stateless ops and oneMKL. Output `i` of a
/// stream is simply `block(counter: i, key: k)`, so any position can be computed directly: no
/// sequential state, O(1) skip-ahead, and parallel workers can fill disjoint ranges of one stream.
/// With 10 rounds it passes TestU01 BigCrush with a wide safety margin (7 rounds already pass).
///
/// One round on counter words `(c0, c1, c2, c3)` and key words `(k0, k1)`:
/// ```
/// (hi0, lo0) = mulhilo(0xD2511F53, c0)     // 32×32 → 64-bit product, split in halves
/// (hi1, lo1) = mulhilo(0xCD9E8D57, c2)
/// (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
/// ```
/// Between rounds the key is bumped by the Weyl constants `(0x9E3779B9, 0xBB67AE85)` (wrapping).
///
/// Verified against Random123's `tests/kat_vectors` (the `philox4x32 10` lines) in
/// `RandomPhiloxTests.swift`. Word 0 is the least significant word of the counter and key, as in
/// Random123's `r123array4x32`.
public enum Philox4x32 {
    /// The number of rounds: 10, Random123's default and the variant everyone publishes vectors for.
    public static let rounds = 10

    /// The first round multiplier (applied to counter word 0).
    @inlinable static var multiplier0: UInt64 { 0xD251_1F53 }
    /// The second round multiplier (applied to counter word 2).
    @inlinable static var multiplier1: UInt64 { 0xCD9E_8D57 }
    /// The Weyl increments of the key schedule (the golden ratio and √3 − 1, as 32-bit fractions).
    @inlinable static var keyBump0: UInt32 { 0x9E37_79B9 }
    @inlinable static var keyBump1: UInt32 { 0xBB67_AE85 }

    /// Philox4x32-10 of `counter` under `key`; lane 0 is the least significant word of each.
    @inlinable
    public static func block(counter: SIMD4<UInt32>, key: SIMD2<UInt32>) -> SIMD4<UInt32> {
        let r = _block(counter[0], counter[1], counter[2], counter[3], key[0], key[1])
        return SIMD4(r.0, r.1, r.2, r.3)
    }

    /// The block function on scalars, for the generator's hot path.
    @inlinable @inline(__always)
    static func _block(
        _ c0: UInt32, _ c1: UInt32, _ c2: UInt32, _ c3: UInt32, _ k0: UInt32, _ k1: UInt32
    ) -> (UInt32, UInt32, UInt32, UInt32) {
        var x = (c0, c1, c2, c3)
        var k0 = k0
        var k1 = k1
        // Unrolled by hand: ten rounds, nine key bumps (Random123 bumps before rounds 2…10).
        _round(&x, k0, k1)
        k0 &+= keyBump0; k1 &+= keyBump1; _round(&x, k0, k1)
        k0 &+= keyBump0; k1 &+= keyBump1; _round(&x, k0, k1)
        k0 &+= keyBump0; k1 &+= keyBump1; _round(&x, k0, k1)
        k0 &+= keyBump0; k1 &+= keyBump1; _round(&x, k0, k1)
        k0 &+= keyBump0; k1 &+= keyBump1; _round(&x, k0, k1)
        k0 &+= keyBump0; k1 &+= keyBump1; _round(&x, k0, k1)
        k0 &+= keyBump0; k1 &+= keyBump1; _round(&x, k0, k1)
        k0 &+= keyBump0; k1 &+= keyBump1; _round(&x, k0, k1)
        k0 &+= keyBump0; k1 &+= keyBump1; _round(&x, k0, k1)
        return x
    }

    @inlinable @inline(__always)
    static func _round(_ x: inout (UInt32, UInt32, UInt32, UInt32), _ k0: UInt32, _ k1: UInt32) {
        let p0 = multiplier0 &* UInt64(x.0)
        let p1 = multiplier1 &* UInt64(x.2)
        x = (
            UInt32(truncatingIfNeeded: p1 >> 32) ^ x.1 ^ k0,
            UInt32(truncatingIfNeeded: p1),
            UInt32(truncatingIfNeeded: p0 >> 32) ^ x.3 ^ k1,
            UInt32(truncatingIfNeeded: p0)
        )
    }
}
