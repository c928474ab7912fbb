import Synchronization
import Dispatch
import Foundation
import MLContainer
@testable import MLServing
import Testing

// Each test runs its own server on its own free port, so they may run in parallel.
@Suite("InferenceServer")
struct InferenceServerTests {
    @Test("/ping answers 503 while the model loads, then 200 with an empty body")
    func pingFollowsTheModelLoad() async throws {
        let gate = Gate()
        let running = try await RunningServer.start(waitUntilReady: false) {
            gate.wait()
            return EchoHandler()
        }
        let before = try await RawHTTP.request(port: running.port, "GET", "/ping")
        #expect(before.status == 503)
        let early = try await RawHTTP.request(port: running.port, "POST", "/invocations", body: Array("1,2".utf8))
        #expect(early.status == 503)
        gate.open()
        var after = before
        for _ in 0..<200 {
            after = try await RawHTTP.request(port: running.port, "GET", "/ping")
            if after.status == 200 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(after.status == 200 && after.body.isEmpty)
        #expect(await running.stop() == nil)
    }

    @Test("a model that fails to load stops the server and run() throws its error")
    func loaderFailure() async throws {
        let running = try await RunningServer.start(waitUntilReady: false) { throw ContainerError.client("no model here") }
        #expect(await running.task.value == .client("no model here"))
        #expect(!RawHTTP.canConnect(port: running.port))
    }

    @Test("Content-Type and Accept reach the handler whatever the header names' case", arguments: [
        ("Content-Type", "Accept"), ("content-type", "accept"), ("CONTENT-TYPE", "ACCEPT"),
    ])
    func headersPassThrough(names: (String, String)) async throws {
        let running = try await RunningServer.start()
        let reply = try await RawHTTP.request(port: running.port, "POST", "/invocations",
                                              headers: [(names.0, "text/csv; label_size=0"), (names.1, "application/jsonlines")],
                                              body: Array("1.5,2\n3,4\n".utf8))
        #expect(reply.status == 200)
        #expect(reply.header("Content-Type") == "text/plain")
        #expect(reply.text == "content-type=text/csv; label_size=0\naccept=application/jsonlines\nlength=10\n")
        await running.stop()
    }

    @Test("X-Amzn-SageMaker-Custom-Attributes is echoed when present, absent otherwise")
    func customAttributes() async throws {
        let running = try await RunningServer.start()
        let with = try await RawHTTP.request(port: running.port, "POST", "/invocations",
                                             headers: [("x-amzn-sagemaker-custom-attributes", "trace=abc; v=1")], body: [1])
        #expect(with.status == 200 && with.header("X-Amzn-SageMaker-Custom-Attributes") == "trace=abc; v=1")
        let without = try await RawHTTP.request(port: running.port, "POST", "/invocations", body: [1])
        #expect(without.status == 200 && without.header("X-Amzn-SageMaker-Custom-Attributes") == nil)
        await running.stop()
    }

    @Test("an empty or absent body reaches the handler, which answers 204 without a body")
    func emptyBody() async throws {
        let running = try await RunningServer.start()
        let empty = try await RawHTTP.request(port: running.port, "POST", "/invocations", headers: [("Content-Type", "text/csv")], body: [])
        #expect(empty.status == 204 && empty.header("Content-Length") == nil)
        let absent = try await RawHTTP.request(port: running.port, "POST", "/invocations")
        #expect(absent.status == 204)
        await running.stop()
    }

    @Test("a Content-Length over the limit is refused with 413 before any of the body is sent")
    func oversizedContentLength() async throws {
        let running = try await RunningServer.start(ServingConfiguration(port: 0, maxPayloadMB: 1))
        let head = "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 104857600\r\n\r\n"
        let reply = try await RawHTTP.exchange(port: running.port, Array(head.utf8))
        #expect(reply.status == 413)
        #expect(reply.text.contains("1048576-byte limit"))
        await running.stop()
    }

    @Test("bodies up to the limit are accepted (a large one is predicted off the request's thread); one byte more is 413")
    func limitBoundary() async throws {
        let running = try await RunningServer.start(ServingConfiguration(port: 0, maxPayloadMB: 1))
        let atLimit = try await RawHTTP.request(port: running.port, "POST", "/invocations", body: [UInt8](repeating: 49, count: 1 << 20))
        #expect(atLimit.status == 200 && atLimit.text.hasSuffix("length=1048576\n"))
        let over = try await RawHTTP.request(port: running.port, "POST", "/invocations", body: [UInt8](repeating: 49, count: (1 << 20) + 1))
        #expect(over.status == 413)
        await running.stop()
    }

    @Test("a chunked body is collected, and refused with 413 once it passes the limit")
    func chunkedBodies() async throws {
        let running = try await RunningServer.start(ServingConfiguration(port: 0, maxPayloadMB: 1))
        func chunked(_ chunks: Int, of size: Int) -> [UInt8] {
            var bytes = Array("POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            let chunk = Array(String(size, radix: 16).utf8) + [13, 10] + [UInt8](repeating: 50, count: size) + [13, 10]
            for _ in 0..<chunks { bytes += chunk }
            return bytes + Array("0\r\n\r\n".utf8)
        }
        let small = try await RawHTTP.exchange(port: running.port, chunked(3, of: 1000))
        #expect(small.status == 200 && small.text.hasSuffix("length=3000\n"))
        let large = try await RawHTTP.exchange(port: running.port, chunked(40, of: 65536))
        #expect(large.status == 413)
        await running.stop()
    }

    @Test("unknown paths are 404; known paths with the wrong method are 405 with Allow")
    func routing() async throws {
        let running = try await RunningServer.start()
        #expect(try await RawHTTP.request(port: running.port, "GET", "/predict").status == 404)
        #expect(try await RawHTTP.request(port: running.port, "GET", "/").status == 404)
        let getInvocations = try await RawHTTP.request(port: running.port, "GET", "/invocations")
        #expect(getInvocations.status == 405 && getInvocations.header("Allow") == "POST")
        let postPing = try await RawHTTP.request(port: running.port, "POST", "/ping", body: [])
        #expect(postPing.status == 405 && postPing.header("Allow") == "GET")
        #expect(try await RawHTTP.request(port: running.port, "DELETE", "/execution-parameters").status == 405)
        // A query string does not change the endpoint.
        #expect(try await RawHTTP.request(port: running.port, "GET", "/ping?x=1").status == 200)
        await running.stop()
    }

    @Test("/execution-parameters answers the configuration as JSON")
    func executionParameters() async throws {
        let configuration = ServingConfiguration(port: 0, isBatch: true, maxPayloadMB: 20, batchStrategy: "SINGLE_RECORD", maxConcurrentTransforms: 4)
        let running = try await RunningServer.start(configuration)
        let reply = try await RawHTTP.request(port: running.port, "GET", "/execution-parameters")
        #expect(reply.status == 200 && reply.header("Content-Type") == "application/json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])
        #expect(object["MaxConcurrentTransforms"] as? Int == 4)
        #expect(object["BatchStrategy"] as? String == "SINGLE_RECORD")
        #expect(object["MaxPayloadInMB"] as? Int == 20)
        await running.stop()
    }

    @Test("an invalid status from the handler is a 500, not a trap")
    func invalidHandlerStatus() async throws {
        let running = try await RunningServer.start { StatusHandler(status: 42) }
        let reply = try await RawHTTP.request(port: running.port, "POST", "/invocations", body: [1])
        #expect(reply.status == 500)
        await running.stop()
    }

    @Test("the handler's status and content type come back as they are")
    func handlerStatus() async throws {
        let running = try await RunningServer.start { StatusHandler(status: 415) }
        let reply = try await RawHTTP.request(port: running.port, "POST", "/invocations", body: [1])
        #expect(reply.status == 415 && reply.header("Content-Type") == nil)
        await running.stop()
    }

    @Test("shutdown waits for the request in flight, answers it, then stops listening")
    func gracefulShutdown() async throws {
        let started = DispatchSemaphore(value: 0), finished = DispatchSemaphore(value: 0)
        let running = try await RunningServer.start { SlowHandler(delay: 1.0, started: started, finished: finished) }
        let port = running.port
        let inFlight = Task { try await RawHTTP.request(port: port, "POST", "/invocations", body: [1, 2, 3]) }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                started.wait()
                continuation.resume()
            }
        }
        #expect(await running.stop() == nil)
        // stop() returned only after the handler had finished: what "waits" means, checked
        // without timing (under load the wait above may itself take most of the delay).
        #expect(finished.wait(timeout: .now()) == .success)
        let reply = try await inFlight.value
        #expect(reply.status == 200 && reply.text == "done")
        #expect(!RawHTTP.canConnect(port: port))
    }

    @Test("batch transform (SAGEMAKER_BATCH=true) with MaxConcurrentTransforms 1: requests sent at once are predicted one at a time, all answered")
    func maxConcurrentTransforms() async throws {
        let probe = ConcurrencyProbe(delay: 0.02)
        var configuration = try ServingConfiguration(environment: ["SAGEMAKER_BATCH": "true", "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": "1"], workers: 2)
        configuration.port = 0
        let running = try await RunningServer.start(configuration) { probe }
        let port = running.port
        let replies = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 { group.addTask { try await RawHTTP.request(port: port, "POST", "/invocations", body: [1]).status } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(replies == [200, 200, 200, 200])
        #expect(probe.most == 1)
        await running.stop()
    }

    @Test("the invocation limiter: never more than its limit inside, every caller admitted, waiters in arrival order", arguments: [1, 2, 3])
    func limiter(limit: Int) async throws {
        let limiter = InvocationLimiter(limit: limit)
        let counts = Locked((now: 0, most: 0, done: 0))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<12 {
                group.addTask {
                    await limiter.acquire()
                    counts.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
                    try await Task.sleep(for: .milliseconds(5))
                    counts.withLock { $0.now -= 1; $0.done += 1 }
                    limiter.release()
                }
            }
            try await group.waitForAll()
        }
        let final = counts.value
        #expect(final.done == 12 && final.most <= limit && final.now == 0)
        #expect(limiter.running == 0)
        // Waiters are resumed in the order they queued.
        let gate = InvocationLimiter(limit: 1)
        let order = Locked([Int]())
        await gate.acquire()
        var waiting: [Task<Void, Never>] = []
        for k in 0..<5 {
            waiting.append(Task {
                await gate.acquire()
                order.withLock { $0.append(k) }
                gate.release()
            })
            while gate.waitingCount < k + 1 { try await Task.sleep(for: .milliseconds(1)) }
        }
        gate.release()
        for task in waiting { await task.value }
        #expect(order.value == [0, 1, 2, 3, 4])
        #expect(gate.running == 0 && gate.waitingCount == 0)
    }

    @Test("SAGEMAKER_BIND_TO_PORT chooses the port")
    func bindToPort() async throws {
        let port = try RawHTTP.freePort()
        let configuration = try ServingConfiguration(environment: ["SAGEMAKER_BIND_TO_PORT": "\(port)"], workers: 1)
        let running = try await RunningServer.start(configuration)
        #expect(running.port == port)
        #expect(try await RawHTTP.request(port: port, "GET", "/ping").status == 200)
        await running.stop()
    }

    @Test("a port already in use is a ClientError naming it")
    func portInUse() async throws {
        let first = try await RunningServer.start()
        let second = InferenceServer(configuration: ServingConfiguration(port: first.port), algorithm: "test", host: "127.0.0.1",
                                     handlesSignals: false) { EchoHandler() }
        await #expect {
            try await second.run()
        } throws: { error in
            guard case .client(let message) = error as? ContainerError else { return false }
            return message.contains("127.0.0.1:\(first.port)")
        }
        await first.stop()
    }

    @Test("shutdown() before run() makes run() return at once")
    func shutdownBeforeRun() async throws {
        let server = InferenceServer(configuration: ServingConfiguration(port: 0), algorithm: "test", host: "127.0.0.1",
                                     handlesSignals: false) { EchoHandler() }
        await server.shutdown()
        try await server.run()
    }
}
