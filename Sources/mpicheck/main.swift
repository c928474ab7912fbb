// Runs MPICommunicator's collectives under mpirun for MLClusterTests (Tests/MLClusterTests):
//
//   mpirun -np N mpicheck collectives <directory>   each rank writes <directory>/rank-<r>.txt
//   mpirun -np N mpicheck kill                      rank 1 raises SIGKILL on itself mid-run
//   mpirun -np N mpicheck sleep <seconds>           rank 1 sleeps before a barrier (the others time out)
//   mpirun -np N mpicheck throw                     rank 1's body throws inside MPIWorkerGroup.run
#if MPI
import Foundation
import MLCluster
import MLCore
#if canImport(Glibc)
import Glibc
#endif

struct CheckFailure: Error, CustomStringConvertible {
    var description: String
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("mpicheck: \(message)\n".utf8))
    exit(2)
}

let arguments = CommandLine.arguments.dropFirst()
guard let scenario = arguments.first else { fail("usage: mpicheck collectives <directory> | kill | sleep <seconds> | throw") }

let group: MPIWorkerGroup
do {
    group = try MPIWorkerGroup.world()
} catch {
    fail("\(error)")
}

do {
    switch scenario {
    case "collectives":
        guard let directory = arguments.dropFirst().first else { fail("collectives needs a directory") }
        let lines = try group.run { comm in _CollectiveCheck.run(comm) }
        let path = directory + "/rank-\(group.communicator.rank).txt"
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
    case "kill":
        try group.run { comm in
            var sum: [Double] = [1, 2, 3]
            try comm.allReduceSum(&sum)
            print("rank \(comm.rank): first collective done", terminator: "\n")
            fflush(nil)
            if comm.rank == 1 { raise(SIGKILL) }
            // The others wait here for rank 1, which never comes.
            _ = try comm.allGather([Float(comm.rank)])
            try comm.barrier()
        }
    case "sleep":
        let seconds = arguments.dropFirst().first.flatMap { UInt32($0) } ?? 30
        try group.run { comm in
            try comm.barrier()
            if comm.rank == 1 { sleep(seconds) }
            try comm.barrier()
        }
    case "throw":
        try group.run { comm in
            try comm.barrier()
            if comm.rank == 1 { throw CheckFailure(description: "rank 1 failed on purpose") }
            try comm.barrier()
        }
    default:
        fail("unknown scenario '\(scenario)'")
    }
} catch {
    fail("rank \(group.communicator.rank): \(error)")
}
#else
import Foundation

FileHandle.standardError.write(Data("mpicheck: built without the MPI trait\n".utf8))
exit(2)
#endif
