import MLCore

/// Grows one tree on binned rows: XGBoost's `hist`, depthwise (a level at a time) or lossguide
/// (best-first; see `growBestFirst`), within `max_depth` and `max_leaves`.
///
/// Depthwise, each level: the best split of every node (in parallel over node × feature), the rows of the
/// splitting nodes partitioned in place (stable, so each node's rows stay ascending), then the
/// histograms of the next level — the smaller child of each pair built from its rows, the
/// larger one obtained by subtracting it from the parent. Histograms hold exact integer sums
/// (``QuantizedGradients``), so subtraction is exact and every result is independent of the
/// thread count. `reduce` combines a freshly built level of histograms across data-parallel
/// workers (the only synchronization between them); with one worker it does nothing.
struct TreeGrower {
    let matrix: BinnedMatrix
    let rules: SplitRules
    let eta: Double
    let maxDepth: Int
    let threads: Int
    /// Features the tree may split on (colsample_bytree), ascending.
    var features: [Int]
    let reduce: (_ histograms: inout [Int64]) -> Void
    /// Ranks hold different rows (``BoostedTreesTrainer/group``): every decision must come from
    /// the reduced histograms, so the child built rather than subtracted is the one with the
    /// smaller hessian sum (global) instead of fewer rows (local). Either gives the same bits.
    var distributed = false
    /// At most this many leaves (0: no limit) — XGBoost counts them in both policies.
    var maxLeaves = 0
    /// Best-first growth (`grow_policy=lossguide`): the open node with the largest loss change
    /// splits next, instead of a whole level at a time.
    var lossguide = false
    /// Column sampling below the tree's own sample (``features``): a share of the tree's
    /// features per depth (`colsample_bylevel`), then of the level's per evaluated node
    /// (`colsample_bynode`), each drawn from a stream keyed by `seed`, `samplingPath` and the
    /// depth or node id, so the draw does not depend on the thread count or the growth order.
    var levelShare = 1.0
    var nodeShare = 1.0
    var seed: UInt64 = 0
    var samplingPath: [UInt64] = []
    /// −1, 0 or 1 per feature (empty: no monotone constraint, and the plain Double gain).
    var monotone: [Int] = []
    /// Sets of features allowed together on one path (`nil`: no interaction constraint).
    var interactionSets: [[Int]]? = nil

    /// XGBoost's `kRtEps`: a split must gain more than this to be considered at all.
    static let minimumGain = 1e-6

    /// Whether children at `depth` may still be split (max_depth 0: no limit).
    private func belowDepthLimit(_ depth: Int) -> Bool { maxDepth == 0 || depth < maxDepth }

    /// Whether `split` may be applied at a node of `depth` when the tree has `leafCount` leaves:
    /// XGBoost's `ExpandEntry::IsValid`.
    private func isValid(_ split: SplitCandidate, depth: Int, leafCount: Int, q: QuantizedGradients) -> Bool {
        split.isFound && split.lossChange > Self.minimumGain && split.lossChange >= rules.gamma
            && q.hessian(split.leftH) > 0 && q.hessian(split.rightH) > 0
            && belowDepthLimit(depth) && !(maxLeaves > 0 && leafCount >= maxLeaves)
    }

    /// A leaf of the grown tree and its rows: `rows[begin..<end]` of ``Result/rows``.
    struct LeafRows: Sendable {
        var node: Int
        var begin: Int
        var end: Int
    }

    struct Result {
        var tree: RegressionTree
        /// The training rows the tree was grown on, grouped by leaf.
        var rows: [UInt32]
        var leaves: [LeafRows]
    }

    private struct Node {
        var id: Int
        var begin: Int
        var end: Int
        var g: Int64
        var h: Int64
        /// Index of the node's histogram in the level's histogram buffer.
        var slot: Int
        var depth = 0
        /// Monotone constraints: the bounds of the node's weights, and the node's own gain
        /// (under its parent's bounds), which a split's gain is measured against.
        var bounds = WeightBounds()
        var rootGain: Float = 0
        /// Interaction constraints: the features split on above this node, ascending.
        var pathFeatures: [Int] = []
        var rowCount: Int { end - begin }
    }

    /// Rows whose minimum a histogram part is worth a separate buffer for.
    static let rowsPerPart = 4_096

    func grow(rows initial: [UInt32], gradients q: QuantizedGradients) -> Result {
        lossguide ? growBestFirst(rows: initial, gradients: q) : growDepthwise(rows: initial, gradients: q)
    }

    private func growDepthwise(rows initial: [UInt32], gradients q: QuantizedGradients) -> Result {
        var rows = initial
        var scratch = [UInt32](repeating: 0, count: rows.count)
        var (tree, histograms, root) = plantRoot(rows: rows, gradients: q)
        var leaves: [LeafRows] = []
        let stride = 2 * matrix.histogramBins
        var level = [root]
        var depth = 0
        var leafCount = 1
        while !level.isEmpty {
            let splits = evaluate(level, histograms: histograms, quantization: q)
            var splitting: [(node: Node, split: SplitCandidate, left: Node, right: Node)] = []
            // In node order, as XGBoost pops a level: each split applied makes one more leaf.
            for (node, split) in zip(level, splits) {
                guard isValid(split, depth: depth, leafCount: leafCount, q: q) else {
                    leaves.append(LeafRows(node: node.id, begin: node.begin, end: node.end))
                    continue
                }
                let (l, r) = applySplit(split, to: node, tree: &tree, q: q)
                splitting.append((node, split, l, r))
                leafCount += 1
            }
            if splitting.isEmpty { break }
            let middles = partition(splitting.map { ($0.node.begin, $0.node.end, $0.split) }, rows: &rows, scratch: &scratch)
            depth += 1
            var children: [Node] = []
            var built: [Int] = []
            var subtracted: [(child: Int, parentSlot: Int, sibling: Int)] = []
            for (k, s) in splitting.enumerated() {
                var left = s.left, right = s.right
                (left.begin, left.end) = (s.node.begin, middles[k])
                (right.begin, right.end) = (middles[k], s.node.end)
                if !belowDepthLimit(depth) || (maxLeaves > 0 && leafCount >= maxLeaves) {
                    leaves.append(LeafRows(node: left.id, begin: left.begin, end: left.end))
                    leaves.append(LeafRows(node: right.id, begin: right.begin, end: right.end))
                    continue
                }
                // Build the smaller child (by rows; the left on a tie), subtract for the other.
                let smallIsLeft = distributed ? left.h <= right.h : left.rowCount <= right.rowCount
                children.append(left)
                children.append(right)
                let small = children.count - (smallIsLeft ? 2 : 1), large = children.count - (smallIsLeft ? 1 : 2)
                built.append(small)
                subtracted.append((large, s.node.slot, small))
            }
            if children.isEmpty { break }
            for (k, c) in built.enumerated() { children[c].slot = k }
            let fresh = buildHistograms(built.map { (children[$0].begin, children[$0].end) }, rows: rows, pairs: q.pairs)
            var next = [Int64](repeating: 0, count: children.count * stride)
            let parentHistograms = histograms
            next.withUnsafeMutableBufferPointer { out in
                let o = SharedMutablePointer(out.baseAddress!) // invariant: children is non-empty
                fresh.withUnsafeBufferPointer { f in
                    parentHistograms.withUnsafeBufferPointer { p in
                        let fp = SharedPointer(f.baseAddress!), pp = SharedPointer(p.baseAddress!) // invariant: both non-empty
                        let builtSlots = built
                        let pairsOfSubtraction = subtracted
                        parallelFor(blocks: children.count, threads: threads) { c in
                            let target = o.base + c * stride
                            if let k = builtSlots.firstIndex(of: c) {
                                target.update(from: fp.base + k * stride, count: stride)
                            } else if let s = pairsOfSubtraction.first(where: { $0.child == c }) {
                                // invariant: the sibling was built above
                                let k = builtSlots.firstIndex(of: s.sibling)!
                                let parent = pp.base + s.parentSlot * stride, sibling = fp.base + k * stride
                                for i in 0..<stride { target[i] = parent[i] &- sibling[i] }
                            }
                        }
                    }
                }
            }
            for c in children.indices { children[c].slot = c }
            histograms = next
            level = children
        }
        // Nodes still in `level` when the loop ends by `break` were added as leaves above.
        return Result(tree: tree, rows: rows, leaves: leaves.sorted { $0.begin < $1.begin })
    }

    /// A tree of one leaf over all `rows`, the root's histogram and its node. The root's sums
    /// come from the histogram: every row is in exactly one bin of feature 0 (its missing bin
    /// included), so that feature's bins add up to the node's exact totals.
    private func plantRoot(rows: [UInt32], gradients q: QuantizedGradients) -> (tree: RegressionTree, histogram: [Int64], root: Node) {
        let histogram = buildHistograms([(0, rows.count)], rows: rows, pairs: q.pairs)
        var totals: (g: Int64, h: Int64) = (0, 0)
        for b in 0...matrix.cuts.binCount(0) {
            let i = 2 * (Int(matrix.histogramOffsets[0]) + b)
            totals.g &+= histogram[i]
            totals.h &+= histogram[i + 1]
        }
        var tree = RegressionTree()
        let (g, h) = (q.gradient(totals.g), q.hessian(totals.h))
        let weight = rules.weight(g, h)
        tree.addNode(parent: -1, value: Float(weight * eta), baseWeight: Float(weight), hessian: Float(h))
        var root = Node(id: 0, begin: 0, end: rows.count, g: totals.g, h: totals.h, slot: 0)
        if !monotone.isEmpty { root.rootGain = rules.gain(g, h, givenWeight: rules.weight(g, h, within: root.bounds)) }
        return (tree, histogram, root)
    }

    /// Applies `split` to leaf `node.id`: two children with their weights, the split's condition.
    /// Returns the children (their rows not yet placed: `begin`/`end` are the caller's), with
    /// what the constraints carry down: the path's features, and under monotone constraints
    /// weights clamped to the node's bounds and bounds split at the children's mean weight
    /// (XGBoost's `TreeEvaluator::AddSplit`).
    private func applySplit(_ split: SplitCandidate, to node: Node, tree: inout RegressionTree, q: QuantizedGradients) -> (left: Node, right: Node) {
        let (lg, lh) = (q.gradient(split.leftG), q.hessian(split.leftH))
        let (rg, rh) = (q.gradient(split.rightG), q.hessian(split.rightH))
        var left = Node(id: 0, begin: 0, end: 0, g: split.leftG, h: split.leftH, slot: 0, depth: node.depth + 1, bounds: node.bounds)
        var right = Node(id: 0, begin: 0, end: 0, g: split.rightG, h: split.rightH, slot: 0, depth: node.depth + 1, bounds: node.bounds)
        let lw: Double, rw: Double
        if monotone.isEmpty {
            (lw, rw) = (rules.weight(lg, lh), rules.weight(rg, rh))
        } else {
            let wl = rules.weight(lg, lh, within: node.bounds), wr = rules.weight(rg, rh, within: node.bounds)
            (lw, rw) = (Double(wl), Double(wr))
            left.rootGain = rules.gain(lg, lh, givenWeight: wl)
            right.rootGain = rules.gain(rg, rh, givenWeight: wr)
            let mid = (wl + wr) / 2
            switch monotone[split.feature] {
            case 1: (left.bounds.upper, right.bounds.lower) = (mid, mid)
            case -1: (left.bounds.lower, right.bounds.upper) = (mid, mid)
            default: break
            }
        }
        if interactionSets != nil {
            let path = node.pathFeatures.contains(split.feature) ? node.pathFeatures : (node.pathFeatures + [split.feature]).sorted()
            (left.pathFeatures, right.pathFeatures) = (path, path)
        }
        left.id = tree.addNode(parent: node.id, value: Float(lw * eta), baseWeight: Float(lw), hessian: Float(lh))
        right.id = tree.addNode(parent: node.id, value: Float(rw * eta), baseWeight: Float(rw), hessian: Float(rh))
        let condition = split.bin >= 0 ? matrix.cuts.values[matrix.cuts.offsets[split.feature] + split.bin]
            : Self.belowMinimum(matrix.cuts.minimums[split.feature])
        tree.split(node.id, feature: split.feature, condition: condition, bin: split.bin, defaultLeft: split.defaultLeft,
                   lossChange: Float(split.lossChange), left: left.id, right: right.id)
        return (left, right)
    }

    /// Best-first growth, as XGBoost's driver runs `lossguide`: the open node with the largest
    /// loss change (the lower id on a tie) splits next; when it may not (no gain, the leaf limit
    /// reached), the tree is done. A split's children get their histograms (the smaller built,
    /// the other subtracted from the parent's) and their best splits at once, and join the open
    /// nodes if they could gain anything.
    private func growBestFirst(rows initial: [UInt32], gradients q: QuantizedGradients) -> Result {
        var rows = initial
        var scratch = [UInt32](repeating: 0, count: rows.count)
        var (tree, rootHistogram, root) = plantRoot(rows: rows, gradients: q)
        var leaves: [LeafRows] = []
        let stride = 2 * matrix.histogramBins
        struct Open {
            var node: Node
            var depth: Int
            var split: SplitCandidate
            var histogram: [Int64]
        }
        var open = [Open(node: root, depth: 0, split: evaluate([root], histograms: rootHistogram, quantization: q)[0], histogram: rootHistogram)]
        var leafCount = 1
        while !open.isEmpty {
            var best = 0
            for i in open.indices.dropFirst() {
                let a = open[i].split.lossChange, b = open[best].split.lossChange
                if a > b || (a == b && open[i].node.id < open[best].node.id) { best = i }
            }
            let entry = open.remove(at: best)
            guard isValid(entry.split, depth: entry.depth, leafCount: leafCount, q: q) else {
                open.append(entry)
                break
            }
            leafCount += 1
            var (left, right) = applySplit(entry.split, to: entry.node, tree: &tree, q: q)
            let node = entry.node, split = entry.split
            let middle = partition([(node.begin, node.end, split)], rows: &rows, scratch: &scratch)[0]
            (left.begin, left.end) = (node.begin, middle)
            (right.begin, right.end) = (middle, node.end)
            guard belowDepthLimit(entry.depth + 1), !(maxLeaves > 0 && leafCount >= maxLeaves) else {
                leaves.append(LeafRows(node: left.id, begin: left.begin, end: left.end))
                leaves.append(LeafRows(node: right.id, begin: right.begin, end: right.end))
                continue
            }
            // The smaller child (by rows; the left on a tie) is built, the other subtracted.
            let smallIsLeft = distributed ? left.h <= right.h : left.rowCount <= right.rowCount
            let small = smallIsLeft ? left : right
            let built = buildHistograms([(small.begin, small.end)], rows: rows, pairs: q.pairs)
            var pair = [Int64](repeating: 0, count: 2 * stride)
            let builtOffset = smallIsLeft ? 0 : stride, otherOffset = smallIsLeft ? stride : 0
            for i in 0..<stride {
                pair[builtOffset + i] = built[i]
                pair[otherOffset + i] = entry.histogram[i] &- built[i]
            }
            left.slot = 0
            right.slot = 1
            let splits = evaluate([left, right], histograms: pair, quantization: q)
            for (k, child) in [left, right].enumerated() {
                if splits[k].isFound && splits[k].lossChange > Self.minimumGain {
                    open.append(Open(node: child, depth: entry.depth + 1, split: splits[k],
                                     histogram: Array(pair[(k * stride)..<((k + 1) * stride)])))
                } else {
                    leaves.append(LeafRows(node: child.id, begin: child.begin, end: child.end))
                }
            }
        }
        for entry in open { leaves.append(LeafRows(node: entry.node.id, begin: entry.node.begin, end: entry.node.end)) }
        return Result(tree: tree, rows: rows, leaves: leaves.sorted { $0.begin < $1.begin })
    }

    /// A condition below every training value (XGBoost's stored minimum), for a split that sends
    /// only missing values left.
    static func belowMinimum(_ minimum: Float) -> Float {
        minimum.isNaN ? -Float.greatestFiniteMagnitude : minimum - (abs(minimum) + 1e-5)
    }

    /// Histograms of the given row ranges, contiguous, `2 · histogramBins` Int64s each; large
    /// ranges are split into parts with their own buffers (exact integer sums, so any split
    /// gives the same result), then reduced across workers.
    private func buildHistograms(_ ranges: [(Int, Int)], rows: [UInt32], pairs: [Int64]) -> [Int64] {
        let stride = 2 * matrix.histogramBins
        var tasks: [(node: Int, begin: Int, end: Int, part: Int)] = []
        var partCount = 0
        for (j, (begin, end)) in ranges.enumerated() {
            let parts = min(threads, max(1, (end - begin) / Self.rowsPerPart))
            if parts == 1 {
                tasks.append((j, begin, end, -1))
                continue
            }
            let size = (end - begin + parts - 1) / parts
            for p in 0..<parts where begin + p * size < end {
                tasks.append((j, begin + p * size, min(end, begin + (p + 1) * size), partCount))
                partCount += 1
            }
        }
        var out = [Int64](repeating: 0, count: max(1, ranges.count) * stride)
        var parts = [Int64](repeating: 0, count: partCount * stride)
        let taskList = tasks
        out.withUnsafeMutableBufferPointer { o in
            parts.withUnsafeMutableBufferPointer { p in
                rows.withUnsafeBufferPointer { r in
                    pairs.withUnsafeBufferPointer { g in
                        let op = SharedMutablePointer(o.baseAddress!) // invariant: out has ≥ 1 histogram
                        let pp = p.baseAddress.map { SharedMutablePointer($0) }
                        let rp = r.baseAddress.map { SharedPointer($0) }
                        let gp = SharedPointer(g.baseAddress!) // invariant: pairs cover every row
                        let matrix = self.matrix
                        parallelFor(blocks: taskList.count, threads: threads) { t in
                            let task = taskList[t]
                            guard task.end > task.begin, let rp else { return }
                            // invariant: parts exist whenever a task has a part index
                            let target = task.part < 0 ? op.base + task.node * stride : pp!.base + task.part * stride
                            matrix.accumulate(rows: rp.base + task.begin, count: task.end - task.begin, pairs: gp.base, into: target)
                        }
                        // Sum the parts of each split range into its histogram.
                        if partCount > 0, let pp {
                            let chunk = 4096
                            let chunks = (stride + chunk - 1) / chunk
                            parallelFor(blocks: ranges.count * chunks, threads: threads) { b in
                                let j = b / chunks, lo = (b % chunks) * chunk, hi = min(stride, lo + chunk)
                                let target = op.base + j * stride
                                for task in taskList where task.node == j && task.part >= 0 {
                                    let source = pp.base + task.part * stride
                                    for i in lo..<hi { target[i] &+= source[i] }
                                }
                            }
                        }
                    }
                }
            }
        }
        reduce(&out)
        return out
    }

    /// The best split of each node: node × feature in parallel, then per node in feature order.
    private func evaluate(_ nodes: [Node], histograms: [Int64], quantization q: QuantizedGradients) -> [SplitCandidate] {
        // Each node's candidate features, flattened into (node, feature) tasks.
        var tasks: [(node: Int, feature: Int)] = []
        var starts = [0]
        for (j, node) in nodes.enumerated() {
            for feature in candidateFeatures(node: node.id, depth: node.depth, path: node.pathFeatures) { tasks.append((j, feature)) }
            starts.append(tasks.count)
        }
        let taskList = tasks
        let results = PartialResults<SplitCandidate>(count: taskList.count, placeholder: SplitCandidate())
        let stride = 2 * matrix.histogramBins
        let matrix = self.matrix, rules = self.rules, monotone = self.monotone
        histograms.withUnsafeBufferPointer { h in
            let hp = SharedPointer(h.baseAddress!) // invariant: one histogram per node
            parallelFor(blocks: taskList.count, threads: threads) { t in
                let node = nodes[taskList[t].node], feature = taskList[t].feature
                let histogram = hp.base + node.slot * stride, offset = Int(matrix.histogramOffsets[feature])
                let bins = matrix.cuts.binCount(feature)
                if monotone.isEmpty {
                    results.set(t, SplitEvaluator.best(feature: feature, histogram: histogram, offset: offset, bins: bins,
                                                       totalG: node.g, totalH: node.h, quantization: q, rules: rules))
                } else {
                    let gain = MonotoneGain(rules: rules, constraint: monotone[feature], bounds: node.bounds, rootGain: node.rootGain)
                    results.set(t, SplitEvaluator.best(feature: feature, histogram: histogram, offset: offset, bins: bins,
                                                       totalG: node.g, totalH: node.h, quantization: q,
                                                       minChildWeight: rules.minChildWeight, gain: gain))
                }
            }
        }
        let all = results.values
        return nodes.indices.map { j in
            var best = SplitCandidate()
            for t in starts[j]..<starts[j + 1] { best.consider(all[t]) }
            return best
        }
    }

    /// Partitions each range of `rows` stably into (left | right) by its split; returns where
    /// each range's right part starts. One pass reads each row's bin once and writes the chunk's
    /// lefts forward and rights backward into `scratch`; a second pass moves them into place.
    private func partition(_ splits: [(begin: Int, end: Int, split: SplitCandidate)], rows: inout [UInt32], scratch: inout [UInt32]) -> [Int] {
        let chunk = 8_192
        var chunks: [(node: Int, begin: Int, end: Int)] = []
        for (j, s) in splits.enumerated() {
            var b = s.begin
            while b < s.end {
                chunks.append((j, b, min(s.end, b + chunk)))
                b += chunk
            }
        }
        let chunkList = chunks
        let n = matrix.rows
        let lefts = PartialResults<Int>(count: chunks.count, placeholder: 0)
        let matrix = self.matrix
        var middles = [Int](repeating: 0, count: splits.count)
        rows.withUnsafeMutableBufferPointer { r in
            scratch.withUnsafeMutableBufferPointer { s in
                let rp = SharedMutablePointer(r.baseAddress!), sp = SharedMutablePointer(s.baseAddress!) // invariant: splitting nodes have rows
                matrix.withColumnMajor { column in
                    parallelFor(blocks: chunkList.count, threads: threads) { c in
                        let task = chunkList[c], split = splits[task.node].split
                        let bins = column.offset(split.feature * n)
                        let missingBin = matrix.cuts.binCount(split.feature)
                        let count: Int
                        if let narrow = bins.narrow {
                            count = Self.split(narrow, rows: rp.base, scratch: sp.base, begin: task.begin, end: task.end,
                                               lastLeftBin: split.bin, missingBin: missingBin, defaultLeft: split.defaultLeft)
                        } else {
                            // invariant: a column is narrow or wide
                            count = Self.split(bins.wide!, rows: rp.base, scratch: sp.base, begin: task.begin, end: task.end,
                                               lastLeftBin: split.bin, missingBin: missingBin, defaultLeft: split.defaultLeft)
                        }
                        lefts.set(c, count)
                    }
                    // Where each chunk's lefts and rights go.
                    let counts = lefts.values
                    var leftAt = [Int](repeating: 0, count: chunkList.count), rightAt = leftAt
                    var c = 0
                    for (j, s) in splits.enumerated() {
                        var first = c
                        var totalLeft = 0
                        while c < chunkList.count && chunkList[c].node == j { totalLeft += counts[c]; c += 1 }
                        var l = s.begin, rr = s.begin + totalLeft
                        middles[j] = rr
                        while first < c {
                            leftAt[first] = l
                            rightAt[first] = rr
                            l += counts[first]
                            rr += (chunkList[first].end - chunkList[first].begin) - counts[first]
                            first += 1
                        }
                    }
                    let starts = (leftAt, rightAt)
                    parallelFor(blocks: chunkList.count, threads: threads) { c in
                        let task = chunkList[c], count = counts[c]
                        (rp.base + starts.0[c]).update(from: sp.base + task.begin, count: count)
                        // The rights were written from the chunk's end backwards: reverse them back.
                        var to = rp.base + starts.1[c]
                        var from = task.end - 1
                        while from >= task.begin + count {
                            to.pointee = sp.base[from]
                            to += 1
                            from -= 1
                        }
                    }
                }
            }
        }
        return middles
    }

    /// Splits `rows[begin..<end]` into `scratch`: lefts from `begin` up, rights from `end - 1`
    /// down. Returns the number of lefts.
    @inline(__always)
    private static func split<B: FixedWidthInteger & UnsignedInteger>(
        _ bins: UnsafePointer<B>, rows: UnsafeMutablePointer<UInt32>, scratch: UnsafeMutablePointer<UInt32>,
        begin: Int, end: Int, lastLeftBin: Int, missingBin: Int, defaultLeft: Bool
    ) -> Int {
        var l = begin, r = end - 1
        for i in begin..<end {
            let row = rows[i]
            let b = Int(bins[Int(row)])
            let left = b == missingBin ? defaultLeft : b <= lastLeftBin
            // Both slots are written; only the chosen index advances (no branch to mispredict).
            scratch[l] = row
            scratch[r] = row
            l += left ? 1 : 0
            r -= left ? 0 : 1
        }
        return l - begin
    }
}

/// One feature's column-major bins, whichever width they are stored in.
struct BinColumn: @unchecked Sendable {
    // Points into a BinnedMatrix's storage, used only while the matrix is alive (withColumnMajor).
    let narrow: UnsafePointer<UInt8>?
    let wide: UnsafePointer<UInt16>?

    @inline(__always) func bin(_ row: Int) -> Int {
        if let narrow { return Int(narrow[row]) }
        return Int(wide![row]) // invariant: one of the two is set
    }

    func offset(_ k: Int) -> BinColumn { BinColumn(narrow: narrow.map { $0 + k }, wide: wide.map { $0 + k }) }
}

extension BinnedMatrix {
    /// Runs `body` with the column-major bins (column `f` starts at `f · rows`).
    func withColumnMajor<R>(_ body: (BinColumn) -> R) -> R {
        switch storage {
        case .narrow(_, let cm): cm.withUnsafeBufferPointer { body(BinColumn(narrow: $0.baseAddress, wide: nil)) }
        case .wide(_, let cm): cm.withUnsafeBufferPointer { body(BinColumn(narrow: nil, wide: $0.baseAddress)) }
        }
    }
}
