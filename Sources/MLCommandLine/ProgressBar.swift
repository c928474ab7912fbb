import Dispatch
import Synchronization

/// A one-line progress bar on stderr, drawn from ``MLCore/TrainingEvent/progress(epoch:completed:total:)``
/// events and erased before any stdout line is printed, so metric lines never share a line with
/// it. Disabled (every call a no-op) unless stderr is a terminal.
///
/// ```text
/// epoch 3/40 [##############----------------]  7/15 batches  46%
/// ```
final class ProgressBar: Sendable {
    private struct State {
        var shown = false
        var lastDraw: UInt64 = 0
    }

    private let console: Console
    private let enabled: Bool
    private let epochs: Int
    private let state = Mutex(State())
    /// Redraws at most this often (the last batch of an epoch is always drawn).
    private let interval: UInt64 = 50_000_000

    static let width = 30

    init(console: Console, enabled: Bool, epochs: Int) {
        self.console = console
        self.enabled = enabled
        self.epochs = max(0, epochs)  // 0: the epoch count is not known
    }

    /// Draws `completed` of `total` mini-batches of the 0-based `epoch`.
    func update(epoch: Int, completed: Int, total: Int) {
        draw(final: completed >= total) { Self.render(epoch: epoch, epochs: epochs, completed: completed, total: total) }
    }

    /// Draws `completed` of `total` `unit`s of the work named `label` (`mlc predict`: MB of a file).
    func update(label: String, completed: Int, total: Int, unit: String) {
        draw(final: completed >= total) { Self.render(label: label, completed: completed, total: total, unit: unit) }
    }

    private func draw(final: Bool, _ text: () -> String) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        state.withLock { s in
            guard final || now &- s.lastDraw >= interval || !s.shown else { return }
            s.lastDraw = now
            s.shown = true
            console.standardError("\r\u{1B}[2K" + text())
        }
    }

    /// Erases the bar if it is shown.
    func clear() {
        guard enabled else { return }
        state.withLock { s in
            guard s.shown else { return }
            s.shown = false
            console.standardError("\r\u{1B}[2K")
        }
    }

    /// The bar's text (no control characters).
    static func render(epoch: Int, epochs: Int, completed: Int, total: Int) -> String {
        render(label: "epoch \(epoch + 1)" + (epochs > 0 ? "/\(epochs)" : ""), completed: completed, total: total, unit: "batches")
    }

    /// `label [#####-----] completed/total unit pct%`.
    static func render(label: String, completed: Int, total: Int, unit: String) -> String {
        let fraction = total > 0 ? min(1, max(0, Double(completed) / Double(total))) : 1
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        return "\(label) [\(bar)] \(completed)/\(total) \(unit) \(Int((fraction * 100).rounded(.down)))%"
    }
}
