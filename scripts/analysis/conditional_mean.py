"""Least-squares PSF estimators on the samples written by conditional-mean.mjs; prints held-out PSNR(h_hat) in dB."""
import sys
import numpy as np

folder = sys.argv[1]
F = np.fromfile(f"{folder}/features.f32", np.float32).reshape(-1, 256).astype(np.float64)
H = np.fromfile(f"{folder}/psfs.f32", np.float32).reshape(len(F), -1).astype(np.float64)
C = np.fromfile(f"{folder}/cond.f32", np.float32).reshape(-1, 2).astype(np.float64)
n = len(F)
train = int(0.75 * n)
c0, c1 = (C[:, 0] - 0.1875) / 0.0625, (C[:, 1] - 0.085) / 0.065
poly = np.stack([np.ones(n), c0, c1, c0 * c1, c0**2, c1**2, c0**2 * c1, c0 * c1**2, c0**3, c1**3], 1)
Fz = (F - F[:train].mean(0)) / (F[:train].std(0) + 1e-6)


def psnr(est, true):
    return 10 * np.log10(true.max(1) ** 2 / ((est - true) ** 2).mean(1))


def held_out(X, lam):
    W = np.linalg.solve(X[:train].T @ X[:train] + lam * np.eye(X.shape[1]), X[:train].T @ H[:train])
    return psnr(X[train:] @ W, H[train:]).mean()


print(f"{n} samples ({train} fit, {n - train} held out)")
print("(a) cubic polynomial in (fc, θmax), no image:   %.2f dB" % max(held_out(poly, lam) for lam in (1e-3, 1e-1, 10)))
X = np.concatenate([poly, Fz, Fz * c0[:, None], Fz * c1[:, None]], 1)
for lam in (10, 100, 1000):
    print("(b) (a) + log power spectrum of y, ridge %5g: %.2f dB" % (lam, held_out(X, lam)))
