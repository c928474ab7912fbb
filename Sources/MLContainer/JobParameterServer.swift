import MLAlgorithms
import MLCore

/// The hidden `_kvstore` / `_num_kv_servers` of a linear-learner, PCA or k-means job
/// (``KVStoreSetting``), logged: the parameter server among this process's workers, or
/// all-reduce — always all-reduce across MPI processes, where the server does not run.
enum JobParameterServer {
    static func choose(_ values: HyperparameterSet, workers: Int, group: (any WorkerGroup)?,
                       log: (String) -> Void) throws(ContainerError) -> NetworkParameterServer? {
        let server: NetworkParameterServer?
        do {
            server = try KVStoreSetting.parameterServer(values, workers: workers)
        } catch {
            throw .client(error.description)
        }
        guard let server else { return nil }
        if let group, !(group is InProcessWorkerGroup) {
            log("_kvstore=\(values.hidden["_kvstore"] ?? ""): all-reduce over \(group.size) MPI processes (the parameter server runs within one process)")
            return nil
        }
        log(KVStoreSetting.description(server, workers: workers))
        return server
    }
}
