import Foundation

extension LinearLearnerTrainer {
    /// The mini-batches as every rank sees them: each is produced once, by whichever rank asks
    /// first, and handed to the others. Ranks move in lockstep (a collective per mini-batch), or
    /// — through a loose parameter server — at most a known number of mini-batches apart, so
    /// only the last `window` need keeping; a streamed source is therefore read exactly once, in
    /// order, whatever the worker count.
    final class SharedBatches: @unchecked Sendable {
        // @unchecked: every access to `recent` is under `lock`.
        private let lock = NSLock()
        private let produce: @Sendable (Int, Int) throws -> MiniBatch?
        private let window: Int
        private var recent: [(epoch: Int, index: Int, batch: MiniBatch?)] = []

        init(window: Int = 4, _ produce: @escaping @Sendable (Int, Int) throws -> MiniBatch?) {
            self.window = max(4, window)
            self.produce = produce
        }

        func batch(_ epoch: Int, _ index: Int) throws -> MiniBatch? {
            lock.lock()
            defer { lock.unlock() }
            if let hit = recent.first(where: { $0.epoch == epoch && $0.index == index }) { return hit.batch }
            let batch = try produce(epoch, index)
            recent.append((epoch, index, batch))
            if recent.count > window { recent.removeFirst() }
            return batch
        }
    }

    /// The last epoch's row order, computed once per epoch rather than once per mini-batch.
    final class EpochOrders: @unchecked Sendable {
        // @unchecked: every access to `last` is under `lock`.
        private let lock = NSLock()
        private let rows: Int, shuffle: Bool, seed: UInt64
        private var last: (epoch: Int, order: EpochOrder)?

        init(rows: Int, shuffle: Bool, seed: UInt64) {
            self.rows = rows
            self.shuffle = shuffle
            self.seed = seed
        }

        func order(_ epoch: Int) throws -> EpochOrder {
            lock.lock()
            defer { lock.unlock() }
            if let last, last.epoch == epoch { return last.order }
            let order = try LinearLearnerTrainer.epochOrder(epoch, rows: rows, shuffle: shuffle, seed: seed)
            last = (epoch, order)
            return order
        }
    }
}
