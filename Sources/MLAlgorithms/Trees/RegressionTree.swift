/// One tree in XGBoost's array layout (its JSON model's tree object): node `i` is a leaf when
/// `leftChildren[i] == -1`, and then `splitConditions[i]` is its value (learning rate applied).
/// A row goes left at a split when its value is below the condition, or when it is missing and
/// `defaultLeft[i]`.
public struct RegressionTree: Sendable, Equatable {
    public var leftChildren: [Int32] = []
    public var rightChildren: [Int32] = []
    public var parents: [Int32] = []
    public var splitIndices: [Int32] = []
    public var splitConditions: [Float] = []
    public var defaultLeft: [Bool] = []
    /// The node's weight before the learning rate (XGBoost's `base_weights`).
    public var baseWeights: [Float] = []
    public var lossChanges: [Float] = []
    public var sumHessians: [Float] = []
    /// For trees grown here: the last bin that goes left at each split (−1: only missing values),
    /// so training rows can be routed by bin. Empty for imported trees.
    public var splitBins: [Int32] = []

    public init() {}

    public var nodeCount: Int { leftChildren.count }
    @inline(__always) public func isLeaf(_ node: Int) -> Bool { leftChildren[node] < 0 }

    /// Appends a leaf and returns its id.
    @discardableResult
    mutating func addNode(parent: Int, value: Float, baseWeight: Float, hessian: Float) -> Int {
        leftChildren.append(-1)
        rightChildren.append(-1)
        parents.append(Int32(parent))
        splitIndices.append(0)
        splitConditions.append(value)
        defaultLeft.append(false)
        baseWeights.append(baseWeight)
        lossChanges.append(0)
        sumHessians.append(hessian)
        splitBins.append(0)
        return leftChildren.count - 1
    }

    /// Turns leaf `node` into a split with the given children.
    mutating func split(_ node: Int, feature: Int, condition: Float, bin: Int, defaultLeft left: Bool, lossChange: Float, left l: Int, right r: Int) {
        leftChildren[node] = Int32(l)
        rightChildren[node] = Int32(r)
        splitIndices[node] = Int32(feature)
        splitConditions[node] = condition
        defaultLeft[node] = left
        lossChanges[node] = lossChange
        splitBins[node] = Int32(bin)
    }

    /// The leaf a row of feature values reaches (NaN is missing).
    @inline(__always)
    public func leaf(_ row: UnsafePointer<Float>) -> Int {
        var node = 0
        while leftChildren[node] >= 0 {
            let v = row[Int(splitIndices[node])]
            let goLeft = v.isNaN ? defaultLeft[node] : v < splitConditions[node]
            node = Int(goLeft ? leftChildren[node] : rightChildren[node])
        }
        return node
    }

    /// The leaf a sparse row reaches: `value(feature)` is NaN for absent entries.
    @inline(__always)
    public func leaf(value: (Int) -> Float) -> Int {
        var node = 0
        while leftChildren[node] >= 0 {
            let v = value(Int(splitIndices[node]))
            let goLeft = v.isNaN ? defaultLeft[node] : v < splitConditions[node]
            node = Int(goLeft ? leftChildren[node] : rightChildren[node])
        }
        return node
    }

    /// Depth of the deepest leaf (the root alone is depth 0).
    public var depth: Int {
        var depths = [Int](repeating: 0, count: nodeCount)
        var deepest = 0
        for node in 0..<nodeCount where !isLeaf(node) {
            for child in [Int(leftChildren[node]), Int(rightChildren[node])] {
                depths[child] = depths[node] + 1
                deepest = max(deepest, depths[child])
            }
        }
        return deepest
    }
}
