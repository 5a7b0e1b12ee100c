"""PyTorch reference for bench/optics.ts: PSFs and acquisitions the naive way, timed like psfid's side.

Usage: python3 optics_ref.py FIGURE WARMUP REPEATS, or python3 optics_ref.py serve (one JSON request per stdin line,
{"figure", "warmup", "repeats", "threads"?}; one JSON answer per line). FIGURE is one of:
  psf      batch 64 of 31x31 PSFs from a 256x256 pupil, Noll 4-11, fc = 0.25: phase from a Zernike basis evaluated
           once on the whole grid, pupil = A*exp(-2*pi*i*phase), full FFT2 with the shifts, |.|^2, centred crop,
           normalised to sum 1 (the way deepinv and most codes do it).
  acquire  batch 16 of 256x256 images with per-sample 31x31 PSFs: valid blur by rfft2 at the image size,
           Poisson-Gaussian noise (per-sample gain and sigma), 16-bit quantization.
Prints {"figure", "samples_ms"}: milliseconds per call (per batch). 2 threads, or a request's "threads"
(bench/optics.ts sends psfid's engine thread count). Development tool only (Debian python3-torch), never a runtime dependency of psfid.
"""
import json
import math
import sys

import torch

from ref_server import serve, time_calls

torch.set_num_threads(2)

P, S, FC, BATCH_PSF = 256, 31, 0.25, 64
BATCH_IMAGES, SIDE = 16, 256


def zernike_basis(fc):
    """Noll 4-11 on the FFT grid (k - P//2)/P, normalised coordinates f/fc, theta = atan2(y, x), y = rows."""
    f = (torch.arange(P, dtype=torch.float64) - P // 2) / P
    fy, fx = torch.meshgrid(f, f, indexing="ij")
    u, v = fx / fc, fy / fc
    r, t = torch.hypot(u, v), torch.atan2(v, u)
    modes = [
        math.sqrt(3) * (2 * r**2 - 1),
        math.sqrt(6) * r**2 * torch.sin(2 * t),
        math.sqrt(6) * r**2 * torch.cos(2 * t),
        math.sqrt(8) * (3 * r**3 - 2 * r) * torch.sin(t),
        math.sqrt(8) * (3 * r**3 - 2 * r) * torch.cos(t),
        math.sqrt(8) * r**3 * torch.sin(3 * t),
        math.sqrt(8) * r**3 * torch.cos(3 * t),
        math.sqrt(5) * (6 * r**4 - 6 * r**2 + 1),
    ]
    aperture = (r <= 1).to(torch.float32)
    return torch.stack(modes).to(torch.float32), aperture


def psf_fn():
    g = torch.Generator().manual_seed(0)
    basis, aperture = zernike_basis(FC)
    theta = (torch.rand((BATCH_PSF, 8), generator=g) * 2 - 1) * 0.15
    c, h = P // 2, S // 2

    def step():
        phase = torch.einsum("bk,kij->bij", theta, basis)
        pupil = aperture * torch.exp(-2j * math.pi * phase)
        a = torch.fft.fftshift(torch.fft.fft2(torch.fft.ifftshift(pupil, dim=(-2, -1))), dim=(-2, -1))
        psf = (a.real**2 + a.imag**2)[:, c - h : c + h + 1, c - h : c + h + 1]
        return psf / psf.sum(dim=(-2, -1), keepdim=True)

    return step


def acquire_fn():
    g = torch.Generator().manual_seed(0)
    x = torch.rand((BATCH_IMAGES, 1, SIDE, SIDE), generator=g)
    psf = torch.rand((BATCH_IMAGES, S, S), generator=g)
    psf = psf / psf.sum(dim=(-2, -1), keepdim=True)
    gain = torch.rand((BATCH_IMAGES, 1, 1, 1), generator=g) * 0.02 + 1e-3
    sigma = torch.rand((BATCH_IMAGES, 1, 1, 1), generator=g) * 0.02
    levels = 2**16 - 1

    def step():
        spectrum = torch.fft.rfft2(x) * torch.fft.rfft2(psf, s=(SIDE, SIDE)).unsqueeze(1)
        y0 = torch.fft.irfft2(spectrum, s=(SIDE, SIDE))[..., S - 1 :, S - 1 :]
        y = torch.poisson(y0.clamp(min=0) / gain, generator=g) * gain
        y = y + sigma * torch.randn(y.shape, generator=g)
        return torch.round(y.clamp(0, 1) * levels) / levels

    return step


FIGURES = {"psf": psf_fn, "acquire": acquire_fn}


def measure(fn, warmup, repeats):
    with torch.no_grad():
        return time_calls(fn, warmup, repeats)


def handle(req, built):
    """One request {"figure", "warmup", "repeats", "threads"?} -> {"figure", "samples_ms"}."""
    figure = req["figure"]
    if figure not in FIGURES:
        raise ValueError(f"unknown figure {figure!r}; known: {', '.join(FIGURES)}")
    if figure not in built:
        built[figure] = FIGURES[figure]()
    if req.get("threads"):
        torch.set_num_threads(int(req["threads"]))
    return {"figure": figure, "samples_ms": measure(built[figure], int(req["warmup"]), int(req["repeats"]))}


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "serve":
        serve(handle)
        return
    if len(sys.argv) != 4 or sys.argv[1] not in FIGURES:
        sys.exit(f"usage: optics_ref.py serve | optics_ref.py {{{','.join(FIGURES)}}} WARMUP REPEATS")
    figure, warmup, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps({"figure": figure, "samples_ms": measure(FIGURES[figure](), warmup, repeats)}))


if __name__ == "__main__":
    main()
