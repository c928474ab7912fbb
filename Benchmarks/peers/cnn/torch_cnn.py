#!/usr/bin/env python3
"""Peer for `mlbench cnn`: PyTorch (CPU) trains a small MNIST-sized CNN on the data mlbench trains on.

Prints one JSON line in mlbench's result shape (docs/mlbench.md "JSON lines"; keys suite,
workload, impl, version, threads, median_s, min_s, max_s, runs, peak_rss_mb, metrics) and nothing
else on stdout:

  impl pytorch  --model cnn (default): nn.Sequential(Conv2d(1, 32, 3), ReLU(), MaxPool2d(2),
                Conv2d(32, 64, 3), ReLU(), MaxPool2d(2), Flatten(), Linear(64*5*5, 128), ReLU(),
                Linear(128, 10)), valid padding (28 -> 26 -> 13 -> 11 -> 5), PyTorch's default
                initialisation after torch.manual_seed(0), on [n, 1, 28, 28] images.
                --model resnet20: the CIFAR ResNet-20 of MLCore's ResNet(depth: 20, classes: 10)
                (cifar_resnet() below: conv3x3(3, 16)-bn-relu, three stages of three
                torchvision BasicBlocks with 16/32/64 planes and stride 1/2/2, 1x1 conv + batch
                norm projections where the shape changes, AdaptiveAvgPool2d(1), Linear(64, 10)),
                torchvision's ResNet initialisation (kaiming_normal_ fan_out for convolutions,
                batch norm 1/0, Linear's default) after torch.manual_seed(0), on
                [n, 3, 32, 32] images; trained in model.train() (batch norm over the whole batch).
                Both: torch.optim.SGD(lr=--lr, momentum=--momentum, weight_decay=--weight-decay)
                with every other option at its default (no Nesterov, dampening 0);
                nn.CrossEntropyLoss() (mean over the batch). float32 throughout, NCHW, default
                memory format, no torch.compile.

Inputs: --dir D holding x_train.npy and x_test.npy (float32 [n, 1, 28, 28] C-order for cnn,
[n, 3, 32, 32] for resnet20) and
y_train.npy and y_test.npy (int64 [n], labels 0..9). Each X becomes a torch tensor once, with
torch.from_numpy, outside any timing (a label array that is not int64 is converted once, with a
warning; CrossEntropyLoss needs int64 targets).

One run: build the model (torch.manual_seed(0)), its SGD optimizer and the loss (not timed), then,
timed, --epochs passes over the training set in order: no shuffling, batch i is rows
[i*batch, (i+1)*batch), the last partial batch is dropped; per batch zero_grad(), forward, loss,
backward(), step(). Each step's loss is kept as a detached 0-d tensor (no .item() inside the loop)
and read after the clock stops. Only the training loop is timed.

The result is checked before timing: the first training (which also counts as the first warm-up
run; --warmup 0 still runs it) and every further warm-up run must have finite losses and a mean
loss over its last 10% of steps (at least one step) below its first step's loss, or the script
exits with status 1 and says why on stderr. If the last timed run's losses differ from the checked
run's (same seed, same data, same threads: they should not), a warning goes to stderr. The
metrics carry
  train_images_per_s      epochs * (n_train // batch) * batch / median_s
  final_loss              mean loss over the last 10% of steps of the last timed run
  test_accuracy           accuracy on x_test of the last timed run's model (model.eval(),
                          torch.no_grad(), batches of --infer-batch)
  infer_images_per_s      x_test rows / median time of 5 timed passes of that model, in eval mode
                          under torch.inference_mode(), over x_test in batches of --infer-batch
                          (the last batch may be partial), after one untimed warm-up pass
  forward_mflop_per_image F / 1e6, F = forward FLOPs per image of the convolutions and the
                          linear layers, a multiply-add counted as 2 FLOPs (biases, ReLU,
                          pooling, batch norm, residual adds and the loss not counted): 5.26208
                          MFLOP (cnn), 81.626368 MFLOP (resnet20; counted from the modules'
                          shapes with forward hooks and checked against that number)
  train_gflops            3 * F * train_images_per_s / 1e9 (training = forward + input gradient +
                          weight gradient, each counted as F, although the first convolution's
                          input gradient is never computed since the images need no gradient)
Warnings go to stderr, never to stdout.

Threads: OMP/MKL/OpenBLAS variables are set to --threads before numpy and torch are imported, then
torch.set_num_threads(--threads) (intra-op: oneDNN convolutions, the GEMMs, elementwise kernels)
and torch.set_num_interop_threads(1). Reports --threads.

--dump-init PATH also writes the initial state dict (the model right after torch.manual_seed(0))
as safetensors at PATH, not timed, for cross-checking initialisation and layouts: for --model cnn keys 0.weight
[32, 1, 3, 3], 0.bias [32], 3.weight [64, 32, 3, 3], 3.bias [64], 7.weight [128, 1600] (input
features in (channel, row, column) order, as Flatten of NCHW gives), 7.bias [128], 9.weight
[10, 128], 9.bias [10]; float32 (resnet20: torchvision's names, conv1.weight ... fc.bias, with
int64 num_batches_tracked).

--make-data D --rows N (--model cnn only) writes a synthetic set for local testing (mlbench generates its own, in the
same format): 10 class templates, each a sum of smooth random Gaussian blobs, shifted per image
by up to 2 pixels, scaled by a random contrast, plus Gaussian noise, clipped to [0, 1]; uniform
random labels; numpy default_rng(0); --test-rows (2,000) test rows. Nothing is trained then.

cifar_resnet(depth, num_classes, in_channels) is also imported by scripts/generate_resnet_fixtures.py
and scripts/check_cnn_state_dict.py, so the fixtures, the state-dict check and this peer share one
definition of the small-image ResNets (depths 20, 32, 44, 56, 110).

Example:
    .venv/bin/python Benchmarks/peers/cnn/torch_cnn.py --make-data /tmp/cnn --rows 12800
    .venv/bin/python Benchmarks/peers/cnn/torch_cnn.py --dir /tmp/cnn --batch 64 --epochs 1 \
        --lr 0.01 --momentum 0.9 --threads 2 --repeat 3 --workload mnist_like
"""
import argparse
import contextlib
import json
import os
import statistics
import sys
import time
import warnings

IMPL = "pytorch"
INFER_REPEATS = 5
IMAGES = {"cnn": (1, 28, 28), "resnet20": (3, 32, 32)}
IMAGE = IMAGES["cnn"]
CLASSES = 10
RESNET20_FORWARD_FLOPS = 81_626_368
PROG = "torch_cnn.py"


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). ru_maxrss would report mlbench's peak: Linux keeps
    the parent's high-water mark across fork and exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def finite_or_none(x: float):
    return x if x == x and abs(x) != float("inf") else None


def forward_flops_per_image() -> int:
    """2 * multiply-adds of the two convolutions and two linear layers for one 1x28x28 image."""
    c1 = 32 * 26 * 26 * (1 * 3 * 3)   # Conv2d(1, 32, 3): 28 -> 26
    c2 = 64 * 11 * 11 * (32 * 3 * 3)  # Conv2d(32, 64, 3): 13 -> 11
    f1 = 128 * (64 * 5 * 5)           # Linear(1600, 128)
    f2 = 10 * 128                     # Linear(128, 10)
    return 2 * (c1 + c2 + f1 + f2)


def import_torchvision():
    """torchvision, also where its compiled operators cannot load.

    PyPI's torchvision 0.28.0 wheel is built against PyPI's CUDA torch; next to the CPU build
    torch==2.13.0+cpu its C extension (nms, roi_align, ...) fails to load (libc10_cuda.so,
    libcudart.so.13 missing), and torchvision/_meta_registrations.py then fails on import at
    its unguarded register_fake("torchvision::nms") / ("torchvision::qnms"). Only those two
    schemas are needed for the import to finish: they are defined here (never called), and the
    pure-Python models (torchvision.models.resnet) work as usual. With a torchvision whose
    extension loads, this is a plain import."""
    import torch
    try:
        import torchvision
        return torchvision
    except RuntimeError as error:
        if "torchvision::" not in str(error):
            raise
    for name in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
        del sys.modules[name]
    for op in ("nms", "qnms"):
        if not hasattr(torch.ops.torchvision, op):
            torch.library.define(f"torchvision::{op}", "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    import torchvision
    return torchvision


def cifar_resnet(depth: int, num_classes: int = 10, in_channels: int = 3):
    """He et al.'s CIFAR ResNet (depth = 6n + 2) written with torchvision's BasicBlock and naming,
    as MLCore's ResNet(depth:classes:inputChannels:) builds it: conv1 3x3 (stride 1, padding 1,
    no bias) to 16 channels, bn1, relu, layer1..layer3 of n BasicBlocks (planes 16/32/64,
    stride 1/2/2, a 1x1 conv + BatchNorm2d `downsample` where the stride or width changes, as
    torchvision's _make_layer does), avgpool (AdaptiveAvgPool2d(1)), flatten, fc Linear(64, K).
    Initialisation as torchvision's ResNet.__init__ (zero_init_residual=False)."""
    import torch
    from torch import nn
    import_torchvision()
    from torchvision.models.resnet import BasicBlock, conv1x1

    if depth < 8 or (depth - 2) % 6 != 0:
        raise ValueError(f"depth {depth} is not 6n + 2")
    n = (depth - 2) // 6

    class CifarResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.inplanes = 16
            self.conv1 = nn.Conv2d(in_channels, 16, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            self.relu = nn.ReLU(inplace=True)
            self.layer1 = self._make_layer(16, n, 1)
            self.layer2 = self._make_layer(32, n, 2)
            self.layer3 = self._make_layer(64, n, 2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(64, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

        def _make_layer(self, planes, blocks, stride):
            downsample = None
            if stride != 1 or self.inplanes != planes:
                downsample = nn.Sequential(conv1x1(self.inplanes, planes, stride), nn.BatchNorm2d(planes))
            layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes
            for _ in range(1, blocks):
                layers.append(BasicBlock(self.inplanes, planes))
            return nn.Sequential(*layers)

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.layer3(self.layer2(self.layer1(x)))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return CifarResNet()


def counted_forward_flops(model, image) -> int:
    """2 * multiply-adds of every Conv2d and Linear for one image, from forward hooks."""
    import torch
    from torch import nn
    total = [0]

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            k = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            total[0] += 2 * output[0].numel() * k
        else:
            total[0] += 2 * module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *image))
    model.train(was_training)
    for h in handles:
        h.remove()
    return total[0]


def tail_mean(losses) -> float:
    """Mean of the last 10% of the steps' losses (at least one step)."""
    k = max(1, len(losses) // 10)
    return float(sum(losses[-k:]) / k)


def make_data(directory: str, rows: int, test_rows: int) -> None:
    import numpy as np
    rng = np.random.default_rng(0)
    h, w = IMAGE[1:]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    templates = np.zeros((CLASSES, h, w))
    for c in range(CLASSES):
        for _ in range(int(rng.integers(3, 7))):
            cy, cx = rng.uniform(6, h - 6), rng.uniform(6, w - 6)
            sigma = rng.uniform(1.5, 4.0)
            templates[c] += rng.uniform(0.5, 1.0) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma ** 2))
        templates[c] /= templates[c].max()
    os.makedirs(directory, exist_ok=True)
    for split, n in (("train", rows), ("test", test_rows)):
        y = rng.integers(0, CLASSES, size=n).astype(np.int64)
        shifts = rng.integers(-2, 3, size=(n, 2))
        contrast = rng.uniform(0.6, 1.0, size=(n, 1, 1))
        x = templates[y]
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                sel = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
                x[sel] = np.roll(x[sel], (dy, dx), axis=(1, 2))
        x = x * contrast + rng.normal(0.0, 0.25, size=x.shape)
        x = np.clip(x, 0.0, 1.0).astype(np.float32).reshape(n, *IMAGE)
        np.save(os.path.join(directory, f"x_{split}.npy"), np.ascontiguousarray(x))
        np.save(os.path.join(directory, f"y_{split}.npy"), y)
    print(f"{PROG}: wrote {rows} training and {test_rows} test rows to {directory}", file=sys.stderr)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", help="directory with x_train.npy, y_train.npy, x_test.npy, y_test.npy "
                                 "(X float32 [n, 1, 28, 28] C-order, y int64 [n] with labels 0..9)")
    p.add_argument("--model", choices=sorted(IMAGES), default="cnn",
                   help="cnn: the small MNIST-sized CNN; resnet20: the CIFAR ResNet-20")
    p.add_argument("--batch", type=int, default=64, help="training batch size (last partial batch dropped)")
    p.add_argument("--epochs", type=int, default=1, help="passes over the training set per run")
    p.add_argument("--lr", type=float, default=0.01, help="SGD learning rate")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    p.add_argument("--weight-decay", type=float, default=0.0, help="SGD weight decay (L2 added to the gradient)")
    p.add_argument("--infer-batch", type=int, default=256, help="batch size of the test-set passes")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--workload", default="mnist_like")
    p.add_argument("--dump-init", metavar="PATH", help="also save the initial state dict as safetensors at PATH")
    p.add_argument("--make-data", metavar="D", help="write a synthetic data set to D and exit (local testing)")
    p.add_argument("--rows", type=int, default=12800, help="--make-data: training rows")
    p.add_argument("--test-rows", type=int, default=2000, help="--make-data: test rows")
    args = p.parse_args()

    threads = str(args.threads)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = threads

    image = IMAGES[args.model]
    if args.make_data:
        if args.model != "cnn":
            p.error("--make-data writes the cnn model's 1x28x28 data only")
        if args.rows < 1 or args.test_rows < 1:
            p.error("--rows and --test-rows must be >= 1")
        make_data(args.make_data, args.rows, args.test_rows)
        return 0
    if not args.dir:
        p.error("--dir is required (or --make-data)")
    if args.threads < 1 or args.repeat < 1 or args.warmup < 0:
        p.error("--threads and --repeat must be >= 1, --warmup >= 0")
    if args.batch < 1 or args.epochs < 1 or args.infer_batch < 1 or not args.lr > 0 or args.momentum < 0 \
            or args.weight_decay < 0:
        p.error("--batch, --epochs and --infer-batch must be >= 1, --lr > 0, --momentum and --weight-decay >= 0")

    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError as e:  # only possible once inter-op work has started; nothing has yet
        print(f"{PROG}: set_num_interop_threads(1) failed: {e}", file=sys.stderr)

    arrays = {}
    for name in ("x_train", "y_train", "x_test", "y_test"):
        path = os.path.join(args.dir, name + ".npy")
        try:
            arrays[name] = np.load(path)
        except (OSError, ValueError) as e:
            p.error(f"cannot read {path}: {e}")
    for name in ("x_train", "x_test"):
        a = arrays[name]
        if a.ndim != 4 or a.shape[1:] != image:
            p.error(f"{name} must be [n, {', '.join(map(str, image))}] for --model {args.model} (got {a.shape})")
        if a.dtype != np.float32:
            print(f"{PROG}: {name} is {a.dtype}, not float32; converted once", file=sys.stderr)
            a = a.astype(np.float32)
        if not a.flags.c_contiguous:
            print(f"{PROG}: {name} is not C-order; copied once", file=sys.stderr)
            a = np.ascontiguousarray(a)
        arrays[name] = a
    for name, xname in (("y_train", "x_train"), ("y_test", "x_test")):
        y = arrays[name]
        if y.shape != (arrays[xname].shape[0],):
            p.error(f"{name} must be [n] matching {xname} (got {y.shape}, {arrays[xname].shape})")
        if y.size and (y.min() < 0 or y.max() >= CLASSES or not np.array_equal(y, np.round(y))):
            p.error(f"{name} must hold integer labels 0..{CLASSES - 1}")
        if y.dtype != np.int64:
            if y.dtype != np.float32:  # float32 is mlbench's label format: converted silently
                print(f"{PROG}: {name} is {y.dtype}, not int64; converted once", file=sys.stderr)
            arrays[name] = y.astype(np.int64)
    x_train = torch.from_numpy(arrays["x_train"])
    y_train = torch.from_numpy(arrays["y_train"])
    x_test = torch.from_numpy(arrays["x_test"])
    y_test = torch.from_numpy(arrays["y_test"])
    n_train, n_test = x_train.shape[0], x_test.shape[0]
    steps_per_epoch = n_train // args.batch
    if steps_per_epoch < 1:
        p.error(f"--batch {args.batch} is larger than the {n_train} training rows")
    if n_test < 1:
        p.error("x_test is empty")
    images_per_run = args.epochs * steps_per_epoch * args.batch
    if args.model == "resnet20":
        torch.manual_seed(0)
        flops = counted_forward_flops(cifar_resnet(20, CLASSES), image)
        if flops != RESNET20_FORWARD_FLOPS:
            print(f"{PROG}: ResNet-20 counts {flops} forward FLOPs, expected {RESNET20_FORWARD_FLOPS}", file=sys.stderr)
            return 1
    else:
        flops = forward_flops_per_image()

    def build():
        torch.manual_seed(0)
        if args.model == "resnet20":
            return cifar_resnet(20, CLASSES)
        return nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, CLASSES))

    def train():
        """One run: returns (model, per-step losses as float64 numpy, seconds of the loop)."""
        model = build()
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
        loss_fn = nn.CrossEntropyLoss()
        losses = []
        b = args.batch
        t0 = time.perf_counter()
        for _ in range(args.epochs):
            for i in range(0, steps_per_epoch * b, b):
                xb, yb = x_train[i:i + b], y_train[i:i + b]
                opt.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
                losses.append(loss.detach())
        elapsed = time.perf_counter() - t0
        return model, torch.stack(losses).double().numpy(), elapsed

    def check(losses, what):
        """None when the run learned, else the reason."""
        if not np.all(np.isfinite(losses)):
            return f"{what}: {int(np.sum(~np.isfinite(losses)))} of {losses.size} step losses are not finite"
        tail = tail_mean(losses)
        if not tail < losses[0]:
            return f"{what}: mean loss of the last 10% of steps {tail} is not below the first step's {losses[0]}"
        return None

    def infer(model):
        b = args.infer_batch
        for i in range(0, n_test, b):
            model(x_test[i:i + b])

    def accuracy(model):
        model.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, n_test, args.infer_batch):
                pred = model(x_test[i:i + args.infer_batch]).argmax(dim=1)
                correct += int((pred == y_test[i:i + args.infer_batch]).sum())
        return correct / n_test

    out = sys.stdout
    # Anything a library prints goes to stderr; only the result line reaches stdout.
    with contextlib.redirect_stdout(sys.stderr):
        if args.dump_init:
            try:
                from safetensors.torch import save_file
            except ImportError as e:
                print(f"{PROG}: --dump-init needs safetensors: {e}", file=sys.stderr)
                return 1
            state = {k: v.detach().contiguous() for k, v in build().state_dict().items()}
            save_file(state, args.dump_init, metadata={"format": "pt", "source": PROG})

        # Checked training (first warm-up run): check it before timing anything.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _, checked_losses, _ = train()
        for w in caught:
            print(f"{PROG}: {w.category.__name__}: {w.message}", file=sys.stderr)
        reason = check(checked_losses, "checked run")
        if reason:
            print(f"{PROG}: {reason}", file=sys.stderr)
            return 1

        times = []
        model, losses = None, None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for w in range(max(0, args.warmup - 1)):
                _, warm_losses, _ = train()
                reason = check(warm_losses, f"warm-up run {w + 2}")
                if reason:
                    print(f"{PROG}: {reason}", file=sys.stderr)
                    return 1
            for _ in range(args.repeat):
                model = losses = None
                model, losses, elapsed = train()
                times.append(elapsed)
        if not np.all(np.isfinite(losses)):
            print(f"{PROG}: the last timed run has non-finite losses", file=sys.stderr)
            return 1
        if not np.array_equal(losses, checked_losses):
            diff = float(np.max(np.abs(losses - checked_losses)))
            print(f"{PROG}: the last timed run's losses differ from the checked run's "
                  f"(max abs diff {diff})", file=sys.stderr)
        final_loss = tail_mean(losses)
        test_accuracy = accuracy(model)

        # Inference throughput of the last run's model: one warm-up pass, then the timed passes.
        model.eval()
        infer_times = []
        with torch.inference_mode():
            infer(model)
            for _ in range(INFER_REPEATS):
                t0 = time.perf_counter()
                infer(model)
                infer_times.append(time.perf_counter() - t0)

    median = statistics.median(times)
    images_per_s = images_per_run / median if median > 0 else float("nan")
    infer_median = statistics.median(infer_times)
    metrics = {
        "final_loss": final_loss,
        "forward_mflop_per_image": flops / 1e6,
        "infer_images_per_s": n_test / infer_median if infer_median > 0 else float("nan"),
        "test_accuracy": test_accuracy,
        "train_gflops": 3 * flops * images_per_s / 1e9,
        "train_images_per_s": images_per_s,
    }
    print(json.dumps({
        "suite": "cnn",
        "workload": args.workload,
        "impl": IMPL,
        "version": torch.__version__,
        "threads": args.threads,
        "median_s": median,
        "min_s": min(times),
        "max_s": max(times),
        "runs": len(times),
        "peak_rss_mb": finite_or_none(peak_rss_mb()),
        "metrics": {k: v for k, v in sorted(metrics.items()) if finite_or_none(v) is not None},
    }, allow_nan=False), file=out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
