import Foundation
import MLCore

extension ChannelReader {
    /// About how many bytes the channel takes once read into memory as float32 values, found
    /// without reading it: exact for NPY (the headers' shapes); for CSV, the values per byte of
    /// the first MiB of the first file times the channel's size; for RecordIO-protobuf and
    /// LibSVM, the size on disk (a float32 value and its key take about as many bytes in memory
    /// as in the file). `nil` for a Pipe channel, whose size is unknown until it is read.
    public func estimatedMemoryBytes() -> Int? {
        guard channel.inputMode != .pipe, let files = try? ChannelFiles.list(environment.channelDirectory(channel.name)),
              let total = bytesOnDisk()
        else { return nil }
        switch format {
        case .npy:
            var bytes = 0
            for file in files {
                guard let reader = try? NPYReader<Float>(path: file) else { return total }
                bytes += reader.rows * max(1, reader.columns) * MemoryLayout<Float>.size
            }
            return bytes
        case .csv:
            guard let first = files.first, let handle = FileHandle(forReadingAtPath: first) else { return total }
            defer { try? handle.close() }
            let sample = (try? handle.read(upToCount: 1 << 20)) ?? Data()
            guard !sample.isEmpty else { return 0 }
            // Values: separators plus one per non-empty line.
            var values = 0, content = false
            for byte in sample {
                switch byte {
                case 0x2C: values += 1
                case 0x0A:
                    if content { values += 1 }
                    content = false
                case 0x20, 0x0D, 0x09: break
                default: content = true
                }
            }
            if content { values += 1 }
            let perByte = Double(values) / Double(sample.count)
            return Int(Double(total) * perByte * Double(MemoryLayout<Float>.size))
        case .recordIOProtobuf, .libsvm:
            return total
        }
    }
}

extension MemoryBudget {
    /// Checks the memory `readers` need held — each channel's estimated bytes through `held`
    /// (Pipe channels, of unknown size, count nothing) — as a ClientError naming each channel's
    /// share: "`what` (train about …, validation about …`detail`)".
    func checkChannels(_ readers: [ChannelReader], held: (Int) -> Int = { $0 }, what: String, detail: String = "",
                       remedy: String) throws(ContainerError) {
        var needed = 0
        var parts: [String] = []
        for reader in readers {
            guard let bytes = reader.estimatedMemoryBytes().map(held) else { continue }
            needed += bytes
            parts.append("\(reader.name) about " + MemoryBudgetError.short(bytes))
        }
        do {
            try check(needed, for: what + " (" + parts.joined(separator: ", ") + detail + ")", remedy: remedy)
        } catch {
            throw .client(error.description)
        }
    }
}
