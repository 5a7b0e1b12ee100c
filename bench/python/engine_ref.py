"""PyTorch reference for bench/engine.ts: the same work as psfid's engine benchmark, timed the same way.

Usage: python3 engine_ref.py FIGURE WARMUP REPEATS, or python3 engine_ref.py serve (requests on stdin, see serve()).
FIGURE is one of train_small, rfft2, train_unet. Prints one JSON line {"figure", "samples_ms"}: the duration of each
timed call in milliseconds, after WARMUP untimed calls. 2 threads, or a request's "threads" (bench/engine.ts sends
psfid's engine thread count). A request's "device" ("cpu" or "cuda") says where the work runs; on CUDA every timed
call ends with torch.cuda.synchronize(), as psfid's side ends with synchronize().
Development tool only (Debian python3-torch), never a runtime dependency of psfid.
"""
import collections
import itertools
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from ref_server import serve, time_calls

torch.set_num_threads(2)


def conv(cin, cout):
    return nn.Conv2d(cin, cout, 3, padding=1)


class SmallNet(nn.Module):
    """Convs 1→32→32→32→1, 3×3, padding 1, ReLU between."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([conv(1, 32), conv(32, 32), conv(32, 32), conv(32, 1)])

    def forward(self, x):
        for i, c in enumerate(self.convs):
            x = c(x)
            if i < len(self.convs) - 1:
                x = F.relu(x)
        return x


class UNetish(nn.Module):
    """A U-Net-sized block at 64 channels: two levels, max-pool down, transposed conv up, additive skip."""

    def __init__(self):
        super().__init__()
        self.inc = conv(1, 64)
        self.enc1 = conv(64, 64)
        self.enc2 = conv(64, 64)
        self.mid1 = conv(64, 64)
        self.mid2 = conv(64, 64)
        self.up = nn.ConvTranspose2d(64, 64, 2, stride=2)
        self.dec = conv(64, 64)
        self.out = conv(64, 1)

    def forward(self, x):
        a = F.leaky_relu(self.inc(x))
        a = F.leaky_relu(self.enc1(a))
        a = F.leaky_relu(self.enc2(a))
        b = F.max_pool2d(a, 2)
        b = F.leaky_relu(self.mid1(b))
        b = F.leaky_relu(self.mid2(b))
        u = self.up(b) + a
        u = F.leaky_relu(self.dec(u))
        return self.out(u)


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def train_step_fn(model, shape, device):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=g).to(device)
    target = torch.randn((shape[0], 1, shape[2], shape[3]), generator=g).to(device)
    model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        loss = F.l1_loss(model(x), target)
        loss.backward()
        opt.step()
        # psfid's zeroGrad() drops the gradients (PyTorch's set_to_none=True).
        opt.zero_grad(set_to_none=True)
        sync(device)

    return step


def rfft2_fn(device):
    # Cycles over 4 inputs and keeps the last 8 outputs alive, as bench/engine.ts does (see rfft2Call there: the
    # kernel's time depends on where its buffers lie in memory, so every call gets different ones).
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randn((16, 256, 256), generator=g).to(device) for _ in range(4)]
    outputs = collections.deque(maxlen=8)
    counter = itertools.count()

    def step():
        outputs.append(torch.fft.rfft2(inputs[next(counter) % len(inputs)]))
        sync(device)

    return step


FIGURES = {
    "train_small": lambda device: train_step_fn(SmallNet(), (8, 1, 64, 64), device),
    "rfft2": rfft2_fn,
    "train_unet": lambda device: train_step_fn(UNetish(), (8, 1, 128, 128), device),
}


def handle(req, built):
    """One request {"figure", "warmup", "repeats", "threads"?, "device"?} -> {"samples_ms", "cpu_ms_per_call"}.

    Each figure's model, optimizer and data are built at its first request and reused by later ones (psfid's side
    does the same), so interleaved rounds continue the same training run."""
    figure = req["figure"]
    if figure not in FIGURES:
        raise ValueError(f"unknown figure {figure!r}; known: {', '.join(FIGURES)}")
    device = req.get("device", "cpu")
    if (figure, device) not in built:
        torch.manual_seed(0)
        built[(figure, device)] = FIGURES[figure](device)
    if req.get("threads"):
        torch.set_num_threads(int(req["threads"]))
    repeats = int(req["repeats"])
    cpu0 = time.process_time()
    samples = time_calls(built[(figure, device)], int(req["warmup"]), repeats)
    # CPU time of the whole call (warm-up included) per timed call: a diagnostic for noisy machines.
    cpu = (time.process_time() - cpu0) * 1e3 / max(1, repeats)
    return {"figure": figure, "samples_ms": samples, "cpu_ms_per_call": cpu}


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "serve":
        serve(handle)
        return
    if len(sys.argv) != 4 or sys.argv[1] not in FIGURES:
        sys.exit(f"usage: engine_ref.py serve | engine_ref.py {{{','.join(FIGURES)}}} WARMUP REPEATS")
    figure, warmup, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.manual_seed(0)
    print(json.dumps({"figure": figure, "samples_ms": time_calls(FIGURES[figure]("cpu"), warmup, repeats)}))


if __name__ == "__main__":
    main()
