import Foundation
import MLCore

/// `ShardedByS3Key` channels across the ranks of a multi-host job (docs/distributed.md).
///
/// SageMaker gives each host a different part of a sharded channel. MLCore's trainers split
/// every mini-batch across the ranks, which needs every rank to see the same rows, so before
/// training the ranks exchange their shards: each rank reads its own channel directory and every
/// rank writes every rank's files under `<scratch>/<channel>/host-NNNN/…`. The channel then lists
/// rank 0's files, then rank 1's, … — the job trains on the union in host order, with the same
/// bits as one process reading that directory. It saves the hosts the download, not the memory:
/// each host holds the whole channel, as with `FullyReplicated`.
///
/// Shards belong to hosts: ranks on the same host (`SM_CURRENT_HOST`, else resourceconfig.json's
/// `current_host`) share its directory, and a job whose ranks are all on one host (plain
/// `mpirun -np N` on one machine) exchanges nothing.
///
/// A host whose shard is empty or missing (fewer S3 objects than hosts, or no validation shard)
/// contributes nothing, with a warning; a channel empty on every host is the usual empty-channel
/// error when the job reads it. Pipe-mode channels are streamed per host and cannot be
/// exchanged ahead of training: they are left alone, with a warning.
public enum ShardedChannels {
    /// Values per exchange round (64 MiB as Doubles): bounds each collective's message.
    static let chunkValues = 8 << 20

    /// Exchanges every `ShardedByS3Key` File/FastFile channel of `environment` among the ranks
    /// of `group` and returns the environment that reads the unions (`SM_CHANNEL_<NAME>`
    /// pointing into `scratch`), or `environment` itself when there is nothing to exchange.
    public static func exchange(environment: TrainingEnvironment, group: any WorkerGroup, scratch: String,
                                log: @escaping @Sendable (String) -> Void) throws(ContainerError) -> TrainingEnvironment {
        guard group.size > 1 else { return environment }
        // Shards belong to hosts, not ranks: ranks on one host read the same directory. The host
        // is SM_CURRENT_HOST, else resourceconfig.json's current_host, else the machine's name.
        let host = currentHost(environment)
        let hosts = try hostOfEachRank(host, group: group)
        // Each host's shard comes from its lowest rank; hosts numbered in rank order.
        var firstRanks: [Int] = []
        for (r, h) in hosts.enumerated() where !firstRanks.contains(where: { hosts[$0] == h }) { firstRanks.append(r) }
        guard firstRanks.count > 1 else { return environment }  // one host: every rank already reads it all
        let channels: [ChannelConfiguration]
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: environment.inputDataConfigPath))
            channels = try ContainerConfiguration.channels(data, path: environment.inputDataConfigPath)
        } catch let error as ContainerError {
            throw error
        } catch {
            throw .client("cannot read \(environment.inputDataConfigPath): \(error.localizedDescription)")
        }
        var overrides: [String: String] = [:]
        for channel in channels where channel.distribution == "ShardedByS3Key" {
            guard channel.inputMode != .pipe else {
                if group.isPrimary {
                    log("Warning: channel '\(channel.name)' is ShardedByS3Key in Pipe mode: each host streams only its own shard, which the "
                        + "ranks cannot exchange ahead of training; the ranks split every batch as if each held all the data. Use File mode "
                        + "or FullyReplicated for multi-host training")
                }
                continue
            }
            let target = scratch + "/" + channel.name
            try exchange(channel: channel.name, directory: environment.channelDirectory(channel.name), into: target, group: group,
                         senders: firstRanks, log: log)
            overrides["SM_CHANNEL_" + channel.name.uppercased()] = target
        }
        guard !overrides.isEmpty else { return environment }
        var exchanged = TrainingEnvironment(root: environment.root, environment: environment.environment.merging(overrides) { $1 })
        exchanged.secondaryScratch = environment.secondaryScratch
        return exchanged
    }

    /// This process's host name (see ``exchange(environment:group:scratch:log:)``).
    static func currentHost(_ environment: TrainingEnvironment) -> String {
        if let host = environment.environment["SM_CURRENT_HOST"], !host.isEmpty { return host }
        if let data = try? Data(contentsOf: URL(fileURLWithPath: environment.resourceConfigPath)),
           let resources = try? ContainerConfiguration.resources(data, path: environment.resourceConfigPath) {
            return resources.currentHost
        }
        return ProcessInfo.processInfo.hostName
    }

    /// Every rank's host name, in rank order.
    static func hostOfEachRank(_ host: String, group: any WorkerGroup) throws(ContainerError) -> [String] {
        let packed = pack([(relative: host, bytes: Data())])
        do {
            return try group.run { comm -> [String] in
                try comm.allGather(packed).enumerated().map { r, values in try unpack(values, rank: r).first?.relative ?? "" }
            }
        } catch let error as ContainerError {
            throw error
        } catch {
            throw .algorithm("exchanging the ranks' host names: \(error)")
        }
    }

    /// One channel: the files of each host's first rank (`senders`, in rank order), written
    /// under `target/host-NNNN/` with NNNN the host's position among them.
    static func exchange(channel: String, directory: String, into target: String, group: any WorkerGroup, senders: [Int],
                         log: @escaping @Sendable (String) -> Void) throws(ContainerError) {
        let local: [(relative: String, bytes: Data)]
        do {
            local = try localFiles(directory)
        } catch {
            throw .client("channel '\(channel)': \(error)")
        }
        let primary = group.isPrimary
        do {
            _ = try group.run { comm -> Int in
                // Only each host's first rank sends its files; the others send nothing.
                let packed = senders.contains(comm.rank) ? pack(local) : []
                // The lengths first, then rounds of at most `chunkValues` values from every rank.
                let lengths = try comm.allGather([Double(packed.count)]).map { Int($0[0]) }
                var received = [[Double]](repeating: [], count: lengths.count)
                var offset = 0
                while offset < (lengths.max() ?? 0) {
                    let end = min(packed.count, offset + chunkValues)
                    let mine = offset < packed.count ? Array(packed[offset..<end]) : []
                    let parts = try comm.allGather(mine)
                    for (r, part) in parts.enumerated() { received[r] += part }
                    offset += chunkValues
                }
                for (h, r) in senders.enumerated() {
                    let files = try unpack(received[r], rank: r)
                    if files.isEmpty && primary {
                        log("Warning: channel '\(channel)' is ShardedByS3Key and host \(h + 1) of \(senders.count) has no data in it: that host contributes no rows")
                    }
                    for file in files {
                        let path = target + "/" + String(format: "host-%04d/", h) + file.relative
                        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                        try file.bytes.write(to: URL(fileURLWithPath: path))
                    }
                }
                try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
                if primary {
                    let total = lengths.reduce(0, +) * 8
                    log("Channel '\(channel)' is ShardedByS3Key: the \(senders.count) hosts exchanged their shards (\(total >> 10) KiB); training reads their union in host order")
                }
                return 0
            }
        } catch let error as ContainerError {
            throw error
        } catch {
            throw .algorithm("exchanging the shards of channel '\(channel)': \(error)")
        }
    }

    /// The channel's data files relative to `directory` (ChannelFiles's rules and order); none
    /// when the directory is missing or empty.
    static func localFiles(_ directory: String) throws -> [(relative: String, bytes: Data)] {
        guard FileManager.default.fileExists(atPath: directory) else { return [] }
        let files: [String]
        do throws(DataError) {
            files = try ChannelFiles.list(directory)
        } catch {
            if case .emptyChannel = error { return [] }
            throw error
        }
        var root = directory
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        return try files.map { path in
            let relative = path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : (path as NSString).lastPathComponent
            return (relative, try Data(contentsOf: URL(fileURLWithPath: path)))
        }
    }

    /// Files as Doubles (8 bytes each, bit patterns): `[count, (path length, data length, path
    /// bytes, data bytes)…]`, the byte section zero-padded to whole values.
    static func pack(_ files: [(relative: String, bytes: Data)]) -> [Double] {
        var bytes: [UInt8] = []
        func append(_ n: Int) { withUnsafeBytes(of: UInt64(n).littleEndian) { bytes += $0 } }
        append(files.count)
        for file in files {
            let path = Array(file.relative.utf8)
            append(path.count)
            append(file.bytes.count)
            bytes += path
            bytes += file.bytes
        }
        while bytes.count % 8 != 0 { bytes.append(0) }
        return stride(from: 0, to: bytes.count, by: 8).map { i in
            var v: UInt64 = 0
            for t in 0..<8 { v |= UInt64(bytes[i + t]) << (8 * t) }
            return Double(bitPattern: v)
        }
    }

    /// ``pack(_:)`` undone; a message that does not parse is an internal error naming the rank.
    static func unpack(_ values: [Double], rank: Int) throws -> [(relative: String, bytes: Data)] {
        var bytes = [UInt8](repeating: 0, count: values.count * 8)
        for (i, v) in values.enumerated() {
            let b = v.bitPattern
            for t in 0..<8 { bytes[i * 8 + t] = UInt8(truncatingIfNeeded: b >> (8 * t)) }
        }
        var at = 0
        func number() throws -> Int {
            guard at + 8 <= bytes.count else { throw ContainerError.algorithm("rank \(rank)'s shard message is truncated") }
            var v: UInt64 = 0
            for t in 0..<8 { v |= UInt64(bytes[at + t]) << (8 * t) }
            at += 8
            guard v <= UInt64(bytes.count) else { throw ContainerError.algorithm("rank \(rank)'s shard message claims \(v) bytes") }
            return Int(v)
        }
        guard !bytes.isEmpty else { return [] }
        let count = try number()
        var files: [(relative: String, bytes: Data)] = []
        for _ in 0..<count {
            let pathLength = try number(), dataLength = try number()
            guard at + pathLength + dataLength <= bytes.count else { throw ContainerError.algorithm("rank \(rank)'s shard message is truncated") }
            let relative = String(decoding: bytes[at..<(at + pathLength)], as: UTF8.self)
            // A path that climbs out of the host's directory is refused (the message is ours, but cheap to check).
            guard !relative.split(separator: "/").contains("..") else { throw ContainerError.algorithm("rank \(rank) sent the path \(relative)") }
            files.append((relative, Data(bytes[(at + pathLength)..<(at + pathLength + dataLength)])))
            at += pathLength + dataLength
        }
        return files
    }
}
