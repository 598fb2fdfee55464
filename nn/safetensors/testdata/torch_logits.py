"""Loads dpmpi safetensors files into the equivalent torch.nn models and
writes their logits on given inputs, for nn/safetensors's round-trip test.

    python3 torch_logits.py JOBS.json

JOBS.json lists the models: [{"model": EXPR, "weights": PATH, "inputs": PATH,
"shape": [C, H, W], "logits": PATH, "tokens": BOOL}, ...]. EXPR is a torch.nn expression
(evaluated with torch.nn as `nn`, dpmpi's block as `Residual` and its
weight-standardised convolution as `StdConv2d`), for example "nn.Sequential(nn.Linear(784,
10))"; the inputs file holds the inputs flat, and shape is one sample's
shape; tokens says the inputs are token indices (passed as int64). The safetensors files are parsed here with json and numpy, so only
Debian's python3-torch is needed (torch 1.13 has no safetensors reader), and
torch starts once for all the models. load_state_dict(strict=True) refuses
missing or unexpected names and mismatched shapes.
"""
import json
import struct
import sys

import numpy as np
import torch
from torch import nn


class Residual(nn.Module):
    """dpmpi's residual block: branch(x) + (proj(x) if proj else x)."""

    def __init__(self, branch, proj=None):
        super().__init__()
        self.branch = branch
        self.proj = proj

    def forward(self, x):
        return self.branch(x) + (self.proj(x) if self.proj is not None else x)


class StdConv2d(nn.Conv2d):
    """dpmpi's weight-standardised Conv2d: the weight of each output channel
    standardised with its mean and biased variance, eps 1e-5, in forward."""

    def forward(self, x):
        w = self.weight
        m = w.mean(dim=(1, 2, 3), keepdim=True)
        v = w.var(dim=(1, 2, 3), unbiased=False, keepdim=True)
        return self._conv_forward(x, (w - m) / torch.sqrt(v + 1e-5), self.bias)


def load_safetensors(path):
    with open(path, "rb") as f:
        b = f.read()
    (n,) = struct.unpack("<Q", b[:8])
    header = json.loads(b[8 : 8 + n])
    data = b[8 + n :]
    types = {"F32": np.float32, "F64": np.float64}
    state = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        a = np.frombuffer(data[start:end], dtype=types[info["dtype"]]).reshape(info["shape"])
        state[name] = torch.from_numpy(a.copy())
    return state


def main():
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    for job in jobs:
        model = eval(job["model"], {"nn": nn, "Residual": Residual, "StdConv2d": StdConv2d}).double()
        state = {k: v.double() for k, v in load_safetensors(job["weights"]).items()}
        model.load_state_dict(state, strict=True)
        model.eval()
        x = torch.from_numpy(np.load(job["inputs"]).reshape([-1] + job["shape"]))
        x = x.long() if job["tokens"] else x.double()
        with torch.no_grad():
            logits = model(x)
        np.save(job["logits"], logits.numpy())


if __name__ == "__main__":
    main()
