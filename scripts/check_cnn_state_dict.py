#!/usr/bin/env python3
"""Checks that a safetensors state dict loads into the reference CNN or a ResNet in PyTorch with strict=True.

The reference CNN (for 1x14x14 inputs; spatial sizes 14 -> 12 -> 6 -> 4) is

    nn.Sequential(Conv2d(1, 8, 3), BatchNorm2d(8), ReLU(), MaxPool2d(2),
                  Conv2d(8, 16, 3), ReLU(), Flatten(),
                  Linear(16*4*4, 32), ReLU(), Dropout(0.25), Linear(32, 10))

so the expected keys are 0.weight, 0.bias, 1.weight, 1.bias, 1.running_mean, 1.running_var,
1.num_batches_tracked, 4.weight, 4.bias, 7.weight, 7.bias, 10.weight, 10.bias.

Usage:
    .venv/bin/python scripts/check_cnn_state_dict.py PATH [--check CHECK_FILE] [--atol 1e-5]
                                                        [--allow-dtype-cast] [--no-compare]
                                                        [--model M] [--classes K]
                                                        [--input-channels C]

--model picks the module (default `cnn`, the reference CNN above):
  resnet18 resnet34 resnet50 resnet101 resnet152  torchvision.models.resnet<d>(num_classes=K)
  resnet200                                       torchvision's ResNet(Bottleneck, [3, 24, 36, 3])
  resnet20 resnet32 resnet44 resnet56 resnet110   cifar_resnet(d, K) of
                                                  Benchmarks/peers/cnn/torch_cnn.py (the small-image
                                                  ResNets MLCore builds)
with --classes K (default 10) outputs and --input-channels C (default 3; conv1 is replaced by
the same convolution on C channels, as MLCore's ResNet(inputChannels:) builds it) — the modules of
MLCore's ResNet(depth:classes:inputChannels:). Needs torchvision for the ResNets. With a ResNet,
the check file (for example Tests/MLAlgorithmsTests/Fixtures/cnn/resnet18_check.safetensors)
holds `x` and `expected`; without --check, or with --no-compare, the model runs on a fixed
[2, C, 64, 64] input (32x32 for the small-image ResNets) and only finiteness is checked.

PATH is the state dict to test. CHECK_FILE (default:
Tests/MLAlgorithmsTests/Fixtures/cnn/statedict_check.safetensors) holds `x` [5,1,14,14] and
`expected` = model.eval()(x) for the PyTorch-made checkpoint statedict.safetensors; a file that
round-trips that checkpoint must reproduce `expected` within --atol.

Besides PyTorch's own strict=True key check, every tensor's dtype must equal the model's
(float32, and int64 for num_batches_tracked), because load_state_dict would otherwise cast
silently; --allow-dtype-cast turns that check off. --no-compare only loads and runs the model
(for state dicts with different weights) and reports max_abs_diff as null.

On success prints one JSON line {"ok": true, "max_abs_diff": ...} and exits 0; on failure prints
a message on stderr, {"ok": false, "error": ...} on stdout, and exits 1.
"""
import argparse
import json
import math
import os
import sys

import torch
from torch import nn

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CHECK = os.path.join(
    REPO_ROOT, "Tests", "MLAlgorithmsTests", "Fixtures", "cnn", "statedict_check.safetensors"
)


def build_model() -> nn.Sequential:
    """The reference CNN used for statedict.safetensors (also imported by generate_cnn_fixtures.py)."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(16 * 4 * 4, 32),
        nn.ReLU(),
        nn.Dropout(0.25),
        nn.Linear(32, 10),
    )


def build_resnet(model: str, classes: int, input_channels: int) -> nn.Module:
    """The PyTorch module of MLCore's ResNet(depth:classes:inputChannels:) for --model resnet<d>."""
    sys.path.insert(0, os.path.join(REPO_ROOT, "Benchmarks", "peers", "cnn"))
    from torch_cnn import cifar_resnet, import_torchvision
    depth = int(model[len("resnet"):])
    if depth in (20, 32, 44, 56, 110):
        return cifar_resnet(depth, classes, input_channels)
    torchvision = import_torchvision()
    from torchvision.models import resnet as tv_resnet
    if depth == 200:
        net = tv_resnet.ResNet(tv_resnet.Bottleneck, [3, 24, 36, 3], num_classes=classes)
    else:
        net = getattr(torchvision.models, f"resnet{depth}")(num_classes=classes)
    if input_channels != 3:
        net.conv1 = nn.Conv2d(input_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return net


MODELS = ["cnn"] + [f"resnet{d}" for d in (18, 34, 50, 101, 152, 200, 20, 32, 44, 56, 110)]


def fail(message: str) -> None:
    print(message, file=sys.stderr)
    print(json.dumps({"ok": False, "error": message}))
    sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--check", default=DEFAULT_CHECK)
    parser.add_argument("--atol", type=float, default=1e-5)
    parser.add_argument("--allow-dtype-cast", action="store_true")
    parser.add_argument("--no-compare", action="store_true")
    parser.add_argument("--model", choices=MODELS, default="cnn")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--input-channels", type=int, default=3)
    args = parser.parse_args()
    resnet = args.model != "cnn"
    if resnet and args.check == DEFAULT_CHECK:
        args.check = None

    try:
        from safetensors.torch import load_file

        torch.set_num_threads(1)
        state = load_file(args.path)
    except Exception as error:  # noqa: BLE001 - any read error is a failure
        fail(f"cannot read {args.path}: {type(error).__name__}: {error}")

    try:
        model = build_resnet(args.model, args.classes, args.input_channels) if resnet else build_model()
    except Exception as error:  # noqa: BLE001 - torchvision missing
        fail(f"cannot build {args.model}: {type(error).__name__}: {error}")
    if not args.allow_dtype_cast:
        reference = model.state_dict()
        for name, tensor in state.items():
            if name in reference and tensor.dtype != reference[name].dtype:
                fail(f"{name}: dtype {tensor.dtype}, expected {reference[name].dtype}")
    try:
        model.load_state_dict(state, strict=True)
    except Exception as error:  # noqa: BLE001 - missing/unexpected keys, shape mismatches
        fail(f"load_state_dict(strict=True) failed: {error}")

    if args.check is None:
        side = 32 if args.model in ("resnet20", "resnet32", "resnet44", "resnet56", "resnet110") else 64
        torch.manual_seed(0)
        x, expected = torch.randn(2, args.input_channels, side, side), None
        args.no_compare = True
    else:
        try:
            check = load_file(args.check)
            x, expected = check["x"], check["expected"]
        except Exception as error:  # noqa: BLE001
            fail(f"cannot read check file {args.check}: {type(error).__name__}: {error}")

    model.eval()
    with torch.no_grad():
        output = model(x)
    if expected is not None and output.shape != expected.shape:
        fail(f"output shape {tuple(output.shape)} != expected {tuple(expected.shape)}")
    if not torch.isfinite(output).all():
        fail("output contains non-finite values")
    if args.no_compare:
        print(json.dumps({"ok": True, "max_abs_diff": None, "tensors": len(state)}))
        return
    diff = (output.double() - expected.double()).abs().max().item()
    if not math.isfinite(diff) or diff > args.atol:
        fail(f"max |output - expected| = {diff} exceeds atol {args.atol}")
    print(json.dumps({"ok": True, "max_abs_diff": diff, "tensors": len(state)}))


if __name__ == "__main__":
    main()
