import MLAlgorithms
import MLCore

/// The hidden `_kvstore` / `_num_kv_servers` of a linear-learner, PCA or k-means job
/// (``KVStoreSetting``), logged: the parameter server among this process's workers, or
/// all-reduce. Across MPI processes the synchronous server runs where the algorithm supports it
/// (k-means); otherwise all-reduce is used, with a log line.
enum JobParameterServer {
    /// `synchronousAcrossProcesses`: the algorithm runs the synchronous server across MPI
    /// processes too (``CollectiveParameterServer``; k-means).
    static func choose(_ values: HyperparameterSet, workers: Int, group: (any WorkerGroup)?, synchronousAcrossProcesses: Bool = false,
                       log: (String) -> Void) throws(ContainerError) -> NetworkParameterServer? {
        let server: NetworkParameterServer?
        do {
            server = try KVStoreSetting.parameterServer(values, workers: workers)
        } catch {
            throw .client(error.description)
        }
        guard let server else { return nil }
        if let group, !(group is InProcessWorkerGroup) {
            if synchronousAcrossProcesses && server.consistency == .synchronous {
                log("_kvstore: parameter server, sync, \(server.shards) shard(s) on \(group.size) MPI processes (the same bits as all-reduce)")
                return server
            }
            log("_kvstore=\(values.hidden["_kvstore"] ?? ""): all-reduce over \(group.size) MPI processes (the parameter server runs within one process)")
            return nil
        }
        log(KVStoreSetting.description(server, workers: workers))
        return server
    }
}
