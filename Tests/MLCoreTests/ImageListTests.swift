import Foundation
import Testing
@testable import MLCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// ImageList: MXNet .lst files (im2rec's `%d\t%f\t%s` lines), their errors with file:line:field,
// and path resolution under an image root (.., absolute paths, symbolic links, missing files).

/// The list problem and location `body` throws.
private func listError<R>(_ body: () throws(DataError) -> R) -> (at: DataLocation, problem: ImageListProblem)? {
    guard case let .badImageList(at, problem)? = dataError(body) else { return nil }
    return (at, problem)
}

private func parse(_ text: String, name: String = "train.lst") throws(DataError) -> ImageList {
    try ImageList(bytes: Array(text.utf8), name: name)
}

@Suite("ImageList")
struct ImageListTests {
    @Test("im2rec's single-label lines, blank lines, \\r\\n, spaces around numbers, no final newline")
    func singleLabel() throws {
        let text = "0\t3.000000\tcat/1.jpg\n\n1\t0.000000\tdog/2.jpg\r\n  2 \t 1 \tbird/3 a.png  \n5\t1e0\t./x.jpg"
        let list = try parse(text)
        #expect(list.labelCount == 1)
        #expect(list.entries == [
            ImageListEntry(index: 0, labels: [3], path: "cat/1.jpg", line: 1),
            ImageListEntry(index: 1, labels: [0], path: "dog/2.jpg", line: 3),
            ImageListEntry(index: 2, labels: [1], path: "bird/3 a.png", line: 4),
            ImageListEntry(index: 5, labels: [1], path: "./x.jpg", line: 5),
        ])
        #expect(try parse(text + "\n\n").entries == list.entries, "trailing blank lines")
        #expect(try ImageList(bytes: [0xEF, 0xBB, 0xBF] + Array(text.utf8), name: "bom.lst").entries == list.entries, "a byte-order mark")
    }

    @Test("multi-label lines: every line the same number of labels, any float")
    func multiLabel() throws {
        let list = try parse("10\t1\t0\t1\ta.jpg\n11\t0.5\t-2\t1e-3\tb/c.jpg\n")
        #expect(list.labelCount == 3)
        #expect(list.entries.map(\.labels) == [[1, 0, 1], [0.5, -2, 0.001]])
        #expect(list.entries.map(\.index) == [10, 11])
    }

    @Test("each malformed line is an error at file:line:field", arguments: [
        // (text, line, field, problem)
        ("0\t1\n", 1, 2, ImageListProblem.tooFewFields(got: 2)),
        ("0 1 a.jpg\n", 1, 1, .tooFewFields(got: 1)),
        ("0\t1\ta.jpg\n\n1\t1\t2\tb.jpg\n", 3, 3, .fieldCountMismatch(expected: 3, got: 4, firstLine: 1)),
        ("0\t1\ta.jpg\n1\tb.jpg\n", 2, 2, .tooFewFields(got: 2)),
        ("x\t1\ta.jpg\n", 1, 1, .badIndex(text: "x")),
        ("1.5\t1\ta.jpg\n", 1, 1, .badIndex(text: "1.5")),
        ("0\tcat\ta.jpg\n", 1, 2, .badLabel(text: "cat")),
        ("0\t1\t2\t\ta.jpg\n", 1, 4, .badLabel(text: "")),
        ("0\tnan\ta.jpg\n", 1, 2, .badLabel(text: "nan")),
        ("0\t1\ta.jpg\n1\t1\tb.jpg\r\n0\t2\tc.jpg\n", 3, 1, .duplicateIndex(0, firstLine: 1)),
        ("0\t1\t\n", 1, 3, .emptyPath),
        ("0\t1\t/etc/passwd\n", 1, 3, .absolutePath("/etc/passwd")),
        ("0\t1\ta/../../b.jpg\n", 1, 3, .climbsAboveRoot("a/../../b.jpg")),
        ("0\t1\t../train/x.jpg\n", 1, 3, .climbsAboveRoot("../train/x.jpg")),
    ])
    func errors(text: String, line: Int, field: Int, problem: ImageListProblem) throws {
        let error = listError { () throws(DataError) in try parse(text) }
        #expect(error?.problem == problem)
        #expect(error?.at == DataLocation(file: "train.lst", line: line, column: field))
        let message = DataError.badImageList(DataLocation(file: "train.lst", line: line, column: field), problem).description
        #expect(message.hasPrefix("train.lst:\(line):\(field): "))
    }

    @Test("messages say what is wrong and how it should be")
    func messages() throws {
        let at = DataLocation(file: "train.lst", line: 3, column: 3)
        #expect(DataError.badImageList(at, .fieldCountMismatch(expected: 3, got: 4, firstLine: 1)).description
                == "train.lst:3:3: the line has 4 fields but line 1 has 3; every line needs the same number of labels")
        #expect(DataError.badImageList(at, .duplicateIndex(0, firstLine: 1)).description
                == "train.lst:3:3: index 0 is already used on line 1; indices must be unique")
        #expect(DataError.badImageList(at, .badLabel(text: "cat")).description
                == "train.lst:3:3: label 'cat' is not a number (expected a finite decimal such as 3 or 0.5)")
        #expect(DataError.badImageList(DataLocation(file: "e.lst"), .noEntries).description
                == "e.lst: the list has no entries; expected lines index<TAB>label<TAB>relative/path")
    }

    @Test("an empty list (or only blank lines) is an error; a missing list file is an io error")
    func empty() throws {
        #expect(listError { () throws(DataError) in try parse("") }?.problem == .noEntries)
        #expect(listError { () throws(DataError) in try parse("\n \r\n\n") }?.problem == .noEntries)
        #expect(dataError { () throws(DataError) in try ImageList(contentsOfFile: "/nonexistent/train.lst") }
                == .io(path: "/nonexistent/train.lst", reason: "No such file or directory"))
    }

    @Test("paths resolve under the root; .., absolute paths, links out of the root and missing files are refused with the list line")
    func resolution() throws {
        let directory = try TemporaryDirectory()
        let base = directory.url.path
        let root = base + "/train"
        _ = try directory.write("train/cat/1.jpg", "x")
        _ = try directory.write("train/dog/2.jpg", "x")
        _ = try directory.write("secret.jpg", "x")
        try FileManager.default.createDirectory(atPath: root + "/empty", withIntermediateDirectories: true)
        #expect(symlink(root + "/cat/1.jpg", root + "/inside.jpg") == 0)        // absolute link, stays inside
        #expect(symlink("../secret.jpg", root + "/outside.jpg") == 0)          // relative link, leaves
        #expect(symlink(base, root + "/up") == 0)                              // a directory link out
        #expect(symlink(root, base + "/link-to-train") == 0)                   // the root itself via a link

        let real = try #require(realpath(root, nil).map { p in defer { free(p) }; return String(cString: p) })
        let good = try parse("0\t0\tcat/1.jpg\n1\t1\tdog//2.jpg\n2\t0\tinside.jpg\n3\t1\tdog/../cat/1.jpg\n", name: "ok.lst")
        let expected = [real + "/cat/1.jpg", real + "/dog/2.jpg", real + "/cat/1.jpg", real + "/cat/1.jpg"]
        #expect(try good.resolvedPaths(root: root) == expected)
        #expect(try good.resolvedPaths(root: base + "/link-to-train") == expected)
        #expect(try good.resolvedPaths(root: root + "/") == expected)

        func failure(_ line: String) -> (at: DataLocation, problem: ImageListProblem)? {
            listError { () throws(DataError) in
                try parse("0\t0\tcat/1.jpg\n\n" + line + "\n", name: "bad.lst").resolvedPaths(root: root)
            }
        }
        let at = DataLocation(file: "bad.lst", line: 3, column: 3)
        #expect(failure("7\t1\toutside.jpg")?.at == at)
        #expect(failure("7\t1\toutside.jpg")?.problem == .resolvesOutsideRoot("outside.jpg", resolved: real.replacingOccurrences(of: "/train", with: "") + "/secret.jpg", root: root))
        #expect(failure("7\t1\tup/secret.jpg")?.problem == .resolvesOutsideRoot("up/secret.jpg", resolved: real.replacingOccurrences(of: "/train", with: "") + "/secret.jpg", root: root))
        #expect(failure("7\t1\tcat/2.jpg")?.problem == .missingImage("cat/2.jpg", root: root, reason: "No such file or directory"))
        #expect(failure("7\t1\tcat/2.jpg")?.at == at)
        #expect(failure("7\t1\tempty")?.problem == .notAFile("empty"))
        #expect(failure("7\t1\tcat/1.jpg/x")?.problem == .missingImage("cat/1.jpg/x", root: root, reason: "Not a directory"))
        let message = DataError.badImageList(at, .missingImage("cat/2.jpg", root: root, reason: "No such file or directory")).description
        #expect(message == "bad.lst:3:3: the image 'cat/2.jpg' is not there under the image root '\(root)' (No such file or directory)")

        // The same checks one path at a time, and a root that is not a directory.
        let imageRoot = try ImageRoot(path: root)
        #expect(throws: ImageListProblem.absolutePath("/etc/passwd")) { try imageRoot.resolve("/etc/passwd") }
        #expect(throws: ImageListProblem.climbsAboveRoot("../x")) { try imageRoot.resolve("../x") }
        #expect(throws: ImageListProblem.emptyPath) { try imageRoot.resolve("") }
        guard case .io(let path, _)? = dataError({ () throws(DataError) in try ImageRoot(path: root + "/cat/1.jpg") }) else {
            Issue.record("a file as root")
            return
        }
        #expect(path == root + "/cat/1.jpg")
    }

    @Test("reads a list file by path; errors name the path")
    func fromFile() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("train_lst/train.lst", "0\t1.000000\ta.jpg\n1\t2.000000\tb.jpg\n")
        let list = try ImageList(contentsOfFile: path)
        #expect(list.name == path && list.entries.count == 2)
        let bad = try directory.write("bad.lst", "0\t1\ta.jpg\n1\tone\tb.jpg\n")
        #expect(listError { () throws(DataError) in try ImageList(contentsOfFile: bad) }?.at == DataLocation(file: bad, line: 2, column: 2))
    }
}
