import Foundation
import MLCore

/// SageMaker's hidden `_kvstore` and `_num_kv_servers` (MXNet KVStore names), which the linear
/// learner, PCA and k-means accept: how the workers combine their work.
///
/// | `_kvstore` | MLCore |
/// | --- | --- |
/// | `auto` (default), `local`, `device` | all-reduce over micro-shards |
/// | `dist_sync`, `dist_device_sync` | the parameter server, synchronously (the same bits as all-reduce) |
/// | `dist_async`, `dist_device_async` | the parameter server, asynchronously (not reproducible) |
/// | `dist_stale:<s>` (MLCore's own) | the parameter server, each worker at most `s` steps ahead of the slowest |
///
/// `_num_kv_servers`: the server's shards, `auto` (one per worker) or an integer ≥ 1. The server
/// runs among the workers of one process; across MPI processes all-reduce is used.
public enum KVStoreSetting {
    /// The hidden names this reads (a job keeps them for the algorithm rather than ignoring them).
    public static let names: Set<String> = ["_kvstore", "_num_kv_servers"]

    /// The server `values` asks for with `workers` workers, or `nil` for all-reduce.
    public static func parameterServer(_ values: HyperparameterSet, workers: Int) throws(HyperparameterError) -> NetworkParameterServer? {
        let raw = values.hidden["_kvstore"] ?? "auto"
        let kv = raw.trimmingCharacters(in: .whitespaces).lowercased()
        let consistency: ParameterServerConsistency
        switch kv {
        case "auto", "local", "device", "": return nil
        case "dist_sync", "dist_device_sync": consistency = .synchronous
        case "dist_async", "dist_device_async": consistency = .asynchronous
        default:
            guard kv.hasPrefix("dist_stale:"), let s = Int(kv.dropFirst("dist_stale:".count)), s >= 0 else {
                throw .invalid(name: "_kvstore", value: raw,
                               rule: "auto, local, device, dist_sync, dist_device_sync, dist_async, dist_device_async or dist_stale:<s> with s ≥ 0")
            }
            consistency = .boundedStaleness(s)
        }
        let servers = (values.hidden["_num_kv_servers"] ?? "auto").trimmingCharacters(in: .whitespaces).lowercased()
        let shards: Int
        if servers == "auto" {
            shards = max(1, workers)
        } else if let n = Int(servers), n >= 1 {
            shards = n
        } else {
            throw .invalid(name: "_num_kv_servers", value: values.hidden["_num_kv_servers"] ?? "", rule: "auto or an integer ≥ 1")
        }
        return NetworkParameterServer(shards: shards, consistency: consistency)
    }

    /// The log line that says what `_kvstore` chose.
    public static func description(_ server: NetworkParameterServer?, workers: Int) -> String {
        guard let server else { return "_kvstore: all-reduce over \(workers) worker(s)" }
        return "_kvstore: parameter server, \(server.consistency), \(server.shards) shard(s), \(workers) worker(s)"
            + (server.consistency.isDeterministic ? " (the same bits as all-reduce)" : "")
    }
}
