import MLCore

extension Network {
    /// One pass over `images` as a single micro-shard, for checking layers against an oracle:
    /// the outputs, the gradient of `Σ output·upstream` with respect to the images and to every
    /// parameter, and (in training mode) the buffers after the running statistics moved.
    /// Training mode updates ``buffers`` and ``batchesTracked`` as a training step does, but
    /// leaves the parameters alone.
    public mutating func forwardBackward(_ images: [Float], upstream: [Float], training: Bool, seed: UInt64 = 0)
        throws(NetworkError) -> (output: [Float], inputGradient: [Float], parameterGradients: [Float]) {
        let rows = images.count / max(1, inputShape.count)
        guard rows > 0, images.count == rows * inputShape.count else {
            throw .invalidInput(reason: "\(images.count) values are not a whole, non-zero number of \(inputShape) images")
        }
        guard upstream.count == rows * outputShape.count else {
            throw .invalidInput(reason: "upstream has \(upstream.count) values, the output \(rows * outputShape.count)")
        }
        let net = try bound(rows: rows)
        let workspace = Workspace(net)
        var output = [Float](repeating: 0, count: upstream.count)
        var dy = upstream
        var dx = [Float](repeating: 0, count: images.count)
        var partial = [Float](repeating: 0, count: net.partialWidth)
        let p = net.parameterCount
        images.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                dy.withUnsafeMutableBufferPointer { g in
                    dx.withUnsafeMutableBufferPointer { d in
                        partial.withUnsafeMutableBufferPointer { part in
                            parameters.withUnsafeBufferPointer { params in
                                buffers.withUnsafeBufferPointer { b in
                                    // invariant: every buffer here is non-empty (rows > 0; partial holds at least the two sums)
                                    let context = PassContext(parameters: params.orEmpty, gradients: part.baseAddress!, buffers: b.orEmpty, // invariant: see above
                                                              statistics: part.baseAddress! + p, workspace: workspace.base, // invariant: see above
                                                              scratch: workspace.scratch, rows: rows,
                                                              statisticWeight: 1, training: training, seed: seed, step: 0, shard: 0)
                                    net.root.forward(x.baseAddress!, y.baseAddress!, context) // invariant: see above
                                    net.root.backward(x.baseAddress!, UnsafePointer(y.baseAddress!), g.baseAddress!, d.baseAddress!, context) // invariant: see above
                                }
                            }
                        }
                    }
                }
            }
        }
        if training, net.statisticCount > 0 {
            let root = net.root
            partial.withUnsafeBufferPointer { part in
                buffers.withUnsafeMutableBufferPointer { b in
                    // invariant: statistics exist only with batch-norm layers, which own buffers
                    root.finishStep(buffers: b.baseAddress!, statistics: part.baseAddress! + p) // invariant: see above
                }
            }
            batchesTracked += 1
        }
        return (output, dx, Array(partial[0..<p]))
    }
}
