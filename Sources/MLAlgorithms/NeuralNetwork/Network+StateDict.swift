import MLCore

extension Network {
    /// The network as PyTorch's `state_dict()` of the equivalent module: every parameter and
    /// buffer under its state-dict name, float32 in PyTorch's layout, `num_batches_tracked` as an
    /// int64 scalar. `load_state_dict(strict=True)` accepts it.
    public func stateDict(metadata: [String: String] = [:]) -> Safetensors {
        var tensors: [String: Safetensors.Tensor] = [:]
        for entry in parameterEntries {
            tensors[entry.name] = Safetensors.Tensor(Array(parameters[entry.offset..<(entry.offset + entry.count)]), shape: entry.shape)
        }
        for entry in bufferEntries {
            switch entry.kind {
            case .values:
                tensors[entry.name] = Safetensors.Tensor(Array(buffers[entry.offset..<(entry.offset + entry.count)]), shape: entry.shape)
            case .batchesTracked:
                tensors[entry.name] = Safetensors.Tensor(dtype: .i64, shape: [], bytes: Network.int64Bytes(batchesTracked))
            }
        }
        return Safetensors(tensors: tensors, metadata: metadata)
    }

    /// Replaces every parameter and buffer with the state dict's, as
    /// `load_state_dict(strict=True)` would: every name must be there with the same shape, and
    /// no other name may be. `num_batches_tracked` may be any integer or integral float dtype;
    /// every batch-norm layer shares the network's one step counter, which takes the largest.
    public mutating func load(stateDict: Safetensors) throws(NetworkError) {
        var expected = Set(parameterEntries.map(\.name))
        expected.formUnion(bufferEntries.map(\.name))
        let present = Set(stateDict.tensors.keys)
        let missing = expected.subtracting(present).sorted(), unexpected = present.subtracting(expected).sorted()
        guard missing.isEmpty, unexpected.isEmpty else {
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing \(missing.joined(separator: ", "))") }
            if !unexpected.isEmpty { parts.append("unexpected \(unexpected.joined(separator: ", "))") }
            throw .incompatibleWeights(reason: parts.joined(separator: "; "))
        }
        var newParameters = parameters, newBuffers = buffers, tracked: Int?
        func floats(_ name: String, shape: [Int]) throws(NetworkError) -> [Float] {
            // invariant: `name` is in the state dict (checked above)
            let tensor = stateDict.tensors[name]!
            guard tensor.shape == shape else {
                throw .incompatibleWeights(reason: "\(name) has shape \(tensor.shape), the network needs \(shape)")
            }
            guard tensor.dtype == .f32, let values = tensor.values(as: Float.self) else {
                throw .incompatibleWeights(reason: "\(name) is \(tensor.dtype.rawValue), the network needs F32")
            }
            return values
        }
        for entry in parameterEntries {
            let values = try floats(entry.name, shape: entry.shape)
            newParameters.replaceSubrange(entry.offset..<(entry.offset + entry.count), with: values)
        }
        for entry in bufferEntries {
            switch entry.kind {
            case .values:
                let values = try floats(entry.name, shape: entry.shape)
                newBuffers.replaceSubrange(entry.offset..<(entry.offset + entry.count), with: values)
            case .batchesTracked:
                // invariant: `entry.name` is in the state dict (checked above)
                let tensor = stateDict.tensors[entry.name]!
                guard tensor.elementCount == 1, let count = Network.integer(tensor), count >= 0 else {
                    throw .incompatibleWeights(reason: "\(entry.name) must be one non-negative integer")
                }
                tracked = max(tracked ?? 0, count)
            }
        }
        parameters = newParameters
        buffers = newBuffers
        batchesTracked = tracked ?? batchesTracked
    }

    static func int64Bytes(_ value: Int) -> [UInt8] {
        withUnsafeBytes(of: Int64(value).littleEndian) { Array($0) }
    }

    static func integer(_ tensor: Safetensors.Tensor) -> Int? {
        switch tensor.dtype {
        case .i64:
            guard tensor.bytes.count == 8 else { return nil }
            return Int(Int64(littleEndian: tensor.bytes.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }))
        case .i32:
            guard tensor.bytes.count == 4 else { return nil }
            return Int(Int32(littleEndian: tensor.bytes.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }))
        case .f32, .f64:
            guard let f = tensor.values(as: Double.self)?.first ?? tensor.values(as: Float.self)?.first.map(Double.init),
                  f.rounded() == f, abs(f) < 1e15 else { return nil }
            return Int(f)
        case .u8:
            return tensor.bytes.first.map(Int.init)
        }
    }
}
