import MLCore

/// Initial centres, chosen deterministically from a `RandomStream`.
public enum KMeansSeeding {
    /// `count` starting centres among the `rows` rows at `x` (each of `d` values), by `method`.
    /// Points with zero weight are never chosen while others remain. Returns the chosen row indices.
    public static func choose(_ method: KMeansInitMethod, count: Int, rows: Int, features d: Int, x: UnsafePointer<Float>,
                              weights: [Float]? = nil, random: inout RandomStream) -> [Int] {
        switch method {
        case .random: return uniform(count: count, rows: rows, weights: weights, random: &random)
        case .kmeansPlusPlus: return plusPlus(count: count, rows: rows, features: d, x: x, weights: weights, random: &random)
        }
    }

    /// Distinct rows, uniformly among those with positive weight (then among the rest if too few).
    static func uniform(count: Int, rows: Int, weights: [Float]?, random: inout RandomStream) -> [Int] {
        let positive = (0..<rows).filter { (weights?[$0] ?? 1) > 0 }
        let rest = (0..<rows).filter { (weights?[$0] ?? 1) <= 0 }
        var chosen: [Int] = []
        for pool in [positive, rest] where chosen.count < count && !pool.isEmpty {
            let take = min(count - chosen.count, pool.count)
            // invariant: take ≤ pool.count, so sampling without replacement cannot fail
            let picks = try! random.sampleIndices(count: take, from: pool.count) // invariant: see above
            chosen += picks.map { pool[$0] }
        }
        return chosen
    }

    /// D² sampling: the first centre with probability ∝ weight, each next ∝ weight × squared
    /// distance to the nearest centre chosen so far. When every remaining point coincides with a
    /// centre, the rest are taken uniformly among the unchosen rows.
    static func plusPlus(count: Int, rows: Int, features d: Int, x: UnsafePointer<Float>, weights: [Float]?,
                         random: inout RandomStream) -> [Int] {
        var chosen: [Int] = []
        var isChosen = [Bool](repeating: false, count: rows)
        var nearest = [Double](repeating: .infinity, count: rows)
        func draw(_ mass: (Int) -> Double) -> Int? {
            var total = 0.0
            for i in 0..<rows where !isChosen[i] { total += mass(i) }
            guard total > 0 else { return nil }
            let target = random.nextDouble() * total
            var running = 0.0, last: Int?
            for i in 0..<rows where !isChosen[i] {
                let m = mass(i)
                guard m > 0 else { continue }
                running += m
                last = i
                if running > target { return i }
            }
            return last
        }
        while chosen.count < min(count, rows) {
            let weight = { (i: Int) in Double(weights?[i] ?? 1) }
            let next: Int
            if chosen.isEmpty {
                next = draw(weight) ?? draw { _ in 1 } ?? 0
            } else if let i = draw({ weight($0) * nearest[$0] }) {
                next = i
            } else {
                next = uniform(count: 1, rows: rows, weights: isChosen.map { $0 ? 0 : 1 }, random: &random)[0]
            }
            chosen.append(next)
            isChosen[next] = true
            let c = x + next * d
            for i in 0..<rows where !isChosen[i] {
                let r = x + i * d
                var t = 0.0
                for j in 0..<d {
                    let diff = Double(r[j]) - Double(c[j])
                    t += diff * diff
                }
                nearest[i] = min(nearest[i], t)
            }
        }
        return chosen
    }
}
