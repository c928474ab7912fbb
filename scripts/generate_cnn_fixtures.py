#!/usr/bin/env python3
"""Generates the PyTorch reference fixtures for MLCore's CNN layers.

Regenerate (from the repository root; writes into Tests/MLAlgorithmsTests/Fixtures/cnn/):

    .venv/bin/python scripts/generate_cnn_fixtures.py

Deterministic: torch.set_num_threads(1), torch.manual_seed(...) per case, float32 everywhere
except int64 for num_batches_tracked and class targets. Inputs, hand-set parameters, upstream
gradients and optimizer gradients are random multiples of 1/64 (exact in float32); conv/linear
weights keep PyTorch's default init. Every file's metadata values are strings (JSON).

layers.safetensors -- forward and backward of single layers / blocks
  metadata: "cases" = JSON list of case names; "<c>" = JSON description of case <c>
            (layer, configuration, "mode", input_shape, output_shape, ...).
  Layer cases <c>:
    conv_basic conv_stride_pad conv_rect_same conv_dilation conv_groups conv_1x1
    conv_1x1_stride2 maxpool2 maxpool3s2p1 avgpool2 avgpool3s1p1 global_avgpool dense flatten
    relu leaky_relu sigmoid tanh softmax batchnorm_train batchnorm_eval basic_block
    basic_block_identity bottleneck sequential_small
  tensors:
    <c>.input              input (NCHW, or [N, F] for dense/softmax)
    <c>.output             module(input)
    <c>.param.<name>       every state_dict() entry BEFORE the forward (PyTorch names, e.g.
                           weight, bias, running_mean, conv1.weight, bn1.running_var,
                           downsample.0.weight, downsample.1.num_batches_tracked, 0.weight,
                           1.running_mean, 7.bias); num_batches_tracked is int64, shape []
    <c>.upstream           fixed random tensor shaped like the output
    <c>.grad_input         d sum(output * upstream) / d input
    <c>.grad.<name>        same derivative for every trainable parameter
    <c>.after.<name>       every buffer after the forward (only train-mode cases containing batch
                           norm: batchnorm_train, basic_block, basic_block_identity, bottleneck,
                           sequential_small)
  Every case except batchnorm_eval runs in train mode. Batch norm layers get weight ~ 1 + 0.25 N,
  bias ~ 0.25 N, running_mean ~ 0.5 N, running_var in [0.5, 1.5], num_batches_tracked = 5
  (so a correct update gives 6), momentum 0.1, eps 1e-5.
  Loss cases <c>: loss_softmax_ce loss_softmax_ce_smooth loss_bce_logits loss_bce loss_mse
    <c>.logits             the loss input (logits; probabilities for loss_bce; predictions for mse)
    <c>.targets            int64 class indices for the CE cases, float32 otherwise
    <c>.loss               the loss, shape [] (reduction "mean")
    <c>.grad_input         d loss / d logits

optimizers.safetensors -- torch.optim steps on one 20-element float32 parameter
  configs <o>: sgd sgd_momentum sgd_nesterov_wd sgd_dampening adam adam_wd rmsprop
               rmsprop_momentum_wd
  tensors: <o>.p0 (initial parameter), <o>.g.<t> (gradient set before step t, t = 0..4),
           <o>.p.<t> (parameter after step t, t = 0..4); p0 and g.<t> are the same for all <o>.
  metadata: "cases" = JSON list of configs; "<o>" = {"optimizer": class name, "args": constructor
            arguments, "hyper": all resolved hyper-parameters}; "steplr" / "multisteplr" = JSON
            list of scheduler.get_last_lr()[0] for epochs 0..9 (SGD(lr=0.1) with
            StepLR(step_size=3, gamma=0.5) / MultiStepLR(milestones=[2, 5], gamma=0.1)).

trajectory.safetensors -- golden 10-step training run
  model: Sequential(Conv2d(1,4,3), BatchNorm2d(4), ReLU(), MaxPool2d(2), Conv2d(4,8,3,padding=1),
         ReLU(), Flatten(), Linear(72,10)), default init under torch.manual_seed(0).
  tensors: x [16,1,8,8] float32, y [16] int64, init.<name> (initial state dict, all entries),
           sgd.losses [10], sgd.final.<name>, sgd.eval_output [16,10] (eval-mode logits after the
           SGD run), adam.losses [10], adam.final.<name>, adam.eval_output [16,10].
  <name> = 0.weight 0.bias 1.weight 1.bias 1.running_mean 1.running_var 1.num_batches_tracked
           4.weight 4.bias 7.weight 7.bias
  sgd: SGD(lr=0.05, momentum=0.9, weight_decay=1e-4) + StepLR(step_size=4, gamma=0.5) stepped after
  every optimizer step; adam: Adam(lr=0.01), no scheduler. Full batch, model.train(),
  CrossEntropyLoss(); losses[k] is the loss of step k, computed before that step's update.
  metadata: "model", "data", "sgd", "adam" (JSON).

statedict.safetensors -- a PyTorch-made checkpoint: exactly model.state_dict() (no metadata) of
  Sequential(Conv2d(1,8,3), BatchNorm2d(8), ReLU(), MaxPool2d(2), Conv2d(8,16,3), ReLU(), Flatten(),
  Linear(256,32), ReLU(), Dropout(0.25), Linear(32,10)) (1x14x14 inputs), init under
  torch.manual_seed(1), then 3 train-mode forward passes (num_batches_tracked = 3). Keys:
  0.weight 0.bias 1.weight 1.bias 1.running_mean 1.running_var 1.num_batches_tracked 4.weight
  4.bias 7.weight 7.bias 10.weight 10.bias.
statedict_check.safetensors -- x [5,1,14,14] and expected = model.eval()(x) [5,10].
  Checked by scripts/check_cnn_state_dict.py PATH.
"""
import hashlib
import json
import os
import struct
import sys

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_cnn_state_dict import build_model as build_statedict_model  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO_ROOT, "Tests", "MLAlgorithmsTests", "Fixtures", "cnn")

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)
torch.use_deterministic_algorithms(True)

BN_INITIAL_BATCHES = 5


# ----------------------------------------------------------------------------- helpers


def q64(x: torch.Tensor) -> torch.Tensor:
    """Round to a multiple of 1/64 (exact in float32)."""
    return ((x * 64).round() / 64).to(torch.float32)


def randn64(*shape, scale: float = 1.0) -> torch.Tensor:
    return q64(torch.randn(*shape) * scale)


def randn64_nonzero(*shape) -> torch.Tensor:
    x = randn64(*shape)
    # replace exact zeros by +-1/64 (sign alternates) so ReLU-type kinks are never hit
    zeros = x == 0
    if zeros.any():
        signs = torch.where(torch.rand(*shape) < 0.5, -1.0, 1.0)
        x = torch.where(zeros, signs / 64, x)
    assert (x != 0).all()
    return x


def distinct64(*shape) -> torch.Tensor:
    """A random permutation of distinct multiples of 1/64, centred on 0."""
    n = 1
    for s in shape:
        n *= s
    values = torch.randperm(n).to(torch.float32) - n // 2
    return (values / 64).reshape(shape)


def pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


def randomize_batchnorm(module: nn.Module) -> None:
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(q64(1 + 0.25 * torch.randn(c)))
                m.bias.copy_(randn64(c, scale=0.25))
                m.running_mean.copy_(randn64(c, scale=0.5))
                m.running_var.copy_(q64(0.5 + torch.rand(c)))
                m.num_batches_tracked.fill_(BN_INITIAL_BATCHES)


def snapshot(state) -> dict:
    return {k: v.detach().clone().contiguous() for k, v in state.items()}


def conv_meta(m: nn.Conv2d, **extra) -> dict:
    padding = m.padding
    meta = {
        "layer": "conv2d",
        "in_channels": m.in_channels,
        "out_channels": m.out_channels,
        "kernel": pair(m.kernel_size),
        "stride": pair(m.stride),
        "padding": pair(padding) if not isinstance(padding, str) else padding,
        "dilation": pair(m.dilation),
        "groups": m.groups,
        "bias": m.bias is not None,
    }
    meta.update(extra)
    return meta


def bn_meta(m: nn.BatchNorm2d) -> dict:
    return {"layer": "batchnorm2d", "num_features": m.num_features, "eps": m.eps,
            "momentum": m.momentum, "affine": m.affine,
            "track_running_stats": m.track_running_stats}


def describe(m: nn.Module) -> dict:
    """JSON description of a simple layer (used inside sequential_small)."""
    if isinstance(m, nn.Conv2d):
        return conv_meta(m)
    if isinstance(m, nn.BatchNorm2d):
        return bn_meta(m)
    if isinstance(m, nn.ReLU):
        return {"layer": "relu"}
    if isinstance(m, nn.MaxPool2d):
        return {"layer": "maxpool2d", "kernel": pair(m.kernel_size), "stride": pair(m.stride),
                "padding": pair(m.padding), "dilation": pair(m.dilation),
                "ceil_mode": m.ceil_mode}
    if isinstance(m, nn.Flatten):
        return {"layer": "flatten", "start_dim": m.start_dim, "end_dim": m.end_dim}
    if isinstance(m, nn.Linear):
        return {"layer": "dense", "in_features": m.in_features,
                "out_features": m.out_features, "bias": m.bias is not None}
    raise TypeError(type(m))


# ------------------------------------------------------- torchvision-style residual blocks


def conv3x3(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock (same attribute names)."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class Bottleneck(nn.Module):
    """torchvision.models.resnet.Bottleneck (same attribute names; groups=1, base_width=64)."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        width = planes
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv3(out)
        out = self.bn3(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


# ----------------------------------------------------------------------------- file 1


def record_layer(tensors, metadata, cases, name, module, x, meta, train=True):
    module.train(train)
    before = snapshot(module.state_dict())
    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())

    x_leaf = x.detach().clone().requires_grad_(True)
    out = module(x_leaf)
    upstream = randn64(*out.shape)
    (out * upstream).sum().backward()

    tensors[f"{name}.input"] = x.detach().clone().contiguous()
    tensors[f"{name}.output"] = out.detach().clone().contiguous()
    tensors[f"{name}.upstream"] = upstream.contiguous()
    tensors[f"{name}.grad_input"] = x_leaf.grad.detach().clone().contiguous()
    for k, v in before.items():
        tensors[f"{name}.param.{k}"] = v
    for k, p in module.named_parameters():
        assert p.grad is not None, (name, k)
        tensors[f"{name}.grad.{k}"] = p.grad.detach().clone().contiguous()
    if train and has_bn:
        for k, b in module.named_buffers():
            tensors[f"{name}.after.{k}"] = b.detach().clone().contiguous()

    meta = dict(meta)
    meta["mode"] = "train" if train else "eval"
    meta["input_shape"] = list(x.shape)
    meta["output_shape"] = list(out.shape)
    metadata[name] = json.dumps(meta)
    cases.append(name)


def record_loss(tensors, metadata, cases, name, loss_fn, logits, targets, meta):
    leaf = logits.detach().clone().requires_grad_(True)
    loss = loss_fn(leaf, targets)
    loss.backward()
    tensors[f"{name}.logits"] = logits.detach().clone().contiguous()
    tensors[f"{name}.targets"] = targets.detach().clone().contiguous()
    tensors[f"{name}.loss"] = loss.detach().clone().reshape([]).contiguous()
    tensors[f"{name}.grad_input"] = leaf.grad.detach().clone().contiguous()
    meta = dict(meta)
    meta["reduction"] = "mean"
    meta["logits_shape"] = list(logits.shape)
    meta["targets_dtype"] = str(targets.dtype).replace("torch.", "")
    metadata[name] = json.dumps(meta)
    cases.append(name)


def make_layers():
    tensors, metadata, cases = {}, {}, []
    seed = iter(range(100, 1000))

    def layer(name, build, x_fn, meta_fn, train=True):
        torch.manual_seed(next(seed))
        module = build()
        randomize_batchnorm(module)
        x = x_fn()
        record_layer(tensors, metadata, cases, name, module, x, meta_fn(module), train)

    # convolutions
    layer("conv_basic", lambda: nn.Conv2d(3, 4, 3), lambda: randn64(2, 3, 7, 6), conv_meta)
    layer("conv_stride_pad", lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1),
          lambda: randn64(2, 3, 8, 7), conv_meta)
    layer("conv_rect_same", lambda: nn.Conv2d(2, 3, (3, 5), padding="same"),
          lambda: randn64(2, 2, 6, 7),
          lambda m: conv_meta(m, padding=[1, 2], padding_mode="same"))
    layer("conv_dilation", lambda: nn.Conv2d(2, 3, 3, dilation=2, padding=2),
          lambda: randn64(2, 2, 9, 9), conv_meta)
    layer("conv_groups", lambda: nn.Conv2d(4, 6, 3, padding=1, groups=2, bias=False),
          lambda: randn64(2, 4, 5, 5), conv_meta)
    layer("conv_1x1", lambda: nn.Conv2d(8, 5, 1), lambda: randn64(2, 8, 4, 4), conv_meta)
    layer("conv_1x1_stride2", lambda: nn.Conv2d(6, 4, 1, stride=2, bias=False),
          lambda: randn64(2, 6, 5, 5), conv_meta)

    # pooling
    layer("maxpool2", lambda: nn.MaxPool2d(2), lambda: distinct64(2, 3, 7, 7), describe)
    layer("maxpool3s2p1", lambda: nn.MaxPool2d(3, stride=2, padding=1),
          lambda: distinct64(2, 2, 8, 8), describe)
    avg_meta = lambda m: {"layer": "avgpool2d", "kernel": pair(m.kernel_size),  # noqa: E731
                          "stride": pair(m.stride), "padding": pair(m.padding),
                          "ceil_mode": m.ceil_mode, "count_include_pad": m.count_include_pad}
    layer("avgpool2", lambda: nn.AvgPool2d(2), lambda: randn64(2, 3, 7, 7), avg_meta)
    layer("avgpool3s1p1", lambda: nn.AvgPool2d(3, stride=1, padding=1),
          lambda: randn64(2, 2, 5, 5), avg_meta)
    layer("global_avgpool", lambda: nn.AdaptiveAvgPool2d(1), lambda: randn64(2, 3, 4, 5),
          lambda m: {"layer": "global_avgpool", "output_size": [1, 1]})

    # dense / shape
    layer("dense", lambda: nn.Linear(12, 5), lambda: randn64(3, 12), describe)
    layer("flatten", lambda: nn.Flatten(), lambda: randn64(2, 3, 2, 2), describe)

    # activations
    layer("relu", lambda: nn.ReLU(), lambda: randn64_nonzero(2, 3, 4, 5), describe)
    layer("leaky_relu", lambda: nn.LeakyReLU(0.1), lambda: randn64_nonzero(2, 3, 4, 5),
          lambda m: {"layer": "leaky_relu", "negative_slope": m.negative_slope})
    layer("sigmoid", lambda: nn.Sigmoid(), lambda: randn64(2, 3, 4, 5),
          lambda m: {"layer": "sigmoid"})
    layer("tanh", lambda: nn.Tanh(), lambda: randn64(2, 3, 4, 5), lambda m: {"layer": "tanh"})
    layer("softmax", lambda: nn.Softmax(dim=1), lambda: randn64(3, 7),
          lambda m: {"layer": "softmax", "dim": m.dim})

    # batch norm
    layer("batchnorm_train", lambda: nn.BatchNorm2d(3), lambda: randn64(4, 3, 5, 5), bn_meta)
    layer("batchnorm_eval", lambda: nn.BatchNorm2d(3), lambda: randn64(4, 3, 5, 5), bn_meta,
          train=False)

    # residual blocks
    def block_meta(kind):
        def fn(m):
            meta = {"layer": kind, "inplanes": m.conv1.in_channels,
                    "planes": m.conv1.out_channels, "stride": m.stride,
                    "expansion": m.expansion, "downsample": m.downsample is not None,
                    "out_channels": m.bn2.num_features if kind == "basic_block"
                    else m.bn3.num_features, "bn_momentum": 0.1, "bn_eps": 1e-5}
            return meta
        return fn

    layer("basic_block",
          lambda: BasicBlock(4, 8, stride=2,
                             downsample=nn.Sequential(conv1x1(4, 8, 2), nn.BatchNorm2d(8))),
          lambda: randn64(2, 4, 6, 6), block_meta("basic_block"))
    layer("basic_block_identity", lambda: BasicBlock(4, 4, stride=1),
          lambda: randn64(2, 4, 5, 5), block_meta("basic_block"))
    layer("bottleneck",
          lambda: Bottleneck(6, 2, stride=2,
                             downsample=nn.Sequential(conv1x1(6, 8, 2), nn.BatchNorm2d(8))),
          lambda: randn64(2, 6, 6, 6), block_meta("bottleneck"))

    # small sequential
    layer("sequential_small",
          lambda: nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                                nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
                                nn.Flatten(), nn.Linear(6 * 3 * 3, 5)),
          lambda: randn64(3, 1, 8, 8),
          lambda m: {"layer": "sequential", "layers": [describe(c) for c in m]})

    # losses
    torch.manual_seed(next(seed))
    record_loss(tensors, metadata, cases, "loss_softmax_ce", nn.CrossEntropyLoss(),
                randn64(4, 5), torch.randint(0, 5, (4,), dtype=torch.int64),
                {"loss": "softmax_cross_entropy", "label_smoothing": 0.0, "input": "logits"})
    torch.manual_seed(next(seed))
    record_loss(tensors, metadata, cases, "loss_softmax_ce_smooth",
                nn.CrossEntropyLoss(label_smoothing=0.1),
                randn64(4, 5), torch.randint(0, 5, (4,), dtype=torch.int64),
                {"loss": "softmax_cross_entropy", "label_smoothing": 0.1, "input": "logits"})
    torch.manual_seed(next(seed))
    record_loss(tensors, metadata, cases, "loss_bce_logits", nn.BCEWithLogitsLoss(),
                randn64(4, 3), torch.randint(0, 2, (4, 3)).to(torch.float32),
                {"loss": "bce_with_logits", "input": "logits"})
    torch.manual_seed(next(seed))
    probs = q64(torch.sigmoid(torch.randn(4, 3))).clamp(1 / 64, 63 / 64)
    record_loss(tensors, metadata, cases, "loss_bce", nn.BCELoss(),
                probs, torch.randint(0, 2, (4, 3)).to(torch.float32),
                {"loss": "bce", "input": "probabilities",
                 "note": "loss_bce.logits holds probabilities sigmoid(randn) rounded to 1/64"})
    torch.manual_seed(next(seed))
    record_loss(tensors, metadata, cases, "loss_mse", nn.MSELoss(),
                randn64(4, 3), randn64(4, 3),
                {"loss": "mse", "input": "predictions"})

    metadata["cases"] = json.dumps(cases)
    return tensors, metadata


# ----------------------------------------------------------------------------- file 2


OPTIMIZER_CONFIGS = [
    ("sgd", torch.optim.SGD, {"lr": 0.1}),
    ("sgd_momentum", torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    ("sgd_nesterov_wd", torch.optim.SGD,
     {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("sgd_dampening", torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}),
    ("adam", torch.optim.Adam, {"lr": 0.01}),
    ("adam_wd", torch.optim.Adam,
     {"lr": 0.01, "betas": [0.8, 0.95], "eps": 1e-6, "weight_decay": 0.01}),
    ("rmsprop", torch.optim.RMSprop, {"lr": 0.01}),
    ("rmsprop_momentum_wd", torch.optim.RMSprop,
     {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "momentum": 0.5, "weight_decay": 0.01}),
]
HYPER_KEYS = ["lr", "momentum", "dampening", "weight_decay", "nesterov", "betas", "eps",
              "amsgrad", "alpha", "centered", "maximize"]


def make_optimizers():
    tensors, metadata = {}, {}
    torch.manual_seed(2000)
    p0 = randn64(20)
    grads = [randn64(20) for _ in range(5)]
    for name, cls, args in OPTIMIZER_CONFIGS:
        p = nn.Parameter(p0.clone())
        ctor = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
        opt = cls([p], **ctor)
        tensors[f"{name}.p0"] = p0.clone()
        for t, g in enumerate(grads):
            tensors[f"{name}.g.{t}"] = g.clone()
            p.grad = g.clone()
            opt.step()
            tensors[f"{name}.p.{t}"] = p.detach().clone()
        group = opt.param_groups[0]
        hyper = {k: (list(group[k]) if isinstance(group[k], tuple) else group[k])
                 for k in HYPER_KEYS if k in group}
        metadata[name] = json.dumps({"optimizer": cls.__name__, "args": args, "hyper": hyper})
    metadata["cases"] = json.dumps([c[0] for c in OPTIMIZER_CONFIGS])

    def lr_list(make_scheduler):
        opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
        scheduler = make_scheduler(opt)
        lrs = []
        for _epoch in range(10):
            lrs.append(scheduler.get_last_lr()[0])
            opt.step()
            scheduler.step()
        return lrs

    metadata["steplr"] = json.dumps(
        lr_list(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)))
    metadata["multisteplr"] = json.dumps(
        lr_list(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[2, 5], gamma=0.1)))
    metadata["scheduler_note"] = json.dumps(
        "steplr/multisteplr: element e = get_last_lr()[0] after e scheduler.step() calls "
        "(epochs 0..9), SGD(lr=0.1); StepLR(step_size=3, gamma=0.5); "
        "MultiStepLR(milestones=[2, 5], gamma=0.1)")
    return tensors, metadata


# ----------------------------------------------------------------------------- file 3


def trajectory_model():
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(8 * 3 * 3, 10))


def make_trajectory():
    tensors, metadata = {}, {}
    torch.manual_seed(0)
    model = trajectory_model()
    init = snapshot(model.state_dict())
    torch.manual_seed(3000)
    x = randn64(16, 1, 8, 8)
    y = torch.randint(0, 10, (16,), dtype=torch.int64)
    tensors["x"], tensors["y"] = x, y
    for k, v in init.items():
        tensors[f"init.{k}"] = v

    def run(prefix, make_opt, make_sched):
        m = trajectory_model()
        m.load_state_dict(init, strict=True)
        m.train()
        opt = make_opt(m.parameters())
        sched = make_sched(opt) if make_sched else None
        loss_fn = nn.CrossEntropyLoss()
        losses, lrs = [], []
        for _step in range(10):
            lrs.append(opt.param_groups[0]["lr"])
            opt.zero_grad()
            loss = loss_fn(m(x), y)
            losses.append(loss.item())
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
        tensors[f"{prefix}.losses"] = torch.tensor(losses, dtype=torch.float32)
        for k, v in snapshot(m.state_dict()).items():
            tensors[f"{prefix}.final.{k}"] = v
        m.eval()
        with torch.no_grad():
            tensors[f"{prefix}.eval_output"] = m(x).contiguous()
        return lrs

    sgd_lrs = run("sgd",
                  lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-4),
                  lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5))
    adam_lrs = run("adam", lambda ps: torch.optim.Adam(ps, lr=0.01), None)

    metadata["model"] = json.dumps({
        "layers": [describe(c) for c in trajectory_model()],
        "init": "PyTorch default init under torch.manual_seed(0)"})
    metadata["data"] = json.dumps({
        "x": "randn [16,1,8,8] rounded to 1/64 (seed 3000)", "y": "randint 0..9 [16] int64"})
    metadata["sgd"] = json.dumps({
        "optimizer": "SGD", "args": {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4},
        "scheduler": {"type": "StepLR", "step_size": 4, "gamma": 0.5,
                      "stepped": "after every optimizer step"},
        "lr_per_step": sgd_lrs, "steps": 10, "batch": "full", "loss": "CrossEntropyLoss",
        "losses": "loss at step k computed before the update of step k",
        "eval_output": "model.eval()(x) after the 10 steps"})
    metadata["adam"] = json.dumps({
        "optimizer": "Adam", "args": {"lr": 0.01}, "scheduler": None,
        "lr_per_step": adam_lrs, "steps": 10, "batch": "full", "loss": "CrossEntropyLoss",
        "start": "same init.* as sgd"})
    return tensors, metadata


# ----------------------------------------------------------------------------- file 4


def make_statedict():
    torch.manual_seed(1)
    model = build_statedict_model()
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(8, 1, 14, 14))
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    assert int(state["1.num_batches_tracked"]) == 3
    torch.manual_seed(4000)
    x = randn64(5, 1, 14, 14)
    model.eval()
    with torch.no_grad():
        expected = model(x).contiguous()
    check_meta = {"description": json.dumps(
        "x [5,1,14,14] and expected = model.eval()(x) for statedict.safetensors")}
    return state, {"x": x, "expected": expected}, check_meta


# ----------------------------------------------------------------------------- main


def normalize_header(path):
    """Rewrite the safetensors header with "__metadata__" keys sorted.

    safetensors serialises the metadata from a Rust HashMap, so its key order (not the tensors
    or the values) changes from run to run. Sorting it, at the same header length, makes the
    committed files byte-for-byte reproducible.
    """
    with open(path, "r+b") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        raw = f.read(n)
        header = json.loads(raw)
        ordered = {}
        if "__metadata__" in header:
            ordered["__metadata__"] = dict(sorted(header.pop("__metadata__").items()))
        ordered.update(header)
        new = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        assert len(new) <= n, (path, len(new), n)
        new = new + b" " * (n - len(new))
        f.seek(8)
        f.write(new)


def check_file(path, tensors, metadata):
    loaded = load_file(path)
    with safe_open(path, "pt") as f:
        assert (f.metadata() or None) == metadata, path
    assert set(loaded) == set(tensors), path
    for k, v in tensors.items():
        assert loaded[k].dtype == v.dtype and loaded[k].shape == v.shape, k
        assert torch.equal(loaded[k], v), k
        if v.dtype == torch.int64:
            assert k.endswith("num_batches_tracked") or k.endswith("targets") or k == "y", k
        else:
            assert v.dtype == torch.float32, k
            assert torch.isfinite(v).all(), k


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    outputs = [
        ("layers.safetensors", *make_layers()),
        ("optimizers.safetensors", *make_optimizers()),
        ("trajectory.safetensors", *make_trajectory()),
    ]
    state, check, check_meta = make_statedict()
    outputs.append(("statedict.safetensors", state, None))
    outputs.append(("statedict_check.safetensors", check, check_meta))

    for filename, tensors, metadata in outputs:
        path = os.path.join(OUT_DIR, filename)
        tensors = {k: v.contiguous() for k, v in tensors.items()}
        save_file(tensors, path, metadata=metadata)
        normalize_header(path)
        check_file(path, tensors, metadata)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:16]
        print(f"{os.path.relpath(path, REPO_ROOT)}: {len(tensors)} tensors, "
              f"{os.path.getsize(path)} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
