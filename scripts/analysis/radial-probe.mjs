// Is the amount of each aberration in the radial log-spectrum profile (radialBins, src/model/radial.ts)? A linear
// probe: ridge regression of |θ_j|/θmax on [profile, profile², fc, θmax] fitted on the first half of a checkpoint's
// validation draws, Pearson correlation on the second half, per Noll mode; beside it, the network's own |θ̂|–|θ|
// correlation on the same second half. Usage: node scripts/analysis/radial-probe.mjs CHECKPOINT [n] [source] [prior JSON] [bins] [crop side]
import { fft2, fftshift, noGrad, tensor, tidy } from '../../dist/src/engine/index.js';
import { radialLogProfile } from '../../dist/src/model/radial.js';
import { ZERNIKE_HEAD_NOLL } from '../../dist/src/model/identifier.js';
import { pearson, validationRun } from './validation-run.mjs';
const bins = Number(process.argv[6] ?? 24);
const { step, model, synth, set } = validationRun(process.argv[2], process.argv[3], process.argv[4], process.argv[5], process.argv[7]);
const K = synth.prior.zernikeNoll.length;
const rows = []; // { x: features, t: |θ|/θmax per mode, net: |θ̂|/θmax per mode }
for (const b of set.batches) tidy(() => noGrad(() => {
  const [B, , H] = b.y.shape;
  const n = 64;
  const tiles = Math.floor(H / n);
  // the network's own input normalisation ('range') and periodogram (Hann tiles, mean of logs, fftshifted)
  const y = b.y.narrow(2, 0, tiles * n).narrow(3, 0, tiles * n);
  const yn = y.sub(y.mean([2, 3], true)).div(y.amax([2, 3], true).sub(y.amin([2, 3], true)).add(1e-6));
  const w1 = Float32Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
  const win = tensor(Float32Array.from({ length: n * n }, (_, k) => w1[Math.floor(k / n)] * w1[k % n]), [1, 1, n, n]);
  const t = yn.reshape([B, tiles, n, tiles, n]).permute([0, 1, 3, 2, 4]).reshape([B * tiles * tiles, 1, n, n]);
  const power = fft2(t.mul(win)).abs().square().div(n * n);
  const logSpec = fftshift(power.add(1e-3).log().reshape([B, tiles * tiles, n, n]).mean(1, true));
  const prof = radialLogProfile(logSpec, b.fc, bins).toArray();
  const { theta } = model.identifyDetailed(b.y, b.fc, b.thetaMax);
  const th = theta.toArray(), tt = b.theta.toArray(), tm = b.thetaMax.toArray(), fc = b.fc.toArray();
  for (let i = 0; i < B; i++) {
    const p = prof.slice(i * bins, (i + 1) * bins);
    const m = p.reduce((a, v) => a + v, 0) / bins;
    const c = p.map((v) => v - m);
    rows.push({
      x: [1, ...c, ...c.map((v) => v * v), (fc[i] - 0.1875) / 0.0625, (tm[i] - 0.085) / 0.065],
      t: ZERNIKE_HEAD_NOLL.map((j) => Math.abs(tt[i * K + synth.prior.zernikeNoll.indexOf(j)] ?? 0) / tm[i]),
      net: ZERNIKE_HEAD_NOLL.map((_, k) => Math.abs(th[i * 8 + k]) / tm[i]),
    });
  }
}));
// Ridge regression (λ = 1e-2 · trace/d), solved by Gaussian elimination on the normal equations.
function ridge(X, y) {
  const d = X[0].length;
  const A = Array.from({ length: d }, () => new Float64Array(d)), r = new Float64Array(d);
  for (let i = 0; i < X.length; i++) for (let a = 0; a < d; a++) { r[a] += X[i][a] * y[i]; for (let c = 0; c < d; c++) A[a][c] += X[i][a] * X[i][c]; }
  let tr = 0; for (let a = 0; a < d; a++) tr += A[a][a];
  for (let a = 1; a < d; a++) A[a][a] += (1e-2 * tr) / d;
  for (let col = 0; col < d; col++) {
    let piv = col; for (let q = col + 1; q < d; q++) if (Math.abs(A[q][col]) > Math.abs(A[piv][col])) piv = q;
    [A[col], A[piv]] = [A[piv], A[col]]; [r[col], r[piv]] = [r[piv], r[col]];
    for (let q = col + 1; q < d; q++) { const f = A[q][col] / A[col][col]; for (let c = col; c < d; c++) A[q][c] -= f * A[col][c]; r[q] -= f * r[col]; }
  }
  const w = new Float64Array(d);
  for (let a = d - 1; a >= 0; a--) { let s = r[a]; for (let c = a + 1; c < d; c++) s -= A[a][c] * w[c]; w[a] = s / A[a][a]; }
  return w;
}
const half = Math.floor(rows.length / 2), fit = rows.slice(0, half), test = rows.slice(half);
const probe = [], net = [];
ZERNIKE_HEAD_NOLL.forEach((j, k) => {
  const w = ridge(fit.map((r) => r.x), fit.map((r) => r.t[k]));
  const pred = test.map((r) => r.x.reduce((a, v, i) => a + v * w[i], 0));
  probe.push(`${j}:${pearson(pred, test.map((r) => r.t[k])).toFixed(2)}`);
  net.push(`${j}:${pearson(test.map((r) => r.net[k]), test.map((r) => r.t[k])).toFixed(2)}`);
});
console.log(`step ${step}, ${bins} bins, fitted on ${fit.length}, tested on ${test.length}`);
console.log(`radial profile probe, corr with |θ|: ${probe.join(' ')}`);
console.log(`network |θ̂|, corr with |θ|:        ${net.join(' ')}`);
