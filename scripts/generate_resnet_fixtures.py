#!/usr/bin/env python3
"""Generates the PyTorch / torchvision reference fixtures for MLCore's ResNet layer.

Regenerate (from the repository root; writes into Tests/MLAlgorithmsTests/Fixtures/cnn/):

    .venv/bin/python scripts/generate_resnet_fixtures.py

Needs torch 2.13.0+cpu and torchvision 0.28.0 (Benchmarks/requirements-torch.txt, installed by
scripts/setup.sh --torch). Deterministic: one thread, fixed seeds, sorted metadata keys; prints
each file's size and SHA-256.

resnet18_torchvision.safetensors -- a torchvision-made checkpoint: exactly
  safetensors.torch.save_file(model.state_dict()) of torchvision.models.resnet18(num_classes=5),
  no metadata, 122 tensors (float32, num_batches_tracked int64), ~45 MB on disk. Its values:
  every float tensor with index t in state_dict() order and n elements is filled with the
  periodic pattern
      p_t[i] = ((i * 7919 + 31 * t) % 17 - 8) / 8        (17 values in [-1, 1], period 17)
  times 1/sqrt(fanIn) for convolution and fc weights (fanIn = in_channels * kh * kw, or
  in_features), 0.1 for fc.bias, and for batch norm weight = 1 + 0.25 p, bias = 0.1 p. The pattern
  repeats every 17 floats (68 bytes), so zlib compresses the file about 1000:1 and the git blob
  stays small. Then the batch-norm running statistics are calibrated so eval-mode activations
  keep a sensible scale: momentum=None (a cumulative average), three train-mode forward passes
  under torch.no_grad() on [4, 3, 64, 64] inputs (randn, seed 7), momentum back to 0.1; so
  running_mean / running_var are data-dependent (9,600 floats, not periodic) and
  num_batches_tracked = 3. The weights are not touched by that.
resnet18_check.safetensors -- x [2, 3, 64, 64] (randn rounded to 1/64, seed 8),
  expected = model.eval()(x) [2, 5]; x_odd [1, 3, 37, 45] (same rule), expected_odd [1, 5]: an
  input whose sizes are not multiples of 32 (37 -> 19 -> 10 -> 10 -> 5 -> 3 -> 2).
  Checked by scripts/check_cnn_state_dict.py PATH --model resnet18 --classes 5 --check ...
resnet_state_dicts.json -- names, shapes and dtypes of state_dict() in its order, for every depth:
  {"classes": 10, "models": {"resnet18": [[name, shape, dtype], ...], ...}} with
  torchvision.models.resnet18/34/50/101/152(num_classes=10), "resnet200" =
  torchvision.models.resnet.ResNet(Bottleneck, [3, 24, 36, 3], num_classes=10), and
  "resnet20" ... "resnet110" = cifar_resnet(depth, 10) (Benchmarks/peers/cnn/torch_cnn.py, the
  peer's own definition); dtype "F32" or "I64" (safetensors' names). Plus "resnet18_gray":
  resnet18(num_classes=10) with conv1 replaced by Conv2d(1, 64, 7, 2, 3, bias=False) (what
  ResNet(depth: 18, classes: 10, inputChannels: 1) is).
resnet20.safetensors -- cifar_resnet(20, 10), torchvision's init under torch.manual_seed(20),
  convolution and fc tensors rounded to multiples of 1/64, then batch norm weight ~ 1 + 0.25 N, bias ~ 0.25 N, running_mean ~ 0.5 N, running_var in
  [0.5, 1.5] (all rounded to 1/64), num_batches_tracked = 5 (so a correct update gives 6).
  tensors: x [8, 3, 32, 32] (randn rounded to 1/64), upstream [8, 10] (same rule),
    param.<name>       every state_dict() entry before the passes
    output             model.train()(x)
    grad_input         d sum(output * upstream) / d x
    grad.<name>        the same derivative for every trainable parameter
    after.<name>       every buffer after that train-mode forward
    eval_output        model.eval()(x) with the param.* buffers (a fresh copy of the module)
  The whole batch is one batch-norm batch, as MLCore's one micro-shard of 8 rows.
resnet20_trajectory.safetensors -- 8 full-batch SGD steps of cifar_resnet(20, 10) from
  torchvision's init under torch.manual_seed(21), convolution and fc tensors rounded to 1/64:
  x [16, 3, 32, 32] (randn rounded to 1/64, seed 22), y [16] int64 (randint 0..9), init.<name>
  (the initial state dict), losses [8] (step k's loss before its update), final.<name> (the
  state dict after the 8 steps: every tensor but the convolution weights, and of those
  conv1, layer1.0.conv1, layer2.0.downsample.0 and layer3.2.conv2 — the rest would add 1 MB of
  incompressible floats to git; the losses and eval_output depend on all of them),
  eval_output [16, 10] (model.eval()(x) after them). SGD(lr=0.05, momentum=0.9,
  weight_decay=5e-3), CrossEntropyLoss(), model.train(). losses_f64, final_f64.<name>,
  eval_output_f64: the same run in float64 from the same (exactly converted) start, stored as
  float32. This trajectory is sensitive: PyTorch's own float32 run drifts from its float64 run by
  up to ~0.3% in the loss by step 8 (a 1e-7 perturbation of the weights grows ~4x per step), so
  the test's tolerance for each value is a multiple of |float32 - float64| there, plus a floor;
  the weight decay (5e-3, 10x the usual) moves the step-8 loss by ~1.5%, well outside it.
"""
import hashlib
import json
import os
import struct
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO_ROOT, "Tests", "MLAlgorithmsTests", "Fixtures", "cnn")
sys.path.insert(0, os.path.join(REPO_ROOT, "Benchmarks", "peers", "cnn"))
from torch_cnn import cifar_resnet, import_torchvision  # noqa: E402

torchvision = import_torchvision()
from torchvision.models import resnet as tv_resnet  # noqa: E402

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)
torch.use_deterministic_algorithms(True)

DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def q64(x: torch.Tensor) -> torch.Tensor:
    return ((x * 64).round() / 64).to(torch.float32)


def randn64(*shape, scale: float = 1.0) -> torch.Tensor:
    return q64(torch.randn(*shape) * scale)


def snapshot(state) -> dict:
    return {k: v.detach().clone().contiguous() for k, v in state.items()}


def pattern(n: int, t: int) -> torch.Tensor:
    i = torch.arange(n, dtype=torch.int64)
    return (((i * 7919 + 31 * t) % 17) - 8).to(torch.float32) / 8


# ----------------------------------------------------------------------------- resnet18


def fill_pattern(model: nn.Module) -> None:
    modules = dict(model.named_modules())
    with torch.no_grad():
        for t, (name, tensor) in enumerate(model.state_dict().items()):
            if tensor.dtype != torch.float32:
                continue
            owner, _, leaf = name.rpartition(".")
            module = modules[owner]
            p = pattern(tensor.numel(), t).reshape(tensor.shape)
            if isinstance(module, nn.Conv2d) and leaf == "weight":
                fan_in = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
                tensor.copy_(p / fan_in ** 0.5)
            elif isinstance(module, nn.Linear) and leaf == "weight":
                tensor.copy_(p / module.in_features ** 0.5)
            elif isinstance(module, nn.Linear) and leaf == "bias":
                tensor.copy_(0.1 * p)
            elif isinstance(module, nn.BatchNorm2d) and leaf == "weight":
                tensor.copy_(1 + 0.25 * p)
            elif isinstance(module, nn.BatchNorm2d) and leaf == "bias":
                tensor.copy_(0.1 * p)
            elif isinstance(module, nn.BatchNorm2d) and leaf in ("running_mean", "running_var"):
                pass  # calibrated below
            else:
                raise AssertionError(name)


def calibrate_batchnorm(model: nn.Module, batches: int, seed: int) -> None:
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    torch.manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(4, 3, 64, 64))
    for m in bns:
        m.momentum = 0.1
    model.eval()


def make_resnet18():
    model = torchvision.models.resnet18(num_classes=5)
    fill_pattern(model)
    calibrate_batchnorm(model, batches=3, seed=7)
    state = snapshot(model.state_dict())
    assert int(state["bn1.num_batches_tracked"]) == 3
    torch.manual_seed(8)
    x = randn64(2, 3, 64, 64)
    x_odd = randn64(1, 3, 37, 45)
    model.eval()
    with torch.no_grad():
        expected = model(x).contiguous()
        expected_odd = model(x_odd).contiguous()
        # The eval-mode activations should neither vanish nor explode.
        assert 0.05 < expected.abs().max().item() < 100, expected
    check = {"x": x, "expected": expected, "x_odd": x_odd, "expected_odd": expected_odd}
    meta = {"description": json.dumps(
        "x [2,3,64,64], x_odd [1,3,37,45] and expected / expected_odd = model.eval()(x) for "
        "resnet18_torchvision.safetensors (torchvision.models.resnet18(num_classes=5))")}
    return state, check, meta


# ----------------------------------------------------------------------------- names


def describe(model: nn.Module) -> list:
    return [[k, list(v.shape), DTYPES[v.dtype]] for k, v in model.state_dict().items()]


def make_names():
    models = {}
    for depth in (18, 34, 50, 101, 152):
        models[f"resnet{depth}"] = describe(getattr(torchvision.models, f"resnet{depth}")(num_classes=10))
    models["resnet200"] = describe(tv_resnet.ResNet(tv_resnet.Bottleneck, [3, 24, 36, 3], num_classes=10))
    for depth in (20, 32, 44, 56, 110):
        models[f"resnet{depth}"] = describe(cifar_resnet(depth, 10))
    gray = torchvision.models.resnet18(num_classes=10)
    gray.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    models["resnet18_gray"] = describe(gray)
    return {"classes": 10, "torch": torch.__version__, "torchvision": torchvision.__version__, "models": models}


# ----------------------------------------------------------------------------- resnet20


def randomize_batchnorm(module: nn.Module) -> None:
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(q64(1 + 0.25 * torch.randn(c)))
                m.bias.copy_(randn64(c, scale=0.25))
                m.running_mean.copy_(randn64(c, scale=0.5))
                m.running_var.copy_(q64(0.5 + torch.rand(c)))
                m.num_batches_tracked.fill_(5)


def round_weights(model: nn.Module) -> None:
    """Convolution and fc tensors rounded to multiples of 1/64: exact inputs, and a file git
    compresses well (the gradients are the only full-entropy tensors)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                for p in m.parameters():
                    p.copy_(q64(p))


def make_resnet20():
    torch.manual_seed(20)
    model = cifar_resnet(20, 10)
    round_weights(model)
    randomize_batchnorm(model)
    before = snapshot(model.state_dict())
    x = randn64(8, 3, 32, 32)
    upstream = randn64(8, 10)
    tensors = {"x": x, "upstream": upstream}
    for k, v in before.items():
        tensors[f"param.{k}"] = v

    model.train()
    leaf = x.clone().requires_grad_(True)
    out = model(leaf)
    (out * upstream).sum().backward()
    tensors["output"] = out.detach().clone().contiguous()
    tensors["grad_input"] = leaf.grad.detach().clone().contiguous()
    for k, p in model.named_parameters():
        tensors[f"grad.{k}"] = p.grad.detach().clone().contiguous()
    for k, b in model.named_buffers():
        tensors[f"after.{k}"] = b.detach().clone().contiguous()

    fresh = cifar_resnet(20, 10)
    fresh.load_state_dict(before, strict=True)
    fresh.eval()
    with torch.no_grad():
        tensors["eval_output"] = fresh(x).contiguous()
    meta = {"description": json.dumps(
        "cifar_resnet(20, 10) (torch_cnn.py), init under manual_seed(20), batch norm randomized; "
        "train-mode forward/backward of sum(output * upstream) on x [8,3,32,32]; eval_output with "
        "the param.* buffers")}
    return tensors, meta


# Convolution weights after the trajectory kept in the file (the others would add 1 MB of
# incompressible floats; the losses and the eval output depend on all of them).
FINAL_KEPT = {"conv1.weight", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight", "layer3.2.conv2.weight"}


def make_trajectory():
    torch.manual_seed(21)
    model = cifar_resnet(20, 10)
    round_weights(model)
    init = snapshot(model.state_dict())
    torch.manual_seed(22)
    x = randn64(16, 3, 32, 32)
    y = torch.randint(0, 10, (16,), dtype=torch.int64)
    tensors = {"x": x, "y": y}
    for k, v in init.items():
        tensors[f"init.{k}"] = v

    def run(dtype, suffix):
        m = cifar_resnet(20, 10)
        m.load_state_dict(init, strict=True)
        m = m.to(dtype)
        m.train()
        opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-3)
        losses = []
        for _ in range(8):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(m(x.to(dtype)), y)
            losses.append(loss.item())
            loss.backward()
            opt.step()
        tensors[f"losses{suffix}"] = torch.tensor(losses, dtype=torch.float32)
        for k, v in snapshot(m.state_dict()).items():
            if k in FINAL_KEPT or not (k.endswith(".weight") and v.dim() == 4):
                tensors[f"final{suffix}.{k}"] = v if v.dtype == torch.int64 else v.to(torch.float32)
        m.eval()
        with torch.no_grad():
            tensors[f"eval_output{suffix}"] = m(x.to(dtype)).to(torch.float32).contiguous()
        return losses

    losses = run(torch.float32, "")
    losses64 = run(torch.float64, "_f64")
    meta = {"description": json.dumps(
        "8 full-batch steps of cifar_resnet(20, 10) from init.* (manual_seed(21), weights rounded to 1/64); "
        "SGD(lr=0.05, momentum=0.9, weight_decay=5e-3), CrossEntropyLoss, model.train(); "
        "losses[k] before step k's update; *_f64: the same run in float64 (stored as float32)"),
        "losses": json.dumps(losses), "losses_f64": json.dumps(losses64)}
    return tensors, meta


# ----------------------------------------------------------------------------- main


def normalize_header(path):
    """Rewrite the safetensors header with "__metadata__" keys sorted (safetensors serialises the
    metadata from a hash map, so its order changes from run to run)."""
    with open(path, "r+b") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        ordered = {}
        if "__metadata__" in header:
            ordered["__metadata__"] = dict(sorted(header.pop("__metadata__").items()))
        ordered.update(header)
        new = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        assert len(new) <= n, (path, len(new), n)
        f.seek(8)
        f.write(new + b" " * (n - len(new)))


def write(filename, tensors, metadata):
    path = os.path.join(OUT_DIR, filename)
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    save_file(tensors, path, metadata=metadata)
    normalize_header(path)
    loaded = load_file(path)
    with safe_open(path, "pt") as f:
        assert (f.metadata() or None) == metadata, path
    assert set(loaded) == set(tensors), path
    for k, v in tensors.items():
        assert loaded[k].dtype == v.dtype and torch.equal(loaded[k], v), k
    report(path, f"{len(tensors)} tensors")


def report(path, what):
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    print(f"{os.path.relpath(path, REPO_ROOT)}: {what}, {os.path.getsize(path)} bytes, sha256 {digest}")


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    state, check, check_meta = make_resnet18()
    write("resnet18_torchvision.safetensors", state, None)
    write("resnet18_check.safetensors", check, check_meta)
    write("resnet20.safetensors", *make_resnet20())
    write("resnet20_trajectory.safetensors", *make_trajectory())
    names = make_names()
    path = os.path.join(OUT_DIR, "resnet_state_dicts.json")
    with open(path, "w") as f:
        f.write("{\n")
        f.write(f'"classes": {names["classes"]}, "torch": {json.dumps(names["torch"])}, '
                f'"torchvision": {json.dumps(names["torchvision"])},\n"models": {{\n')
        items = list(names["models"].items())
        for i, (model, entries) in enumerate(items):
            f.write(f'{json.dumps(model)}: [\n')
            f.write(",\n".join(json.dumps(e, separators=(",", ":")) for e in entries))
            f.write("\n]" + ("," if i + 1 < len(items) else "") + "\n")
        f.write("}\n}\n")
    json.load(open(path))
    report(path, f"{len(names['models'])} models")


if __name__ == "__main__":
    main()
