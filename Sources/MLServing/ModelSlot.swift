import MLContainer
import Synchronization

/// Where the loaded model waits for requests: empty until the loader finishes (`/ping` answers
/// 503 meanwhile), then set once and only read. The handler itself is immutable and safe to call
/// from many threads; the lock guards only the moment it is installed.
final class ModelSlot: Sendable {
    private let slot = Mutex<(any InvocationHandler)?>(nil)

    /// The handler, or nil while the model is loading.
    var handler: (any InvocationHandler)? { slot.withLock { $0 } }

    func install(_ handler: any InvocationHandler) { slot.withLock { $0 = handler } }
}
