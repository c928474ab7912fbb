import Foundation
import Testing
@testable import MLCore

/// Creates the files at `relativePaths` under `root` (with their directories), each holding its name.
private func makeFiles(_ relativePaths: [String], under root: String) throws {
    for relative in relativePaths {
        let full = root + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(relative.utf8).write(to: URL(fileURLWithPath: full))
    }
}


@Suite("ChannelFiles")
struct ChannelFilesTests {
    @Test("recursive, byte-wise sorted, names starting with . or _ skipped at every level")
    func listing() throws {
        try withTemporaryDirectory { root in
            try makeFiles([
                "b.csv", "a/2.csv", "a/10.csv", "a-c.csv", "B.csv", "z.csv", "é.csv", "sub/deeper/z.csv",
                "empty.csv",
                ".hidden", "_SUCCESS", "_tmp/x.csv", ".git/config", "a/.DS_Store", "a/_part", "sub/.cache/y.csv",
                "sub/deeper/_x/y.csv",
            ], under: root)
            let expected = ["B.csv", "a-c.csv", "a/10.csv", "a/2.csv", "b.csv", "empty.csv", "sub/deeper/z.csv", "z.csv", "é.csv"]
            #expect(try ChannelFiles.list(root) == expected.map { root + "/" + $0 })
            // A trailing slash does not double the separator.
            let channel = try ChannelFiles(path: root + "/")
            #expect(channel.files == expected.map { root + "/" + $0 })
            #expect(channel.path == root + "/")
            #expect(try ChannelFiles.list(root + "//") == expected.map { root + "/" + $0 })
        }
    }

    @Test("the root is never skipped, even when its own name starts with _ or .")
    func rootNameNotSkipped() throws {
        try withTemporaryDirectory { dir in
            try makeFiles(["_train/part-0", ".val/part-0"], under: dir)
            #expect(try ChannelFiles.list(dir + "/_train") == [dir + "/_train/part-0"])
            #expect(try ChannelFiles.list(dir + "/.val") == [dir + "/.val/part-0"])
        }
    }

    @Test("a single file is a channel of one file, whatever its name")
    func singleFile() throws {
        try withTemporaryDirectory { dir in
            try makeFiles(["data.csv", "_odd"], under: dir)
            #expect(try ChannelFiles.list(dir + "/data.csv") == [dir + "/data.csv"])
            #expect(try ChannelFiles.list(dir + "/_odd") == [dir + "/_odd"])
        }
    }

    @Test("empty channels")
    func empty() throws {
        try withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir + "/nothing", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir + "/dirs/a/b", withIntermediateDirectories: true)
            try makeFiles(["hidden/.x", "hidden/_SUCCESS", "hidden/_tmp/part-0"], under: dir)
            for name in ["nothing", "dirs", "hidden"] {
                #expect(dataError { () throws(DataError) in try ChannelFiles.list(dir + "/" + name) }
                        == .emptyChannel(path: dir + "/" + name))
            }
        }
    }

    @Test("a path that does not exist is .io")
    func missing() throws {
        try withTemporaryDirectory { dir in
            let e = dataError { () throws(DataError) in try ChannelFiles.list(dir + "/absent") }
            guard case .io(let path, let reason)? = e else {
                Issue.record("expected .io, got \(String(describing: e))")
                return
            }
            #expect(path == dir + "/absent")
            #expect(reason.contains("No such file"))
        }
    }

    @Test("symbolic links to files and directories are followed")
    func symlinksFollowed() throws {
        try withTemporaryDirectory { dir in
            try makeFiles(["store/one.csv", "store/more/two.csv", "channel/own.csv"], under: dir)
            let fm = FileManager.default
            try fm.createSymbolicLink(atPath: dir + "/channel/link.csv", withDestinationPath: dir + "/store/one.csv")
            try fm.createSymbolicLink(atPath: dir + "/channel/linked", withDestinationPath: dir + "/store/more")
            // A skipped name is never looked at, even when it dangles.
            try fm.createSymbolicLink(atPath: dir + "/channel/.dangling", withDestinationPath: dir + "/nowhere")
            #expect(try ChannelFiles.list(dir + "/channel")
                    == ["link.csv", "linked/two.csv", "own.csv"].map { dir + "/channel/" + $0 })
            // The channel root itself may be a link.
            try fm.createSymbolicLink(atPath: dir + "/rootlink", withDestinationPath: dir + "/store")
            #expect(try ChannelFiles.list(dir + "/rootlink")
                    == ["more/two.csv", "one.csv"].map { dir + "/rootlink/" + $0 })
        }
    }

    @Test("a dangling link and a link cycle are .io naming the link")
    func symlinkErrors() throws {
        try withTemporaryDirectory { dir in
            try makeFiles(["dangling/ok.csv", "cycle/sub/ok.csv"], under: dir)
            let fm = FileManager.default
            try fm.createSymbolicLink(atPath: dir + "/dangling/gone.csv", withDestinationPath: dir + "/nowhere.csv")
            let e1 = dataError { () throws(DataError) in try ChannelFiles.list(dir + "/dangling") }
            guard case .io(let path1, let reason1)? = e1 else {
                Issue.record("expected .io, got \(String(describing: e1))")
                return
            }
            #expect(path1 == dir + "/dangling/gone.csv")
            #expect(reason1.contains("does not exist"))

            try fm.createSymbolicLink(atPath: dir + "/cycle/sub/back", withDestinationPath: dir + "/cycle")
            let e2 = dataError { () throws(DataError) in try ChannelFiles.list(dir + "/cycle") }
            guard case .io(let path2, let reason2)? = e2 else {
                Issue.record("expected .io, got \(String(describing: e2))")
                return
            }
            #expect(path2 == dir + "/cycle/sub/back")
            #expect(reason2.contains("cycle"))
        }
    }

    @Test("FIFOs inside a channel directory are skipped")
    func fifoSkipped() throws {
        try withTemporaryDirectory { dir in
            try makeFiles(["a.csv"], under: dir)
            #expect(mkfifo(dir + "/pipe", 0o600) == 0)
            #expect(try ChannelFiles.list(dir) == [dir + "/a.csv"])
            #expect(try ChannelFiles.list(dir + "/pipe") == [dir + "/pipe"])
        }
    }

    @Test("isSkipped")
    func skippedNames() {
        #expect(ChannelFiles.isSkipped(name: ".x") && ChannelFiles.isSkipped(name: "_x"))
        #expect(!ChannelFiles.isSkipped(name: "x_") && !ChannelFiles.isSkipped(name: "x.") && !ChannelFiles.isSkipped(name: ""))
    }
}
