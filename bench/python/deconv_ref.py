"""scikit-image reference for bench/deconv.ts: Richardson–Lucy on the same problem size, timed the same way.

Usage: python3 deconv_ref.py rl SIZE PSF_SIZE ITERATIONS WARMUP REPEATS [THREADS]
Runs skimage.restoration.richardson_lucy(image, psf, num_iter=ITERATIONS, clip=False) on a SIZE × SIZE float32 image
(uniform in [0.1, 1.1), seed 0) with a PSF_SIZE × PSF_SIZE Gaussian PSF (σ = PSF_SIZE / 8, sum 1), WARMUP untimed
calls then REPEATS timed ones. Prints one JSON line {"figure", "samples_ms"}: milliseconds per iteration of each timed
call (the call's duration / ITERATIONS). skimage 0.19 convolves with scipy.signal.convolve, i.e. scipy.fft's
pocketfft; THREADS (default 1, the bench passes psfid's engine thread count) is given to scipy.fft.set_workers so
that both sides may use as many threads (numpy's elementwise work is single-threaded either way).
Development tool only (Debian python3-skimage), never a runtime dependency of psfid.
"""
import json
import sys

import numpy as np
from scipy import fft as sp_fft
from skimage.restoration import richardson_lucy

from ref_server import time_calls


def gaussian_psf(s):
    c = s // 2
    sigma = s / 8
    i = np.arange(s) - c
    h = np.exp(-(i[:, None] ** 2 + i[None, :] ** 2) / (2 * sigma * sigma))
    return (h / h.sum()).astype(np.float32)


def main():
    if len(sys.argv) not in (7, 8) or sys.argv[1] != "rl":
        sys.exit("usage: deconv_ref.py rl SIZE PSF_SIZE ITERATIONS WARMUP REPEATS [THREADS]")
    size, psf_size, iterations, warmup, repeats = (int(a) for a in sys.argv[2:7])
    threads = int(sys.argv[7]) if len(sys.argv) == 8 else 1
    image = (np.random.default_rng(0).random((size, size), dtype=np.float32) + np.float32(0.1)).astype(np.float32)
    psf = gaussian_psf(psf_size)

    def step():
        with sp_fft.set_workers(threads):
            out = richardson_lucy(image, psf, num_iter=iterations, clip=False)
        assert out.dtype == np.float32

    samples = [ms / iterations for ms in time_calls(step, warmup, repeats)]
    print(json.dumps({"figure": "rl", "samples_ms": samples}))


if __name__ == "__main__":
    main()
