#!/usr/bin/env python3
"""Independent reference for RandomSamplingTests.recordedSequencesMatchTheReferenceScript.

A plain-Python re-implementation of MLCore's RandomStream, written from the documented
algorithms (not translated from the Swift): Philox4x32-10 with counter (block, stream) and key =
seed, 32-bit words in lane order, Lemire's bounded integers, Fisher-Yates, Floyd's algorithm,
selection sampling, and the float bit mappings. Its Philox is checked against Random123's
published kat_vectors before anything is printed.

Run:  python3 Tests/MLCoreTests/Fixtures/make_random_reference.py
and paste the printed Swift into RandomSamplingTests.swift. Standard library only.
"""
import math

MASK32 = 0xFFFFFFFF
MASK64 = 0xFFFFFFFFFFFFFFFF


def philox4x32_10(ctr, key):
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for r in range(10):
        if r > 0:
            k0 = (k0 + 0x9E3779B9) & MASK32
            k1 = (k1 + 0xBB67AE85) & MASK32
        p0 = 0xD2511F53 * c0
        p1 = 0xCD9E8D57 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & MASK32, (p0 >> 32) ^ c3 ^ k1, p0 & MASK32
    return [c0, c1, c2, c3]


# Random123 tests/kat_vectors, the three "philox4x32 10" lines.
KAT = [
    ([0, 0, 0, 0], [0, 0], [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
    ([MASK32] * 4, [MASK32] * 2, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
    ([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0],
     [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]),
]
for ctr, key, expected in KAT:
    assert philox4x32_10(ctr, key) == expected, (ctr, key)


def split64(x):
    return x & MASK32, x >> 32


class Stream:
    def __init__(self, key, stream):
        self.key, self.stream, self.position = key, stream, 0  # position in 32-bit words

    def word(self):
        block, lane = divmod(self.position, 4)
        self.position += 1
        return philox4x32_10([*split64(block % 2**64), *split64(self.stream)], list(split64(self.key)))[lane]

    def next64(self):
        low = self.word()
        return low | self.word() << 32

    def split(self, index):
        k = self.key ^ 0x243F6A8885A308D3
        r = philox4x32_10([*split64(index), *split64(self.stream)], list(split64(k)))
        return Stream(r[0] | r[1] << 32, r[2] | r[3] << 32)

    def below(self, n):  # Lemire, 32-bit words when n fits, else 64-bit values
        bits, draw = (32, self.word) if n <= MASK32 else (64, self.next64)
        mask = (1 << bits) - 1
        m = draw() * n
        if m & mask < n:
            threshold = (2**bits - n) % n
            while m & mask < threshold:
                m = draw() * n
        return m >> bits

    def next_float(self):
        return (self.word() >> 8) * 2.0**-24

    def next_double(self):
        return (self.next64() >> 11) * 2.0**-53

    def shuffle(self, x):
        for i in range(len(x) - 1, 0, -1):
            j = self.below(i + 1)
            x[i], x[j] = x[j], x[i]

    def sample_indices(self, count, population):
        m = min(count, population - count)
        if m == 0:
            return [] if count == 0 else list(range(population))
        if m <= population // 16:  # Floyd, or Floyd on the complement
            chosen = set()
            for j in range(population - m, population):
                t = self.below(j + 1)
                chosen.add(j if t in chosen else t)
            return sorted(chosen) if m == count else [i for i in range(population) if i not in chosen]
        result, i = [], 0  # selection sampling
        while len(result) < count:
            needed, remaining = count - len(result), population - i
            if needed == remaining:
                result.extend(range(i, population))
                break
            if self.below(remaining) < needed:
                result.append(i)
            i += 1
        return result


s = Stream(42, 0)
perm = list(range(10))
s.shuffle(perm)
floyd = s.sample_indices(4, 1000)
complement = s.sample_indices(996, 1000)
excluded = sorted(set(range(1000)) - set(complement))
selection = s.sample_indices(5, 12)
integers = [s.below(100) for _ in range(8)]
big = [s.below(3 << 61) for _ in range(2)]
floats = [s.next_float() for _ in range(4)]
doubles = [s.next_double() for _ in range(2)]
child = Stream(42, 1).split(2).split(3)
child_words = [child.next64() for _ in range(2)]

print(f"    static let recordedPermutation = {perm}")
print(f"    static let recordedFloyd = {floyd}")
print(f"    static let recordedFloydComplementExcludes = {excluded}")
print(f"    static let recordedSelection = {selection}")
print(f"    static let recordedIntegers = {integers}")
print(f"    static let recordedLargeIntegers = {big}")
# float.hex prints C hex-float literals, which Swift reads exactly.
print(f"    static let recordedFloats: [Float] = [{', '.join(float.hex(f) for f in floats)}]")
print(f"    static let recordedDoubles: [Double] = [{', '.join(float.hex(d) for d in doubles)}]")
print(f"    static let recordedGrandchildWords: [UInt64] = [{', '.join(hex(w) for w in child_words)}]")
print(f"    static let recordedPositionAfterwards = (block: {s.position // 4}, word: {s.position % 4})")
