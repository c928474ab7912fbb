import Synchronization

/// At most `limit` invocations predict at once; the others wait in arrival order. A batch
/// transform container (`SAGEMAKER_BATCH=true`) promises SageMaker
/// `MaxConcurrentTransforms` in `/execution-parameters`, and the transform agent may still send
/// more requests at once than that (several instances' agents, retries): the server keeps the
/// promise, so memory stays bounded by `limit` payloads being predicted, whatever arrives.
final class InvocationLimiter: Sendable {
    let limit: Int
    private let state: Mutex<State>

    private struct State {
        var running = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
        /// Index of the next waiter to resume (a queue without shifting the array on each pop).
        var head = 0
    }

    init(limit: Int) {
        self.limit = max(1, limit)
        self.state = Mutex(State())
    }

    /// Returns when this caller may predict; pair with ``release()``.
    func acquire() async {
        let admitted = state.withLock { s -> Bool in
            guard s.running < limit else { return false }
            s.running += 1
            return true
        }
        if admitted { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                // A release may have come between the check above and here.
                if s.running < limit {
                    s.running += 1
                    return true
                }
                s.waiting.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Hands the slot to the longest-waiting caller, or frees it.
    func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard s.head < s.waiting.count else {
                s.running -= 1
                s.waiting.removeAll(keepingCapacity: true)
                s.head = 0
                return nil
            }
            let continuation = s.waiting[s.head]
            s.head += 1
            return continuation  // the slot passes on: `running` is unchanged
        }
        next?.resume()
    }

    /// Predictions running now (for tests and diagnostics).
    var running: Int { state.withLock { $0.running } }

    /// Callers waiting for a slot.
    var waitingCount: Int { state.withLock { $0.waiting.count - $0.head } }
}
