"""PyTorch reference for bench/train.ts and the identify figure of bench/deconv.ts: psfid's Identifier network and
its training-data synthesis, written again in plain PyTorch, timed the way psfid's side is.

What is ported (src/model/identifier.ts, src/train/synthesize.ts, src/acquisition/, src/optics/, src/train/loss.ts):
- Identifier: the same layers, names, channel widths, conditioning channels, standardisation, spectral branch (Welch
  log power spectrum CNN) and heads: the pixel decoder with its softmax, or (the small preset) the Zernike head whose
  h_hat is the per-sample-fc MFT PSF below, differentiated by autograd. A psfid state dict loads into it unchanged; its
  parameter count is printed by `train_ref.py params PRESET` (bench/train.ts checks that it equals psfid's).
- Crops: dead leaves (disks with radii ~ r^-3 on [1, n/3], grey levels U[0, 1), painted front to back, 4000 disks
  at most, 0.5 where no disk lands): the same distribution as src/data/procedural.ts, vectorised in PyTorch (each
  pixel takes the first disk that covers it, found with scatter_reduce over the disks' bounding boxes), rendered on
  one thread like psfid's JavaScript renderer.
- Degradations from the default prior: fc ~ U[0.125, 0.25], thetaMax ~ U[0.02, 0.15], theta_k ~ U[-thetaMax, thetaMax]
  on Noll 4-11, gain ~ U[0, 0.02], sigma ~ U[0, 0.02], bits in {8, 12, 16}, salt-and-pepper ~ U[0, 0.002].
- PSFs of the synthesis (per-sample fc, P = 256, S = 31), two ways (the Zernike head always uses "mft", as psfid's):
    "mft" (default; the algorithm psfid uses): the pupil on the band of offsets covering the batch's largest fc (half
          width rounded up to 4 samples, as psfid), anti-aliased aperture, Zernike modes evaluated per sample, then
          h = |E p E^T|^2 with E [S, M] the exact DFT factors, as complex matrix products;
    "fft" (the naive way): the same pupil on the whole 256^2 grid per sample, fftshift(fft2(ifftshift(.))), |.|^2 and
          the centred S x S crop.
  Both are normalised to sum 1 and give the same samples (checked against psfid by `psf` requests).
- Valid blur by rfft2 at the image size, Poisson (per-sample gain), Gaussian, per-sample quantization, salt-and-pepper.
- Loss: mean over the batch of sum|h_hat - h| + 0.1 * mean|h_hat * x - y| (valid region); Adam (lr 1e-3), gradients
  dropped after the step (zero_grad(set_to_none=True), as psfid's zeroGrad).

Usage: python3 train_ref.py serve (one JSON request per stdin line, one JSON answer per line; see serve()), or
python3 train_ref.py params PRESET. Development tool only (Debian python3-torch), never a runtime dependency of psfid.
"""
import json
import math
import sys
import time
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

from ref_server import serve, time_calls

torch.set_num_threads(2)
warnings.filterwarnings("ignore", message="scatter_reduce")

PRESETS = {
    "small": dict(base_channels=32, levels=4, decoder_channels=256, psf_size=31, slope=0.1, spectral_channels=32, head="zernike"),
    "seed": dict(base_channels=64, levels=5, decoder_channels=1792, psf_size=31, slope=0.1, spectral_channels=64),
    "tiny": dict(base_channels=4, levels=2, decoder_channels=16, psf_size=15, slope=0.1, spectral_channels=4, spectral_tile=16),
}

# ---------------------------------------------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------------------------------------------


class DoubleConv(nn.Module):
    def __init__(self, cin, cout, slope):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.slope = slope

    def forward(self, x, low=None):
        """As psfid's DoubleConv: a bfloat16 input convolves with bfloat16 copies of the float32 weights; `low` (psfid's
        forwardCast) keeps the first convolution in float32 and runs the second in that dtype."""
        def conv(layer, t):
            cast = (lambda w: w.to(t.dtype)) if t.dtype == torch.bfloat16 else (lambda w: w)  # noqa: E731
            return F.leaky_relu(F.conv2d(t, cast(layer.weight), cast(layer.bias), padding=1), self.slope)
        h = conv(self.conv1, x)
        return conv(self.conv2, h.to(low) if low is not None else h)


class Identifier(nn.Module):
    """y [B, 1, H, W], fc [B], theta_max [B] -> h_hat [B, S, S].

    Spatial encoder (globally pooled per stage) + spectral branch (CNN over the Welch log power spectrum of 64^2
    Hann-windowed tiles, with frequency-coordinate channels, flattened at 4^2) whose vector is appended to the pooled
    features; then either the pixel decoder (transposed convs, per-stage biases, softmax over S^2) or the Zernike
    head (theta_hat = theta_max * tanh(linear), h_hat = the per-sample-fc MFT PSF of theta_hat)."""

    def __init__(self, base_channels, levels, decoder_channels, psf_size, slope, spectral_channels=0, spectral_tile=64, head="pixels", condition_head=False, head_layers=1, input_norm="std", pool="mean", head_norm=False, psf_residual=False, psf_residual_hidden=0):
        super().__init__()
        self.levels, self.psf_size, self.slope, self.tile = levels, psf_size, slope, spectral_tile
        self.head_kind = head
        self.condition_head, self.head_layers, self.input_norm, self.pool = condition_head, head_layers, input_norm, pool
        self.head_norm = head_norm
        self.psf_residual, self.psf_residual_hidden = psf_residual, psf_residual_hidden
        self.conv_precision = "float32"  # or "bfloat16": psfid's Identifier.convPrecision
        pf = 2 if pool == "meanmax" else 1
        stages = int(round(math.log2(psf_size + 1))) - 2
        self.stages = stages
        widths, cin = [], 3  # y and the two conditioning channels
        for i in range(levels):
            cout = base_channels * 2**i
            setattr(self, f"enc{i}", DoubleConv(cin, cout, slope))
            widths.append(cout)
            cin = cout
        sc = spectral_channels
        extra = 8 * sc if sc > 0 else 0
        self.n_spectral = 4 if sc > 0 else 0
        if sc > 0:
            for i, (a, b) in enumerate([(3, sc), (sc, 2 * sc), (2 * sc, 4 * sc), (4 * sc, 4 * sc)]):
                setattr(self, f"spec{i}", DoubleConv(a, b, slope))
            self.specproj = nn.Linear(4 * sc * (spectral_tile // 16) ** 2, extra)
            w1 = 0.5 - 0.5 * torch.cos(2 * math.pi * (torch.arange(spectral_tile, dtype=torch.float64) + 0.5) / spectral_tile)
            f = (torch.arange(spectral_tile, dtype=torch.float64) - spectral_tile / 2) / (spectral_tile / 2)
            fy, fx = torch.meshgrid(f, f, indexing="ij")
            self.register_buffer("window", (w1.view(-1, 1) * w1.view(1, -1)).float().view(1, 1, spectral_tile, spectral_tile), persistent=False)
            self.register_buffer("coords", torch.stack([fx, fy]).float().unsqueeze(0), persistent=False)
        dec = [max(16, decoder_channels >> i) for i in range(stages + 1)]
        cond = 2 if condition_head else 0
        self.seed = nn.Linear(widths[-1] * pf + extra + cond, dec[0])
        if head == "zernike":
            for i in range(1, head_layers):
                setattr(self, f"hidden{i}", nn.Linear(dec[0] + cond, dec[0]))
            self.zernike = nn.Linear(dec[0], 8)
            if psf_residual:  # pixel correction r, h_hat = max(h(theta) + r, 0) renormalised
                if psf_residual_hidden > 0:
                    self.residualHidden = nn.Linear(dec[0], psf_residual_hidden)
                self.residual = nn.Linear(psf_residual_hidden if psf_residual_hidden > 0 else dec[0], psf_size * psf_size)
            return
        for i in range(stages + 1):
            cout = dec[min(i + 1, stages)]
            setattr(self, f"up{i}", nn.ConvTranspose2d(dec[i], cout, 3, stride=1 if i == 0 else 2))
            setattr(self, f"skip{i}", nn.Linear(widths[max(0, levels - 1 - i)] * pf + extra, cout))
            setattr(self, f"refine{i}", nn.Conv2d(cout, cout, 3, padding=1))
        self.head = nn.Conv2d(dec[stages], 1, 3, padding=1)

    def conv_input(self, x):
        """psfid's convInput: channels-last on the CPU."""
        return x.contiguous(memory_format=torch.channels_last) if x.device.type == "cpu" else x

    def low_dtype(self):
        """psfid's lowPrecisionDtype: the dtype after each stack's first convolution (None: float32)."""
        return torch.bfloat16 if self.conv_precision == "bfloat16" else None

    def spectral_features(self, yn):
        if not self.n_spectral:
            return None
        b, _, height, width = yn.shape
        n = self.tile
        ty, tx = height // n, width // n
        tiles = yn[:, :, : ty * n, : tx * n].reshape(b, ty, n, tx, n).permute(0, 1, 3, 2, 4).reshape(b * ty * tx, 1, n, n)
        power = torch.fft.fft2(tiles * self.window).abs().square() / (n * n)
        log_spec = torch.log(power + 1e-3).reshape(b, ty * tx, n, n).mean(1, keepdim=True)  # mean of the tiles' logs
        h = self.conv_input(torch.cat([torch.fft.fftshift(log_spec, dim=(-2, -1)), self.coords.expand(b, 2, n, n)], 1))
        for i in range(self.n_spectral):
            h = F.max_pool2d(getattr(self, f"spec{i}")(h, self.low_dtype() if i == 0 else None), 2)
        return F.leaky_relu(self.specproj(h.reshape(b, -1).float()), self.slope)

    def forward(self, y, fc, theta_max, return_theta=False):
        b, _, height, width = y.shape
        s, slope = self.psf_size, self.slope
        mean = y.mean((2, 3), keepdim=True)
        if self.input_norm == "range":
            scale = y.amax((2, 3), keepdim=True) - y.amin((2, 3), keepdim=True)
        else:
            scale = y.std((2, 3), unbiased=False, keepdim=True)
        yn = (y - mean) / (scale + 1e-6)
        c0 = (fc - 0.1875) / 0.0625
        c1 = (theta_max - 0.085) / 0.065
        ones = torch.ones((b, 1, height, width), dtype=y.dtype)
        h = self.conv_input(torch.cat([yn, ones * c0.view(b, 1, 1, 1), ones * c1.view(b, 1, 1, 1)], 1))
        pooled = []
        for i in range(self.levels):
            if i > 0:
                h = F.max_pool2d(h, 2)
            h = getattr(self, f"enc{i}")(h, self.low_dtype() if i == 0 else None)
            pooled.append((torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1) if self.pool == "meanmax" else h.mean((2, 3))).float())
        spec = self.spectral_features(yn)
        with_spec = (lambda v: torch.cat([v, spec], 1)) if spec is not None else (lambda v: v)  # noqa: E731
        cond = torch.stack([c0, c1], 1) if self.condition_head else None
        with_cond = (lambda v: torch.cat([v, cond], 1)) if cond is not None else (lambda v: v)  # noqa: E731
        features = with_spec(pooled[-1])
        if self.head_norm:
            features = (features - features.mean(1, keepdim=True)) / (features.std(1, unbiased=False, keepdim=True) + 1e-5)
        seed_vec = F.leaky_relu(self.seed(with_cond(features)), slope)
        if self.head_kind == "zernike":
            for i in range(1, self.head_layers):
                seed_vec = F.leaky_relu(getattr(self, f"hidden{i}")(with_cond(seed_vec)), slope) + seed_vec
            theta = torch.tanh(self.zernike(seed_vec)) * theta_max.view(b, 1)
            residual = None
            if self.psf_residual:
                r_in = F.leaky_relu(self.residualHidden(seed_vec), slope) if self.psf_residual_hidden > 0 else seed_vec
                residual = 0.01 * self.residual(r_in).view(b, s, s)
            psf = with_residual(psf_mft(theta, fc, s), residual)
            return (psf, theta, residual) if return_theta else psf
        d = seed_vec.view(b, -1, 1, 1)
        for i in range(self.stages + 1):
            d = getattr(self, f"up{i}")(d)
            bias = getattr(self, f"skip{i}")(with_spec(pooled[max(0, self.levels - 1 - i)]))
            d = F.leaky_relu(d + bias.view(b, -1, 1, 1), slope)
            d = F.leaky_relu(getattr(self, f"refine{i}")(d), slope) + d
        logits = self.head(d).view(b, s * s)
        return torch.softmax(logits, 1).view(b, s, s)


def with_residual(h, residual):
    """max(h + r, 0) renormalised to sum 1 per sample; h itself without a correction."""
    if residual is None:
        return h
    c = torch.clamp(h + residual, min=0)
    return c / (c.sum((1, 2), keepdim=True) + 1e-12)


def num_parameters(model):
    return sum(p.numel() for p in model.parameters())


_ST_DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32}


def load_safetensors(path):
    """A psfid (or any) safetensors file as {name: tensor}: 8-byte header length, JSON header, raw data."""
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = _ST_DTYPES[info["dtype"]]
        buf = bytearray(raw[base + begin : base + end])
        out[name] = torch.frombuffer(buf, dtype=dtype).reshape(info["shape"]).clone() if end > begin else torch.zeros(info["shape"], dtype=dtype)
    return out


_ARCH_KEYS = {"baseChannels": "base_channels", "levels": "levels", "decoderChannels": "decoder_channels", "psfSize": "psf_size",
              "slope": "slope", "spectralChannels": "spectral_channels", "spectralTile": "spectral_tile", "head": "head",
              "conditionHead": "condition_head", "headLayers": "head_layers", "inputNorm": "input_norm", "pool": "pool", "headNorm": "head_norm",
              "psfResidual": "psf_residual", "psfResidualHidden": "psf_residual_hidden"}


def architecture_of(path):
    """The architecture a psfid model file declares in its metadata (the keys above; 'init' only matters for training)."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        meta = json.loads(f.read(n)).get("__metadata__", {})
    arch = json.loads(meta["architecture"]) if "architecture" in meta else None
    return {_ARCH_KEYS[k]: v for k, v in arch.items() if k in _ARCH_KEYS} if arch else None


def make_model(preset="small", weights=None, precision="float32"):
    torch.manual_seed(0)
    arch = (architecture_of(weights) if weights else None) or PRESETS[preset]
    model = Identifier(**arch)
    if weights:
        model.load_state_dict(load_safetensors(weights), strict=True)
    model.conv_precision = precision
    return model


# ---------------------------------------------------------------------------------------------------------------
# Optics: per-sample-fc PSFs, MFT or full FFT
# ---------------------------------------------------------------------------------------------------------------

P, S = 256, 31
BAND_STEP = 4
SQRT3, SQRT5, SQRT6, SQRT8 = math.sqrt(3), math.sqrt(5), math.sqrt(6), math.sqrt(8)
_cache = {}


def zernike_phase(theta, u, v):
    """-2 pi sum_k theta_k Z_k(u, v) for Noll 4-11 at normalised pupil coordinates (u = columns, v = rows, / fc)."""
    t = [theta[:, k].view(-1, 1, 1) for k in range(8)]
    u2, v2 = u * u, v * v
    r2 = u2 + v2
    z = t[0] * (SQRT3 * (2 * r2 - 1))  # defocus
    z = z + t[1] * (SQRT6 * 2 * u * v)  # oblique astigmatism, r^2 sin 2t
    z = z + t[2] * (SQRT6 * (u2 - v2))  # vertical astigmatism, r^2 cos 2t
    coma = SQRT8 * (3 * r2 - 2)
    z = z + t[3] * (coma * v)  # vertical coma, (3r^3 - 2r) sin t
    z = z + t[4] * (coma * u)  # horizontal coma
    z = z + t[5] * (SQRT8 * v * (3 * u2 - v2))  # vertical trefoil, r^3 sin 3t
    z = z + t[6] * (SQRT8 * u * (u2 - 3 * v2))  # oblique trefoil, r^3 cos 3t
    z = z + t[7] * (SQRT5 * (6 * r2 * r2 - 6 * r2 + 1))  # primary spherical
    return z * (-2 * math.pi)


def cell_geometry(lo, hi):
    """Per-cell quantities of the anti-aliased disk edge on offsets lo..hi (float64, [M, M])."""
    key = ("geom", lo, hi)
    if key not in _cache:
        o = torch.arange(lo, hi + 1, dtype=torch.float64)
        y, x = torch.meshgrid(o, o, indexing="ij")
        rho = torch.hypot(x, y)
        safe = torch.where(rho > 0, rho, torch.ones_like(rho))
        c, s = x.abs() / safe, y.abs() / safe
        a = torch.where(rho > 0, torch.maximum(c, s), torch.ones_like(rho))
        b = torch.where(rho > 0, torch.minimum(c, s), torch.zeros_like(rho))
        inv2ab = torch.where(b > 0, 1 / (2 * a * torch.where(b > 0, b, torch.ones_like(b))), torch.zeros_like(b))
        _cache[key] = (rho, (a - b) / 2, (a + b) / 2, 1 / a, inv2ab)
    return _cache[key]


def aperture(lo, hi, fc):
    """Fraction of each cell inside the disk of radius fc*P, [B, M, M] float32 (psfid's anti-aliased aperture)."""
    rho, w1, w2, inv_a, inv2ab = cell_geometry(lo, hi)
    t = (fc.double() * P).view(-1, 1, 1) - rho
    cov = torch.where(
        t >= w2,
        torch.ones_like(t),
        torch.where(t > w1, 1 - (w2 - t) ** 2 * inv2ab, torch.where(t >= -w1, 0.5 + t * inv_a, torch.where(t > -w2, (t + w2) ** 2 * inv2ab, torch.zeros_like(t)))),
    )
    return cov.float()


def pupil(theta, fc, lo, hi):
    """A * exp(-2 pi i sum theta_k Z_k) on offsets lo..hi, per-sample fc: complex64 [B, M, M]."""
    o = torch.arange(lo, hi + 1, dtype=torch.float32) / P
    scale = 1 / fc.view(-1, 1, 1)
    return torch.polar(aperture(lo, hi, fc), zernike_phase(theta, o.view(1, 1, -1) * scale, o.view(1, -1, 1) * scale))


def dft_factors(lo, hi, s=S):
    """E[x, k] = exp(-2 pi i (lo + k) x / P) for x = -s//2 .. s//2, complex64 [s, M] (phase reduced mod P exactly)."""
    key = ("dft", lo, hi, s)
    if key not in _cache:
        x = torch.arange(-(s // 2), s // 2 + 1, dtype=torch.int64).view(-1, 1)
        k = torch.arange(lo, hi + 1, dtype=torch.int64).view(1, -1)
        angle = (-2 * math.pi / P) * torch.remainder(x * k, P).double()
        _cache[key] = torch.polar(torch.ones_like(angle), angle).to(torch.complex64)
    return _cache[key]


def psf_mft(theta, fc, s=S):
    fcmax = float(fc.max())
    half = BAND_STEP * math.ceil((math.ceil(fcmax * P) + 1) / BAND_STEP)
    lo, hi = max(-(P // 2), -half), min(P - P // 2 - 1, half)
    e = dft_factors(lo, hi, s)
    a = e @ pupil(theta, fc, lo, hi) @ e.transpose(0, 1)
    h = a.real**2 + a.imag**2
    return h / h.sum((-2, -1), keepdim=True)


def psf_fft(theta, fc, s=S):
    lo, hi = -(P // 2), P - P // 2 - 1
    a = torch.fft.fftshift(torch.fft.fft2(torch.fft.ifftshift(pupil(theta, fc, lo, hi), dim=(-2, -1))), dim=(-2, -1))
    c, r = P // 2, s // 2
    h = (a.real**2 + a.imag**2)[:, c - r : c + r + 1, c - r : c + r + 1]
    return h / h.sum((-2, -1), keepdim=True)


PSF_METHODS = {"mft": psf_mft, "fft": psf_fft}

# ---------------------------------------------------------------------------------------------------------------
# Synthesis
# ---------------------------------------------------------------------------------------------------------------

DISKS = 4000
# Radius buckets [lo, hi) for the disks' bounding boxes (most radii are near 1: p(r) ~ r^-3). A disk of radius
# r < hi centred at c covers pixels floor(c) + d with d in [-floor(hi + 1/2), ceil(hi + 1/2) - 1] only; edges at
# k + 1/2 keep those boxes tight.
BUCKETS = [1.0, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 8.5, 10.5, 12.5, 16.5, 20.5, 24.5, 1e9]


def dead_leaves(g, batch, n):
    """[batch, 1, n, n] float32 dead-leaves crops; pixel = grey level of the first of DISKS disks covering it."""
    rmin, rmax = 1.0, n / 3
    a, b = rmin**-2, rmax**-2
    u = torch.rand((batch, DISKS, 4), generator=g, dtype=torch.float64)
    r = (a + (b - a) * u[..., 0]) ** -0.5
    cx = -r + (n + 2 * r) * u[..., 1]
    cy = -r + (n + 2 * r) * u[..., 2]
    grey = u[..., 3].float()
    # Pairs (disk, pixel of its box) that miss the disk or the image scatter into a dummy slot at the end.
    none = batch * n * n
    first = torch.full((none + 1,), DISKS, dtype=torch.int64)
    order = torch.argsort(r.flatten())
    r_sorted = r.flatten()[order]
    bounds = torch.searchsorted(r_sorted, torch.tensor(BUCKETS[1:-1], dtype=torch.float64)).tolist()
    for lo_i, hi_i, hi in zip([0] + bounds, bounds + [r_sorted.numel()], BUCKETS[1:]):
        if hi_i <= lo_i:
            continue
        idx = order[lo_i:hi_i]
        bi, ki = idx // DISKS, idx % DISKS
        rr, x0, y0 = r_sorted[lo_i:hi_i], cx.flatten()[idx], cy.flatten()[idx]
        top = min(hi, rmax + 1) + 0.5
        d = torch.arange(-math.floor(top), math.ceil(top))
        fx, fy = x0.floor(), y0.floor()
        px = fx.long().view(-1, 1) + d
        py = fy.long().view(-1, 1) + d
        inf = torch.tensor(float("inf"))
        dx2 = torch.where((px >= 0) & (px < n), ((fx + 0.5 - x0).float().view(-1, 1) + d) ** 2, inf)
        dy2 = torch.where((py >= 0) & (py < n), ((fy + 0.5 - y0).float().view(-1, 1) + d) ** 2, inf)
        inside = dx2.unsqueeze(1) + dy2.unsqueeze(2) <= (rr * rr).float().view(-1, 1, 1)
        flat = (bi * (n * n)).view(-1, 1) + py * n  # [N, D]: row starts
        flat = torch.where(inside, flat.unsqueeze(2) + px.unsqueeze(1), torch.tensor(none))
        first.scatter_reduce_(0, flat.flatten(), ki.view(-1, 1, 1).expand_as(flat).flatten(), "amin")
    first = first[:none].view(batch, n * n)
    img = torch.where(first < DISKS, grey.gather(1, first.clamp(max=DISKS - 1)), torch.full_like(grey[:, :1], 0.5))
    return img.view(batch, 1, n, n)


def uniform(g, batch, lo, hi):
    return lo + (hi - lo) * torch.rand((batch,), generator=g)


def sample_degradation(g, batch):
    fc = uniform(g, batch, 0.125, 0.25)
    theta_max = uniform(g, batch, 0.02, 0.15)
    theta = (torch.rand((batch, 8), generator=g) * 2 - 1) * theta_max.view(-1, 1)
    gain = uniform(g, batch, 0.0, 0.02)
    sigma = uniform(g, batch, 0.0, 0.02)
    bits = torch.tensor([8.0, 12.0, 16.0])[torch.randint(0, 3, (batch,), generator=g)]
    salt_pepper = uniform(g, batch, 0.0, 0.002)
    return dict(fc=fc, theta_max=theta_max, theta=theta, gain=gain, sigma=sigma, bits=bits, salt_pepper=salt_pepper)


def blur_valid(x, h):
    """True convolution of x [B, 1, H, W] with h [B, kh, kw], valid region, by rfft2 at the image size."""
    height, width = x.shape[-2:]
    kh, kw = h.shape[-2:]
    k = torch.fft.rfft2(h, s=(height, width)).unsqueeze(1)
    return torch.fft.irfft2(torch.fft.rfft2(x) * k, s=(height, width))[..., kh - 1 :, kw - 1 :]


def acquire(g, x, p, psf_method):
    h = PSF_METHODS[psf_method](p["theta"], p["fc"])
    y0 = blur_valid(x, h)
    per = lambda t: t.view(-1, 1, 1, 1)  # noqa: E731
    gain = per(p["gain"])
    y = torch.poisson(y0.clamp(min=0) / gain, generator=g) * gain
    y = y + torch.randn(y.shape, generator=g) * per(p["sigma"])
    levels = per(2 ** p["bits"] - 1)
    y = torch.round(y.clamp(0, 1) * levels) / levels
    u = torch.rand(y.shape, generator=g)
    prob = per(p["salt_pepper"])
    pepper = u < prob / 2
    salt = (u < prob) & ~pepper
    y = torch.where(pepper, torch.zeros_like(y), torch.where(salt, torch.ones_like(y), y))
    return y, y0, h


def synthesize(g, batch, crop, psf_method):
    # The crops are rendered on one thread, as psfid renders them (a JavaScript loop): on a loaded 2-core machine the
    # many mid-sized element-wise ops of the vectorised renderer lose several times their run time in OpenMP barriers.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        x = dead_leaves(g, batch, crop + S - 1)
    finally:
        torch.set_num_threads(threads)
    p = sample_degradation(g, batch)
    y, _, h = acquire(g, x, p, psf_method)
    return x, y, h, p["fc"], p["theta_max"]


# ---------------------------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------------------------


def train_state(weights, psf_method, batch=8, crop=64, lam=0.1, lr=1e-3, precision="float32"):
    """One training step's closure: returns (step ms, data ms) per call."""
    model = make_model("small", weights, precision)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(1)

    def step():
        t0 = time.perf_counter()
        x, y, h, fc, theta_max = synthesize(g, batch, crop, psf_method)
        t1 = time.perf_counter()
        h_hat = model(y, fc, theta_max)
        psf_term = (h_hat - h).abs().sum((1, 2)).mean()
        data_term = (blur_valid(x, h_hat) - y).abs().mean()
        loss = psf_term + lam * data_term
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        loss.item(), psf_term.item(), data_term.item()
        t2 = time.perf_counter()
        return (t2 - t0) * 1e3, (t1 - t0) * 1e3

    return step


def patch_starts(n, p, overlap):
    if n <= p:
        return [0]
    stride = max(1, round(p * (1 - overlap)))
    starts = list(range(0, n - p + 1, stride))
    if starts[-1] + p < n:
        starts.append(n - p)
    return starts


# Noll 4-11 twin signs: theta and TWIN * theta give the same PSF (even radial orders flip).
TWIN = torch.tensor([-1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0, -1.0])


def twin_aligned_mean(thetas, weights):
    """Weighted mean of [n, 8] coefficients, each flipped to its twin when that lies nearer the mean (from the heaviest)."""
    mean = thetas[int(torch.argmax(weights))]
    flips = None
    for _ in range(10):
        new = ((thetas * TWIN - mean) ** 2).sum(1) < ((thetas - mean) ** 2).sum(1)
        if flips is not None and torch.equal(new, flips):
            break
        flips = new
        aligned = torch.where(flips.view(-1, 1), thetas * TWIN, thetas)
        mean = (aligned * weights.view(-1, 1)).sum(0) / weights.sum()
    return mean


def identify_region(model, image, fc, theta_max, patch=128, overlap=0.0, batch=16, max_patches=256):
    """psfid's identifyRegion on the whole image [H, W]: at most max_patches patches (those of highest std, in lattice
    order), estimates weighted by the patch's std; the Zernike head's coefficients are combined by a twin-aligned
    weighted mean and h(mean) returned, the pixel head's PSFs averaged."""
    height, width = image.shape
    p = min(patch, width, height)
    xs, ys = patch_starts(width, p, overlap), patch_starts(height, p, overlap)
    corners = [(x, y) for y in ys for x in xs]
    if len(corners) > max_patches:
        std = [float(image[y0 : y0 + p, x0 : x0 + p].double().std(unbiased=False)) for x0, y0 in corners]
        order = sorted(range(len(corners)), key=lambda i: (-std[i], i))[:max_patches]
        corners = [corners[i] for i in sorted(order)]
    acc = torch.zeros((model.psf_size, model.psf_size))
    r_acc = torch.zeros((model.psf_size, model.psf_size))
    thetas, weights = [], []
    zernike = model.head_kind == "zernike"
    with torch.no_grad():
        for k in range(0, len(corners), batch):
            chunk = corners[k : k + batch]
            y = torch.stack([image[y0 : y0 + p, x0 : x0 + p] for x0, y0 in chunk]).unsqueeze(1)
            w = y.double().std((1, 2, 3), unbiased=False).float()
            n = len(chunk)
            if zernike:
                _, theta, residual = model(y, torch.full((n,), fc), torch.full((n,), theta_max), return_theta=True)
                thetas.append(theta)
                weights.append(w)
                if residual is not None:
                    r_acc = r_acc + (residual * w.view(-1, 1, 1)).sum(0)
            else:
                h_hat = model(y, torch.full((n,), fc), torch.full((n,), theta_max))
                acc = acc + (h_hat * w.view(-1, 1, 1)).sum(0)
        if zernike:
            mean = twin_aligned_mean(torch.cat(thetas), torch.cat(weights))
            h = psf_mft(mean.view(1, 8), torch.tensor([fc]), model.psf_size)
            residual = (r_acc / torch.cat(weights).sum()).unsqueeze(0) if model.psf_residual else None
            return with_residual(h, residual)[0]
    return acc / acc.sum()


def read_f32(path, shape):
    with open(path, "rb") as f:
        return torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(shape).clone()


def self_timed(fn, warmup, repeats):
    """The (total ms, data ms) that each of `repeats` calls of a training step reports, after `warmup` calls: the
    step times itself, so that its data part is split off (time_calls, for the other figures, times from outside)."""
    for _ in range(warmup):
        fn()
    return [fn() for _ in range(repeats)]


def handle(req, built):
    kind = req["figure"]
    torch.set_num_threads(int(req.get("threads", 2)))
    if kind == "params":
        return {"parameters": num_parameters(Identifier(**PRESETS[req.get("preset", "small")]))}
    if kind == "psf":
        theta = torch.tensor(req["theta"], dtype=torch.float32).view(-1, 8)
        fc = torch.tensor(req["fc"], dtype=torch.float32)
        with torch.no_grad():
            return {m: f(theta, fc).flatten().tolist() for m, f in PSF_METHODS.items()}
    if kind == "crops":
        g = torch.Generator().manual_seed(3)
        return {"samples_ms": time_calls(lambda: dead_leaves(g, 8, 64 + S - 1), int(req["warmup"]), int(req["repeats"]))}
    if kind == "train":
        key = ("train", req.get("psf", "mft"), req.get("precision", "float32"))
        if key not in built:
            built[key] = train_state(req.get("weights"), key[1], precision=key[2])
        samples = self_timed(built[key], int(req["warmup"]), int(req["repeats"]))
        return {"samples_ms": [s[0] for s in samples], "data_ms": [s[1] for s in samples]}
    if kind == "identify":
        key = ("identify", req.get("weights"), req["image"], req.get("precision", "float32"))
        if key not in built:
            model = make_model("small", req.get("weights"), key[3])
            model.eval()
            built[key] = (model, read_f32(req["image"], (int(req["height"]), int(req["width"]))))
        model, image = built[key]
        args = (float(req["fc"]), float(req["theta_max"]), int(req.get("patch_size", 128)), float(req.get("overlap", 0.0)), int(req.get("batch_size", 16)), int(req.get("max_patches", 256)))
        run = lambda: identify_region(model, image, *args)  # noqa: E731
        out = {"samples_ms": time_calls(run, int(req["warmup"]), int(req["repeats"]))}
        if req.get("return_psf"):
            out["psf"] = run().flatten().tolist()
        return out
    raise ValueError(f"unknown figure {kind!r}; known: params, psf, crops, train, identify")


# handle() answers the requests of serve(handle) (ref_server.py), one JSON line each; requests ({"threads": n} sets torch's threads):
#   {"figure": "params", "preset"} -> {"parameters"}
#   {"figure": "psf", "theta": [B*8], "fc": [B]} -> {"mft": [B*S*S], "fft": [B*S*S]}
#   {"figure": "crops", "warmup", "repeats"} -> {"samples_ms"} (8 dead-leaves crops of 94^2 per call)
#   {"figure": "train", "psf": "mft"|"fft", "weights": path|null, "warmup", "repeats"} -> {"samples_ms", "data_ms"}
#   (one small training step per call, batch 8, crop 64; state kept across requests per psf method)
#   {"figure": "identify", "weights", "image": raw float32 path, "width", "height", "fc", "theta_max", "patch_size",
#   "overlap", "batch_size", "max_patches", "warmup", "repeats", "return_psf"} -> {"samples_ms", "psf"?}


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "serve":
        serve(handle)
    elif len(sys.argv) == 3 and sys.argv[1] == "params" and sys.argv[2] in PRESETS:
        print(json.dumps({"preset": sys.argv[2], "parameters": num_parameters(Identifier(**PRESETS[sys.argv[2]]))}))
    else:
        sys.exit(f"usage: train_ref.py serve | train_ref.py params {{{','.join(PRESETS)}}}")


if __name__ == "__main__":
    main()
