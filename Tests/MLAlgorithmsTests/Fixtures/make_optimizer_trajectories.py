#!/usr/bin/env python3
"""Golden optimizer trajectories for LinearOptimizerTests, from torch.optim in float64.

Ten full-batch steps of logistic regression (mean BCE-with-logits) on fixed data, for SGD with
momentum, Adam and RMSProp, with L2 weight decay on the weights, none on the bias, the bias's
learning rate doubled (SageMaker's bias_lr_mult = 2) and a step schedule (×0.5 every 4 updates).
Records the loss before each step and the parameters after it.

Needs torch, which the setup script does not install (only fixtures need it):
    .venv/bin/python -m pip install "torch==2.13.0+cpu"
Run: .venv/bin/python Tests/MLAlgorithmsTests/Fixtures/make_optimizer_trajectories.py
Writes: Tests/MLAlgorithmsTests/Fixtures/optimizer_trajectories.json
"""
import json
import os

import torch

torch.set_default_dtype(torch.float64)
X = torch.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, 1.5], [2.0, 0.5, -1.0], [-1.0, -1.0, 0.0],
                  [0.5, 2.0, 1.0], [1.5, -0.5, -0.5], [-2.0, 1.0, 0.5], [0.0, 0.0, -1.5]])
y = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
w0 = [0.1, -0.2, 0.05]
b0 = 0.3
LR, WD, BIAS_LR_MULT, FACTOR, STEP = 0.1, 0.01, 2.0, 0.5, 4

configs = {
    "sgd": lambda groups: torch.optim.SGD(groups, lr=LR, momentum=0.9),
    "adam": lambda groups: torch.optim.Adam(groups, lr=LR, betas=(0.9, 0.999), eps=1e-8),
    "rmsprop": lambda groups: torch.optim.RMSprop(groups, lr=LR, alpha=0.99, eps=1e-8),
}

out = {"torch": torch.__version__, "x": X.tolist(), "y": y.tolist(), "w0": w0, "b0": b0, "learning_rate": LR,
       "weight_decay": WD, "bias_lr_mult": BIAS_LR_MULT, "factor": FACTOR, "step": STEP, "trajectories": {}}
for name, make in configs.items():
    w = torch.tensor(w0, requires_grad=True)
    b = torch.tensor([b0], requires_grad=True)
    opt = make([{"params": [w], "weight_decay": WD}, {"params": [b], "weight_decay": 0.0, "lr": LR * BIAS_LR_MULT}])
    losses, params = [], []
    for t in range(10):
        for group, mult in zip(opt.param_groups, [1.0, BIAS_LR_MULT]):
            group["lr"] = LR * mult * FACTOR ** (t // STEP)
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(X @ w + b, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        params.append(w.detach().tolist() + b.detach().tolist())
    out["trajectories"][name] = {"losses": losses, "parameters": params}

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optimizer_trajectories.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
