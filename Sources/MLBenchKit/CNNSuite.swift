import Foundation
import MLAlgorithms
import MLCore

/// The `cnn` suite's data: 1×28×28 images of 10 classes. Each class is a template of 3–6
/// Gaussian blobs; an image is its class's template shifted by up to ±2 pixels (wrapping),
/// scaled by a contrast in [0.6, 1], plus normal noise (σ 0.25), clipped to [0, 1]. Labels are
/// uniform. Written once as `x_train.npy` / `x_test.npy` (float32 `[N, 1, 28, 28]`) and
/// `y_train.npy` / `y_test.npy` (float32 `[N]`).
public enum CNNWorkload {
    public static let side = 28
    public static let classes = 10

    public static func directoryName(rows: Int, testRows: Int, seed: UInt64) -> String {
        "cnn-v1-\(rows)+\(testRows)-seed\(seed)"
    }

    public static func ensure(directory: String, rows: Int, testRows: Int, seed: UInt64) throws {
        let fm = FileManager.default
        if ["x_train", "y_train", "x_test", "y_test"].allSatisfy({ fm.fileExists(atPath: "\(directory)/\($0).npy") }) { return }
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var g = RandomStream(seed: seed, path: [0xC22])
        let plane = side * side
        var templates = [Double](repeating: 0, count: classes * plane)
        for c in 0..<classes {
            for _ in 0..<(3 + Int(g.next() % 4)) {
                let cy = 6 + g.nextDouble() * Double(side - 12), cx = 6 + g.nextDouble() * Double(side - 12)
                let sigma = 1.5 + 2.5 * g.nextDouble(), weight = 0.5 + 0.5 * g.nextDouble()
                for y in 0..<side { for x in 0..<side {
                    let d = (Double(y) - cy) * (Double(y) - cy) + (Double(x) - cx) * (Double(x) - cx)
                    templates[c * plane + y * side + x] += weight * Foundation.exp(-d / (2 * sigma * sigma))
                } }
            }
            let peak = templates[(c * plane)..<((c + 1) * plane)].max() ?? 1
            for i in 0..<plane { templates[c * plane + i] /= peak }
        }
        for (split, n, stream) in [("train", rows, UInt64(1)), ("test", testRows, UInt64(2))] {
            var images = [Float](repeating: 0, count: n * plane), labels = [Float](repeating: 0, count: n)
            for r in 0..<n {
                var rng = RandomStream(seed: seed, path: [stream, UInt64(r)])
                let label = Int(rng.next() % UInt64(classes))
                let dy = Int(rng.next() % 5) - 2, dx = Int(rng.next() % 5) - 2
                let contrast = 0.6 + 0.4 * rng.nextDouble()
                labels[r] = Float(label)
                for y in 0..<side { for x in 0..<side {
                    let sy = (y - dy + side) % side, sx = (x - dx + side) % side
                    let v = templates[label * plane + sy * side + sx] * contrast + 0.25 * rng.standardNormal()
                    images[r * plane + y * side + x] = Float(min(1, max(0, v)))
                } }
            }
            try NPYWriter.write(images, shape: [n, 1, side, side], to: "\(directory)/x_\(split).npy")
            try NPYWriter.write(labels, to: "\(directory)/y_\(split).npy")
        }
    }
}

/// The `cnn` suite's ResNet data: 3×32×32 colour images of 10 classes (CIFAR-10's shape). Each
/// class is a template of 2–4 coloured Gaussian blobs (each blob its own RGB colour) over a
/// coloured stripe pattern (the class's own angle, period and colour). An image is its class's
/// template shifted by up to ±3 pixels (wrapping), scaled by a contrast in [0.6, 1], each
/// channel shifted by a brightness in ±0.1, plus normal noise (σ 0.2), clipped to [0, 1]. Labels
/// are uniform. Written once as `x_train.npy` / `x_test.npy` (float32 `[N, 3, 32, 32]`) and
/// `y_train.npy` / `y_test.npy` (float32 `[N]`).
public enum ColourImageWorkload {
    public static let side = 32
    public static let channels = 3
    public static let classes = 10

    public static func directoryName(rows: Int, testRows: Int, seed: UInt64) -> String {
        "colour32-v1-\(rows)+\(testRows)-seed\(seed)"
    }

    public static func ensure(directory: String, rows: Int, testRows: Int, seed: UInt64) throws {
        let fm = FileManager.default
        if ["x_train", "y_train", "x_test", "y_test"].allSatisfy({ fm.fileExists(atPath: "\(directory)/\($0).npy") }) { return }
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var g = RandomStream(seed: seed, path: [0xC0102])
        let plane = side * side, image = channels * plane
        var templates = [Double](repeating: 0, count: classes * image)
        for c in 0..<classes {
            let t = c * image
            // Stripes: a unit vector at the class's angle, a period of 4–10 pixels, a colour.
            let angle = Double.pi * (Double(c) + 0.5 * g.nextDouble()) / Double(classes)
            let period = 4 + 6 * g.nextDouble()
            let stripeColour = (0..<channels).map { _ in 0.15 + 0.25 * g.nextDouble() }
            for y in 0..<side { for x in 0..<side {
                let phase = (Double(x) * Foundation.cos(angle) + Double(y) * Foundation.sin(angle)) * 2 * Double.pi / period
                let v = 0.5 + 0.5 * Foundation.sin(phase)
                for ch in 0..<channels { templates[t + ch * plane + y * side + x] = stripeColour[ch] * v }
            } }
            for _ in 0..<(2 + Int(g.next() % 3)) {
                let cy = 6 + g.nextDouble() * Double(side - 12), cx = 6 + g.nextDouble() * Double(side - 12)
                let sigma = 2 + 3 * g.nextDouble()
                let colour = (0..<channels).map { _ in g.nextDouble() }
                for y in 0..<side { for x in 0..<side {
                    let d = (Double(y) - cy) * (Double(y) - cy) + (Double(x) - cx) * (Double(x) - cx)
                    let w = Foundation.exp(-d / (2 * sigma * sigma))
                    for ch in 0..<channels { templates[t + ch * plane + y * side + x] += colour[ch] * w }
                } }
            }
            let peak = templates[t..<(t + image)].max() ?? 1
            for i in 0..<image { templates[t + i] /= peak }
        }
        for (split, n, stream) in [("train", rows, UInt64(1)), ("test", testRows, UInt64(2))] {
            var images = [Float](repeating: 0, count: n * image), labels = [Float](repeating: 0, count: n)
            for r in 0..<n {
                var rng = RandomStream(seed: seed, path: [0xC0103, stream, UInt64(r)])
                let label = Int(rng.next() % UInt64(classes))
                let dy = Int(rng.next() % 7) - 3, dx = Int(rng.next() % 7) - 3
                let contrast = 0.6 + 0.4 * rng.nextDouble()
                let brightness = (0..<channels).map { _ in 0.2 * rng.nextDouble() - 0.1 }
                labels[r] = Float(label)
                for ch in 0..<channels { for y in 0..<side { for x in 0..<side {
                    let sy = (y - dy + side) % side, sx = (x - dx + side) % side
                    let v = templates[label * image + ch * plane + sy * side + sx] * contrast + brightness[ch] + 0.2 * rng.standardNormal()
                    images[r * image + ch * plane + y * side + x] = Float(min(1, max(0, v)))
                } } }
            }
            try NPYWriter.write(images, shape: [n, channels, side, side], to: "\(directory)/x_\(split).npy")
            try NPYWriter.write(labels, to: "\(directory)/y_\(split).npy")
        }
    }
}

/// `mlbench cnn`: conv3×3(32)-ReLU-maxpool2-conv3×3(64)-ReLU-maxpool2-dense128-ReLU-dense10 on
/// 1×28×28 images (valid padding: 28→26→13→11→5), batch 64, SGD with momentum 0.9 (lr 0.01),
/// one epoch over 12,800 images in stored order, against PyTorch CPU on the same model, data and
/// thread count in the same run (Benchmarks/peers/cnn/torch_cnn.py).
///
/// Checked before timing: the mean loss of the epoch's last 10% of steps is below the first
/// step's, the test accuracy is above 50%, and 1 worker and `threads` workers give the same
/// bits. Timed: the training epoch (training images/s, and the GFLOP/s of 3× the forward
/// FLOPs); inference over the test images (images/s); one worker's epoch (the speedup of
/// `threads` workers over one); and the second convolution's GEMMs alone at the shape training
/// runs them (GFLOP/s as a share of `threads` × the single-thread SGEMM peak).
///
/// Second workload, `resnet20_colour32_<k>k_batch64`: `ResNet(depth: 20, classes: 10)` on
/// 3×32×32 ``ColourImageWorkload`` images, batch 64 (micro-shards of 16 rows: batch norm per
/// micro-shard), SGD lr 0.05, momentum 0.9, weight decay 5e-4, one epoch over 2,560 images in
/// stored order, inference over 1,000; the same checks before timing (the loss falls, test
/// accuracy above 30%, 1 worker and `threads` workers the same bits) and the same timings, against
/// PyTorch on the same model definition (`torch_cnn.py --model resnet20`).
public struct CNNSuite: BenchmarkSuite {
    public let name = "cnn"
    public let summary = "CNN conv32-pool-conv64-pool-fc128-fc10 on 28×28 and ResNet-20 on 32×32×3, batch 64, SGD momentum: training and inference images/s vs PyTorch"
    public let rows: Int
    public let testRows: Int
    public let resNetRows: Int
    public let resNetTestRows: Int
    let seed: UInt64 = 9

    public init(rows: Int = 12_800, testRows: Int = 2_000, resNetRows: Int = 2_560, resNetTestRows: Int = 1_000) {
        self.rows = rows
        self.testRows = testRows
        self.resNetRows = resNetRows
        self.resNetTestRows = resNetTestRows
    }

    public func keyMetric(for result: BenchmarkResult) -> String? { "train_images_per_s" }

    public static func model() -> Sequential {
        Sequential(Conv2D(inputChannels: 1, outputChannels: 32, kernelSize: 3), ReLU(), MaxPool2D(kernelSize: 2),
                   Conv2D(inputChannels: 32, outputChannels: 64, kernelSize: 3), ReLU(), MaxPool2D(kernelSize: 2),
                   Flatten(), Dense(inputFeatures: 1600, outputFeatures: 128), ReLU(), Dense(inputFeatures: 128, outputFeatures: 10))
    }

    /// 2 × multiply-adds of the convolutions and dense layers for one image.
    public static let forwardFLOPs = 2 * (32 * 26 * 26 * 9 + 64 * 11 * 11 * 288 + 128 * 1600 + 10 * 128)

    static func settings(workers: Int) -> NetworkTrainer.Settings {
        var s = NetworkTrainer.Settings()
        s.epochs = 1
        s.batchSize = 64
        s.optimizer = .sgd(learningRate: 0.01, momentum: 0.9)
        s.shuffle = false
        s.workers = workers
        return s
    }

    /// ResNet-20's forward FLOPs for one 3×32×32 image: 2 × the multiply-adds of its 21
    /// convolutions and `fc` (40,813,184). The peer counts its module's with forward hooks and
    /// refuses to run if they differ.
    public static let resNet20ForwardFLOPs = 81_626_368

    static func resNetSettings(workers: Int) -> NetworkTrainer.Settings {
        var s = NetworkTrainer.Settings()
        s.epochs = 1
        s.batchSize = 64
        s.optimizer = .sgd(learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4)
        s.shuffle = false
        s.workers = workers
        return s
    }

    public func run(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        try runSmallCNN(context) + runResNet20(context)
    }

    /// ResNet-20 on the colour images: checked, timed, and against PyTorch with `--peers`.
    func runResNet20(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        let rows = resNetRows, testRows = resNetTestRows
        let directory = try context.dataFile(ColourImageWorkload.directoryName(rows: rows, testRows: testRows, seed: seed)).path
        try ColourImageWorkload.ensure(directory: directory, rows: rows, testRows: testRows, seed: seed)
        let train = try ImageDataset.npy(images: directory + "/x_train.npy", targets: directory + "/y_train.npy")
        let test = try ImageDataset.npy(images: directory + "/x_test.npy", targets: directory + "/y_test.npy")
        let workload = "resnet20_colour32_\(rows / 1000)k_batch64"
        let network = try Network(try ResNet(depth: 20, classes: ColourImageWorkload.classes), inputShape: train.shape, seed: 0)
        let threads = context.threads

        let trainer = NetworkTrainer(settings: Self.resNetSettings(workers: threads))
        let checked = try trainer.fit(network, train: train)
        let losses = checked.state.history.flatMap(\.stepLosses)
        let tail = losses.suffix(max(1, losses.count / 10)).reduce(0, +) / Float(max(1, losses.count / 10))
        guard let first = losses.first, tail < first, tail.isFinite else {
            throw BenchmarkError.wrongResult(workload: workload, detail: "the loss went from \(losses.first ?? .nan) to \(tail)")
        }
        let accuracy = try Self.accuracy(checked.network, test, threads: threads)
        guard accuracy > 0.3 else { throw BenchmarkError.wrongResult(workload: workload, detail: "test accuracy \(accuracy)") }
        let short = try train.slice(0..<(min(rows, 256)))
        let one = try NetworkTrainer(settings: Self.resNetSettings(workers: 1)).fit(network, train: short)
        let many = try NetworkTrainer(settings: Self.resNetSettings(workers: threads)).fit(network, train: short)
        guard one.network.parameters == many.network.parameters, one.network.buffers == many.network.buffers else {
            throw BenchmarkError.wrongResult(workload: workload, detail: "1 worker and \(threads) workers trained different weights")
        }

        var last = checked
        let timing = try context.measure { last = try trainer.fit(network, train: train) }
        guard last.network.parameters == checked.network.parameters else {
            throw BenchmarkError.wrongResult(workload: workload, detail: "a rerun trained other weights")
        }
        let trainImagesPerSecond = Double(rows) / timing.median
        let inference = try context.measure { _ = try checked.network.predict(test.images, threads: threads) }
        var metrics: [String: Double] = [
            "train_images_per_s": trainImagesPerSecond,
            "train_gflops": 3 * Double(Self.resNet20ForwardFLOPs) * trainImagesPerSecond / 1e9,
            "infer_images_per_s": Double(testRows) / inference.median,
            "infer_gflops": Double(Self.resNet20ForwardFLOPs) * Double(testRows) / inference.median / 1e9,
            "final_loss": Double(tail), "test_accuracy": accuracy,
            "forward_mflop_per_image": Double(Self.resNet20ForwardFLOPs) / 1e6,
        ]
        if threads > 1 {
            let single = NetworkTrainer(settings: Self.resNetSettings(workers: 1))
            let oneWorker = try MLBenchKit.measure(warmup: 0, repeat: 1, budgetSeconds: nil) { _ = try single.fit(network, train: train) }
            metrics["workers_speedup"] = oneWorker.median / timing.median
        }
        var results = [context.result(workload: workload, timing: timing, metrics: metrics)]
        if context.options.peers {
            let peer = context.runPeer("pytorch") { () throws(PeerError) in
                try context.peers.runScript("cnn/torch_cnn.py", arguments: [
                    "--model", "resnet20", "--dir", directory, "--batch", "64", "--epochs", "1", "--lr", "0.05", "--momentum", "0.9",
                    "--weight-decay", "5e-4", "--infer-batch", String(Network.inferenceRows), "--threads", String(threads),
                    "--repeat", String(max(1, min(context.options.repeat, 3))), "--warmup", "1", "--workload", workload,
                ])
            }
            for var result in peer {
                result.workload = workload
                if let theirs = result.metrics["train_images_per_s"] { result.metrics["mlcore_train_speedup"] = trainImagesPerSecond / theirs }
                if let theirs = result.metrics["infer_images_per_s"], let ours = metrics["infer_images_per_s"] {
                    result.metrics["mlcore_infer_speedup"] = ours / theirs
                }
                results.append(result)
            }
        }
        return results
    }

    /// The small CNN on 28×28 (the first workload; its numbers and JSON are unchanged).
    func runSmallCNN(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        let directory = try context.dataFile(CNNWorkload.directoryName(rows: rows, testRows: testRows, seed: seed)).path
        try CNNWorkload.ensure(directory: directory, rows: rows, testRows: testRows, seed: seed)
        let train = try ImageDataset.npy(images: directory + "/x_train.npy", targets: directory + "/y_train.npy")
        let test = try ImageDataset.npy(images: directory + "/x_test.npy", targets: directory + "/y_test.npy")
        let workload = "mnist_like_\(rows / 1000)k_batch64"
        let network = try Network(Self.model(), inputShape: train.shape, seed: 0)
        let threads = context.threads

        // Checks: it learns, it generalizes, and the worker count does not change the bits.
        let trainer = NetworkTrainer(settings: Self.settings(workers: threads))
        let checked = try trainer.fit(network, train: train)
        let losses = checked.state.history.flatMap(\.stepLosses)
        let tail = losses.suffix(max(1, losses.count / 10)).reduce(0, +) / Float(max(1, losses.count / 10))
        guard let first = losses.first, tail < first, tail.isFinite else {
            throw BenchmarkError.wrongResult(workload: workload, detail: "the loss went from \(losses.first ?? .nan) to \(tail)")
        }
        let accuracy = try Self.accuracy(checked.network, test, threads: threads)
        guard accuracy > 0.5 else { throw BenchmarkError.wrongResult(workload: workload, detail: "test accuracy \(accuracy)") }
        let short = try train.slice(0..<(min(rows, 640)))
        let one = try NetworkTrainer(settings: Self.settings(workers: 1)).fit(network, train: short)
        let many = try NetworkTrainer(settings: Self.settings(workers: threads)).fit(network, train: short)
        guard one.network.parameters == many.network.parameters else {
            throw BenchmarkError.wrongResult(workload: workload, detail: "1 worker and \(threads) workers trained different weights")
        }

        var last = checked
        let timing = try context.measure { last = try trainer.fit(network, train: train) }
        guard last.network.parameters == checked.network.parameters else {
            throw BenchmarkError.wrongResult(workload: workload, detail: "a rerun trained other weights")
        }
        let trainImagesPerSecond = Double(rows) / timing.median
        let inference = try context.measure { _ = try checked.network.predict(test.images, threads: threads) }
        var metrics: [String: Double] = [
            "train_images_per_s": trainImagesPerSecond,
            "train_gflops": 3 * Double(Self.forwardFLOPs) * trainImagesPerSecond / 1e9,
            "infer_images_per_s": Double(testRows) / inference.median,
            "final_loss": Double(tail), "test_accuracy": accuracy,
            "forward_mflop_per_image": Double(Self.forwardFLOPs) / 1e6,
        ]
        if threads > 1 {
            let single = NetworkTrainer(settings: Self.settings(workers: 1))
            let oneWorker = try MLBenchKit.measure(warmup: 0, repeat: 1, budgetSeconds: nil) { _ = try single.fit(network, train: train) }
            metrics["workers_speedup"] = oneWorker.median / timing.median
        }
        let gemm = try Self.convolutionGEMM(threads: threads)
        metrics["conv2_gemm_gflops"] = gemm
        let peak = try MachinePeak.singleThreadSGEMM(workload: workload)
        metrics["conv2_gemm_share_of_peak"] = gemm / (peak * Double(threads))
        var results = [context.result(workload: workload, timing: timing, metrics: metrics)]
        if context.options.peers {
            let peer = context.runPeer("pytorch") { () throws(PeerError) in
                try context.peers.runScript("cnn/torch_cnn.py", arguments: [
                    "--dir", directory, "--batch", "64", "--epochs", "1", "--lr", "0.01", "--momentum", "0.9",
                    "--infer-batch", String(Network.inferenceRows), "--threads", String(threads),
                    "--repeat", String(max(1, min(context.options.repeat, 3))), "--warmup", "1", "--workload", workload,
                ])
            }
            for var result in peer {
                result.workload = workload
                if let theirs = result.metrics["train_images_per_s"] { result.metrics["mlcore_train_speedup"] = trainImagesPerSecond / theirs }
                if let theirs = result.metrics["infer_images_per_s"], let ours = metrics["infer_images_per_s"] {
                    result.metrics["mlcore_infer_speedup"] = ours / theirs
                }
                results.append(result)
            }
        }
        return results
    }

    static func accuracy(_ network: Network, _ data: ImageDataset, threads: Int) throws -> Double {
        let outputs = try network.predict(data.images, threads: threads), k = network.outputShape.count
        var correct = 0
        for r in 0..<data.rows {
            var best = 0
            for j in 1..<k where outputs[r * k + j] > outputs[r * k + best] { best = j }
            if best == Int(data.targets[r]) { correct += 1 }
        }
        return Double(correct) / Double(max(1, data.rows))
    }

    /// GFLOP/s of the second convolution's three GEMMs at a micro-shard of 16 images (forward
    /// `64×288 · 288×1936`, weight gradient `64×1936 · 1936×288`, input gradient
    /// `288×64 · 64×1936`), one independent set per thread, checked against a naive product.
    static func convolutionGEMM(threads: Int) throws -> Double {
        let m = 64, k = 288, n = 16 * 121
        var random = RandomStream(seed: 3)
        var a = [Float](repeating: 0, count: m * k), b = [Float](repeating: 0, count: k * n)
        try random.fillUniform(&a, in: -1..<1)
        try random.fillUniform(&b, in: -1..<1)
        let am = try Matrix(rows: m, columns: k, elements: a), bm = try Matrix(rows: k, columns: n, elements: b)
        let c = try BLAS.matmul(am, bm)
        var worst: Float = 0
        for (i, j) in [(0, 0), (m - 1, n - 1), (17, 999)] {
            var s: Float = 0
            for t in 0..<k { s += a[i * k + t] * b[t * n + j] }
            worst = max(worst, abs(s - c[i, j]))
        }
        guard worst < 1e-3 else { throw BenchmarkError.wrongResult(workload: "conv2_gemm", detail: "GEMM differs from the naive product by \(worst)") }
        let repeats = 20
        let timing = try MLBenchKit.measure(warmup: 1, repeat: 5, budgetSeconds: nil) {
            a.withUnsafeBufferPointer { ab in
                b.withUnsafeBufferPointer { bb in
                    // invariant: a and b hold m·k and k·n > 0 values
                    let pa = SharedPointer(ab.baseAddress!), pb = SharedPointer(bb.baseAddress!) // invariant: see above
                    parallelFor(blocks: threads, threads: threads) { _ in
                        let out = UnsafeMutablePointer<Float>.allocate(capacity: m * n), grad = UnsafeMutablePointer<Float>.allocate(capacity: k * n)
                        let dw = UnsafeMutablePointer<Float>.allocate(capacity: m * k)
                        defer { out.deallocate(); grad.deallocate(); dw.deallocate() }
                        for _ in 0..<repeats {
                            // The shapes are valid by construction; a BLASError cannot occur here.
                            try? BLAS.gemm(m: m, n: n, k: k, alpha: 1, a: pa.base, lda: k, b: pb.base, ldb: n, beta: 0, c: out, ldc: n)
                            try? BLAS.gemm(transposeB: .transpose, m: m, n: k, k: n, alpha: 1, a: UnsafePointer(out), lda: n, b: pb.base, ldb: n,
                                           beta: 0, c: dw, ldc: k)
                            try? BLAS.gemm(transposeA: .transpose, m: k, n: n, k: m, alpha: 1, a: pa.base, lda: k, b: UnsafePointer(out), ldb: n,
                                           beta: 0, c: grad, ldc: n)
                        }
                    }
                }
            }
        }
        return Double(threads * repeats * 3 * 2 * m * n * k) / timing.median / 1e9
    }
}
