// Blur operators for deconvolution: y = A x with A a true convolution by a PSF h (uniform) or by a partition-of-unity
// blend of PSFs (spatially varying), applied with real FFTs on a padded grid, with an exact adjoint Aᵀ.
//
// Conventions (CONVENTIONS.md): images are [B, 1, H, W] (row = y, column = x); a PSF h is [S, S] (or [Sh, Sw]) with
// its optical axis at index ⌊S/2⌋ and Σh = 1; convolution is true convolution,
//     (h ⋆ x)[i] = Σ_k h[k] · x[i − k + ⌊S/2⌋]        (per axis),
// so a PSF shifted right moves the image right. The adjoint is correlation with h, i.e. convolution with the flipped
// PSF h̃[k] = h[S − 1 − k].
//
// Boundaries. A microscope image is a window onto a larger scene, not one period of a periodic one, so a plain
// circular FFT convolution wraps the right edge into the left and makes deconvolution ring. Four models:
//   'masked'   (default for Richardson–Lucy) — the scene x lives on the extended domain of (H + S − 1) × (W + S − 1)
//              pixels, all of whose pixels reach the observed window through the PSF; the data are the H × W pixels
//              of the 'valid' convolution. Nothing is assumed about the scene beyond the border: the forward model is
//              exact, and Richardson–Lucy on it is the boundary-adapted RL of Bertero & Boccacci (2005), which keeps
//              flux and does not ring. Only iterative methods can use it.
//   'reflect'  (default for Wiener) — the image is extended by mirror reflection by ≥ 1.5·S pixels per side, and the
//              extension is tapered to the image mean with a raised cosine, so that its periodic continuation is
//              smooth; deconvolution is circular on that padded grid, then cropped. An approximation, good for
//              closed-form filters.
//   'zero'     — the scene is zero outside the window ("same"-size convolution with zero padding, as
//              scipy.signal.convolve(mode='same') and scikit-image's richardson_lucy): for comparison with them;
//              the border is wrong (the scene is not dark beyond it) and the estimate rings there.
//   'circular' — periodic: the FFT's own model, exact only for periodic images.
// The FFT grid is the smallest 2^a·3^b·5^c·7^d size that holds the linear convolution without wrap-around.
import { full, irfft2, keep, rfft2, tensor, tidy, type Tensor } from '../engine/index.js';
import { inputError, usageError } from '../errors.js';

export type Boundary = 'masked' | 'reflect' | 'zero' | 'circular';
export const BOUNDARIES: readonly Boundary[] = ['masked', 'reflect', 'zero', 'circular'];

/** Smallest n' ≥ n whose only prime factors are 2, 3, 5 and 7 (fast FFT sizes), and even when n > 1. */
export function fastFftSize(n: number): number {
  if (n <= 1) return 1;
  for (let m = n + (n % 2); ; m += 2) {
    let r = m;
    for (const p of [2, 3, 5, 7]) while (r % p === 0) r /= p;
    if (r === 1) return m;
  }
}

/** The domains of one axis: object (what A takes), data (what A gives), FFT grid, and where image pixel 0 lies. */
interface Axis {
  object: number;
  data: number;
  fft: number;
  objectOrigin: number;
  dataOrigin: number;
}

function axis(boundary: Boundary, n: number, s: number, what: string): Axis {
  switch (boundary) {
    case 'circular':
      if (s > n) throw usageError('boundary', `boundary 'circular' needs a PSF no larger than the image; the PSF has ${s} ${what} and the image ${n}. Use boundary 'masked' or 'reflect'.`);
      return { object: n, data: n, fft: n, objectOrigin: 0, dataOrigin: 0 };
    case 'zero':
      return { object: n, data: n, fft: fastFftSize(n + s - 1), objectOrigin: 0, dataOrigin: 0 };
    case 'masked':
      return { object: n + s - 1, data: n, fft: fastFftSize(n + s - 1), objectOrigin: s - 1 - Math.floor(s / 2), dataOrigin: 0 };
    case 'reflect': {
      const fft = fastFftSize(n + 2 * (s + Math.ceil(s / 2)));
      const before = Math.floor((fft - n) / 2);
      return { object: fft, data: fft, fft, objectOrigin: before, dataOrigin: before };
    }
  }
}

/** Geometry of a blur operator on an H × W image with an Sh × Sw PSF. */
export interface BlurGeometry {
  readonly boundary: Boundary;
  /** Image size [H, W]. */
  readonly image: [number, number];
  /** Object (scene) domain [rows, cols]: what forward() takes and adjoint() returns. */
  readonly object: [number, number];
  /** Data domain [rows, cols]: what forward() returns and adjoint() takes. */
  readonly data: [number, number];
  /** FFT grid [rows, cols]. */
  readonly fft: [number, number];
  /** Where image pixel (0, 0) lies in the object domain, [row, col]. */
  readonly objectOrigin: [number, number];
  /** Where image pixel (0, 0) lies in the data domain, [row, col]. */
  readonly dataOrigin: [number, number];
}

export function blurGeometry(boundary: Boundary, image: [number, number], psfSize: [number, number]): BlurGeometry {
  const r = axis(boundary, image[0], psfSize[0], 'rows');
  const c = axis(boundary, image[1], psfSize[1], 'columns');
  return {
    boundary,
    image,
    object: [r.object, c.object],
    data: [r.data, c.data],
    fft: [r.fft, c.fft],
    objectOrigin: [r.objectOrigin, c.objectOrigin],
    dataOrigin: [r.dataOrigin, c.dataOrigin],
  };
}

/**
 * Spectrum (rfft2 on the grid) of the kernel K with (K ⊛ x)[i] = Σ_k h[k]·x[i − k + shift] (circular), i.e. h
 * zero-padded to the grid and rolled by −shift. h: [..., Sh, Sw] → complex [..., Fh, Fw/2 + 1].
 */
export function kernelSpectrum(h: Tensor, fft: [number, number], shift: [number, number]): Tensor {
  return tidy(() => {
    const sh = h.size(-2);
    const sw = h.size(-1);
    const padded = h.pad([0, fft[1] - sw, 0, fft[0] - sh]);
    return rfft2(padded.roll([-shift[0], -shift[1]], [-2, -1]));
  });
}

/** The kernel shift that maps object pixels to data pixels: ⌊S/2⌋ + objectOrigin − dataOrigin per axis. */
function kernelShift(g: BlurGeometry, psfSize: [number, number]): [number, number] {
  return [
    Math.floor(psfSize[0] / 2) + g.objectOrigin[0] - g.dataOrigin[0],
    Math.floor(psfSize[1] / 2) + g.objectOrigin[1] - g.dataOrigin[1],
  ];
}

/**
 * A linear blur operator A (object domain → data domain) with its adjoint, plus the maps between the image and the
 * two domains. Tensors are [B, 1, rows, cols]. Holds native memory: call dispose().
 *
 * Internally both domains sit at the origin of the FFT grid (object pixel j at grid index j, data pixel i at grid
 * index i), and A is the circular convolution on the grid followed by the crop to the data domain: the grid is large
 * enough that no wrap-around reaches the data. Iterative methods work on whole grids (forwardGrid/adjointGrid) and
 * keep their estimate zero outside the object domain, which avoids a pad and a crop per application.
 */
export interface BlurOperator extends BlurGeometry {
  /** A x: x [B, 1, object rows, object cols] → [B, 1, data rows, data cols]. */
  forward(x: Tensor): Tensor;
  /** Aᵀ y: y [B, 1, data rows, data cols] → [B, 1, object rows, object cols]. */
  adjoint(y: Tensor): Tensor;
  /** The circular blur on the FFT grid: [B, 1, Fh, Fw] → [B, 1, Fh, Fw] (A = crop ∘ forwardGrid ∘ zero-pad). */
  forwardGrid(x: Tensor): Tensor;
  /** Its adjoint on the FFT grid (Aᵀ = crop ∘ adjointGrid ∘ zero-pad). */
  adjointGrid(y: Tensor): Tensor;
  /**
   * Aᵀ1 on the FFT grid, [1 or B, 1, Fh, Fw]: the total PSF weight that each object pixel puts on the data domain
   * (Σh in the interior; less near a 'masked' border). What boundary-adapted Richardson–Lucy divides by.
   */
  adjointOnes(): Tensor;
  /** Zero-pads a [B, 1, rows, cols] tensor at the grid origin to the FFT grid. */
  toGrid(t: Tensor): Tensor;
  /** The observed image [B, 1, H, W] on the data domain ('reflect': padded and apodised; otherwise itself). */
  toData(image: Tensor): Tensor;
  /** The image window [B, 1, H, W] of an object-domain (or grid) tensor (a view). */
  toImage(x: Tensor): Tensor;
  dispose(): void;
}

abstract class BaseOperator implements BlurOperator {
  readonly boundary: Boundary;
  readonly image: [number, number];
  readonly object: [number, number];
  readonly data: [number, number];
  readonly fft: [number, number];
  readonly objectOrigin: [number, number];
  readonly dataOrigin: [number, number];

  constructor(g: BlurGeometry) {
    this.boundary = g.boundary;
    this.image = g.image;
    this.object = g.object;
    this.data = g.data;
    this.fft = g.fft;
    this.objectOrigin = g.objectOrigin;
    this.dataOrigin = g.dataOrigin;
  }

  abstract forwardGrid(x: Tensor): Tensor;
  abstract adjointGrid(y: Tensor): Tensor;
  abstract adjointOnes(): Tensor;
  abstract dispose(): void;

  protected checkShape(t: Tensor, want: [number, number], what: string): void {
    if (t.ndim !== 4 || t.size(1) !== 1 || t.size(2) !== want[0] || t.size(3) !== want[1]) {
      throw new TypeError(`BlurOperator.${what}: expected [B, 1, ${want[0]}, ${want[1]}], got [${t.shape.join(', ')}]`);
    }
  }

  forward(x: Tensor): Tensor {
    this.checkShape(x, this.object, 'forward');
    return tidy(() => crop(this.forwardGrid(this.toGrid(x)), this.data));
  }

  adjoint(y: Tensor): Tensor {
    this.checkShape(y, this.data, 'adjoint');
    return tidy(() => crop(this.adjointGrid(this.toGrid(y)), this.object));
  }

  toGrid(t: Tensor): Tensor {
    const rows = t.size(-2);
    const cols = t.size(-1);
    if (rows === this.fft[0] && cols === this.fft[1]) return t;
    return t.pad([0, this.fft[1] - cols, 0, this.fft[0] - rows]);
  }

  toData(image: Tensor): Tensor {
    this.checkShape(image, this.image, 'toData');
    if (this.boundary !== 'reflect') return image;
    return padApodised(image, this.dataOrigin, this.data);
  }

  toImage(x: Tensor): Tensor {
    const [r, c] = this.objectOrigin;
    if (r === 0 && c === 0 && x.size(-2) === this.image[0] && x.size(-1) === this.image[1]) return x;
    return x.narrow(2, r, this.image[0]).narrow(3, c, this.image[1]);
  }
}

/** The [0, rows) × [0, cols) corner of a grid tensor (a view), or the tensor itself when it is that size. */
function crop(t: Tensor, size: [number, number]): Tensor {
  if (t.size(-2) === size[0] && t.size(-1) === size[1]) return t;
  return t.narrow(-2, 0, size[0]).narrow(-1, 0, size[1]);
}

/** a · b, in place into a (a fresh temporary) when the broadcast shape is a's. */
function times(a: Tensor, b: Tensor): Tensor {
  return a.size(0) >= b.size(0) ? a.mul_(b) : a.mul(b);
}

/** A uniform blur: also exposes the kernel's spectrum on the FFT grid. */
export interface UniformBlurOperator extends BlurOperator {
  /** Spectrum (rfft2) of the kernel on the grid, complex [1|B, 1, Fh, Fw/2 + 1]; owned by the operator. */
  readonly otf: Tensor;
}

/** A = convolution by one PSF h ([1, 1, S, S] or [B, 1, S, S] for one per image), with the given boundary model. */
class UniformBlur extends BaseOperator implements UniformBlurOperator {
  readonly #psf: Tensor;
  readonly #otf: Tensor;
  readonly #otfConj: Tensor;

  constructor(h: Tensor, g: BlurGeometry) {
    super(g);
    const psfSize: [number, number] = [h.size(-2), h.size(-1)];
    this.#psf = keep(h.clone());
    this.#otf = keep(kernelSpectrum(h, this.fft, kernelShift(g, psfSize)));
    this.#otfConj = keep(tidy(() => this.#otf.conj()));
  }

  get otf(): Tensor {
    return this.#otf;
  }

  forwardGrid(x: Tensor): Tensor {
    return tidy(() => irfft2(times(rfft2(x), this.#otf), this.fft));
  }

  adjointGrid(y: Tensor): Tensor {
    return tidy(() => irfft2(times(rfft2(y), this.#otfConj), this.fft));
  }

  /**
   * Exact, without FFTs: (Aᵀ1)[r, c] = Σ_k Σ_l h[k, l]·Mr[r, k]·Mc[c, l] = (Mr · h · Mcᵀ)[r, c], with M the per-axis
   * 0/1 reach matrices (see reachMatrix), in float64. Two FFTs fewer per call than adjointGrid of a padded 1.
   */
  adjointOnes(): Tensor {
    return tidy(() => {
      const h = this.#psf;
      const [sh, sw] = [h.size(-2), h.size(-1)];
      const shift = kernelShift(this, [sh, sw]);
      const opts = { dtype: 'float64' as const, device: h.device };
      const mr = tensor(reachMatrix(this.fft[0], this.data[0], sh, shift[0]), [this.fft[0], sh], opts);
      const mc = tensor(reachMatrix(this.fft[1], this.data[1], sw, shift[1]), [this.fft[1], sw], opts);
      return mr.matmul(h.double()).matmul(mc.transpose(0, 1)).to({ dtype: h.dtype });
    });
  }

  dispose(): void {
    this.#psf.free();
    this.#otf.free();
    this.#otfConj.free();
  }
}

/**
 * The F × S matrix M with M[j, k] = 1 when kernel tap k links grid pixel j to a data pixel: the adjoint on the grid
 * is (Aᵀy)[j] = Σ_k h[k]·y[(j + k − shift) mod F], and y is zero outside [0, data).
 */
function reachMatrix(fft: number, data: number, s: number, shift: number): Float64Array {
  const m = new Float64Array(fft * s);
  for (let j = 0; j < fft; j++) {
    for (let k = 0; k < s; k++) {
      const i = (((j + k - shift) % fft) + fft) % fft;
      if (i < data) m[j * s + k] = 1;
    }
  }
  return m;
}

/** A PSF grid: one PSF per tile of an nx × ny lattice (as identifyGrid returns it). */
export interface PsfGridSpec {
  /** [ny·nx, S, S], row-major over tiles: index = ty·nx + tx. Each PSF sums to 1, centred at ⌊S/2⌋. */
  readonly psfs: Tensor;
  /**
   * Tile centres [x, y] in pixel coordinates, x along columns, y along rows, in the order of `psfs`; pixel (r, c)
   * covers [c, c + 1) × [r, r + 1), so its centre is at (c + 0.5, r + 0.5). The centres must form a lattice:
   * one x per tile column, one y per tile row, increasing.
   */
  readonly centres: readonly (readonly [number, number])[];
  /** [nx, ny]: tiles along x (columns) and y (rows). */
  readonly tiles: readonly [number, number];
}

/** The lattice of a PSF grid: its tile-column x's and tile-row y's (validated). */
export function gridLattice(fn: string, grid: PsfGridSpec): { xs: number[]; ys: number[] } {
  const [nx, ny] = grid.tiles;
  if (!(Number.isInteger(nx) && Number.isInteger(ny) && nx >= 1 && ny >= 1)) {
    throw inputError('grid', `${fn}: grid.tiles must be two positive integers [nx, ny], got [${grid.tiles.join(', ')}]`);
  }
  if (grid.centres.length !== nx * ny) {
    throw inputError('grid', `${fn}: grid.centres has ${grid.centres.length} entries, expected nx·ny = ${nx}·${ny} = ${nx * ny}`);
  }
  const xs = Array.from({ length: nx }, (_, tx) => grid.centres[tx]![0]);
  const ys = Array.from({ length: ny }, (_, ty) => grid.centres[ty * nx]![1]);
  for (let ty = 0; ty < ny; ty++) {
    for (let tx = 0; tx < nx; tx++) {
      const [x, y] = grid.centres[ty * nx + tx]!;
      if (!(Number.isFinite(x) && Number.isFinite(y)) || Math.abs(x - xs[tx]!) > 1e-3 || Math.abs(y - ys[ty]!) > 1e-3) {
        throw inputError(
          'grid',
          `${fn}: grid.centres must form a lattice (row-major, index ty·nx + tx, one x per tile column and one y per tile row); centre ${ty * nx + tx} is [${x}, ${y}], expected [${xs[tx]}, ${ys[ty]}]`,
        );
      }
    }
  }
  for (const [name, v] of [['x', xs], ['y', ys]] as const) {
    for (let i = 1; i < v.length; i++) {
      if (!(v[i]! > v[i - 1]!)) throw inputError('grid', `${fn}: grid centre ${name} coordinates must increase along the lattice, got ${v.join(', ')}`);
    }
  }
  return { xs, ys };
}

/**
 * 1-D piecewise-linear ("hat") weights over the centres `cs` for `len` samples whose pixel centres lie at
 * coordinates j − origin + 0.5: [cs.length × len], row-major. They sum to 1 at every sample; beyond the outer
 * centres the outer weight is 1 (constant extrapolation).
 */
export function hatWeights(cs: readonly number[], len: number, origin: number): Float64Array {
  const n = cs.length;
  const w = new Float64Array(n * len);
  for (let j = 0; j < len; j++) {
    const p = j - origin + 0.5;
    if (n === 1 || p <= cs[0]!) w[j] = 1;
    else if (p >= cs[n - 1]!) w[(n - 1) * len + j] = 1;
    else {
      let k = 0;
      while (p >= cs[k + 1]!) k++;
      const t = (p - cs[k]!) / (cs[k + 1]! - cs[k]!);
      w[k * len + j] = 1 - t;
      w[(k + 1) * len + j] = t;
    }
  }
  return w;
}

/**
 * Spatially varying blur, the PSF-interpolation model of Nagy & O'Leary (1998): A x = Σ_k h_k ⋆ (w_k · x), with
 * w_k(r, c) = wy_ty(r)·wx_tx(c) bilinear hat weights over the lattice of tile centres (a partition of unity), so the
 * PSF seen at a point is the bilinear interpolation of the neighbouring tiles' PSFs. Aᵀ y = Σ_k w_k · (h̃_k ⋆ y).
 * Cost: T + 1 FFTs per application for T tiles. The PSFs are applied one at a time (summing spectra for A, images
 * for Aᵀ) rather than as one [T, …] batch, so that the temporaries are one grid each instead of T.
 */
class GridBlur extends BaseOperator {
  readonly #otf: Tensor;
  readonly #weights: Tensor;

  constructor(psfs: Tensor, lattice: { xs: number[]; ys: number[] }, g: BlurGeometry) {
    super(g);
    const psfSize: [number, number] = [psfs.size(-2), psfs.size(-1)];
    const nx = lattice.xs.length;
    const ny = lattice.ys.length;
    const dtype = psfs.dtype === 'float64' ? 'float64' : 'float32';
    const device = psfs.device;
    const [fh, fw] = this.fft;
    // Weights over the whole grid (grid index j = object index j); only the object domain matters.
    this.#weights = keep(
      tidy(() => {
        const wy = tensor(hatWeights(lattice.ys, fh, this.objectOrigin[0]), [ny, 1, fh, 1], { dtype, device });
        const wx = tensor(hatWeights(lattice.xs, fw, this.objectOrigin[1]), [1, nx, 1, fw], { dtype, device });
        return wy.mul(wx).reshape([1, ny * nx, fh, fw]);
      }),
    );
    this.#otf = keep(tidy(() => kernelSpectrum(psfs.reshape([1, ny * nx, psfSize[0], psfSize[1]]), this.fft, kernelShift(g, psfSize))));
  }

  /** Partition-of-unity weights [1, T, Fh, Fw] on the grid; owned by the operator. */
  get weights(): Tensor {
    return this.#weights;
  }

  get #tiles(): number {
    return this.#weights.size(1);
  }

  forwardGrid(x: Tensor): Tensor {
    return tidy(() => {
      let spectrum: Tensor | null = null;
      for (let k = 0; k < this.#tiles; k++) {
        const term = tidy(() => rfft2(x.mul(this.#weights.narrow(1, k, 1))).mul_(this.#otf.narrow(1, k, 1)));
        spectrum = spectrum ? spectrum.add_(term) : term;
      }
      return irfft2(spectrum!, this.fft);
    });
  }

  adjointGrid(y: Tensor): Tensor {
    return tidy(() => {
      const spectrum = rfft2(y);
      let out: Tensor | null = null;
      for (let k = 0; k < this.#tiles; k++) {
        const term = tidy(() => irfft2(spectrum.mul(this.#otf.narrow(1, k, 1).conj()), this.fft).mul_(this.#weights.narrow(1, k, 1)));
        out = out ? out.add_(term) : term;
      }
      return out!;
    });
  }

  adjointOnes(): Tensor {
    return tidy(() => this.adjointGrid(this.toGrid(full([1, 1, this.data[0], this.data[1]], 1, { dtype: this.#weights.dtype, device: this.#weights.device }))));
  }

  dispose(): void {
    this.#otf.free();
    this.#weights.free();
  }
}

export interface OperatorOptions {
  boundary?: Boundary;
}

/**
 * The convolution operator of a validated PSF h ([1, 1, Sh, Sw], or [B, 1, Sh, Sw] for one PSF per image) for
 * H × W images. The PSF's dtype and device are the operator's.
 */
export function uniformBlur(h: Tensor, image: [number, number], o: OperatorOptions = {}): UniformBlurOperator {
  const g = blurGeometry(o.boundary ?? 'masked', image, [h.size(-2), h.size(-1)]);
  return new UniformBlur(h, g);
}

/** The spatially varying operator of a validated PSF grid (psfs [T, Sh, Sw] in the working dtype and device). */
export function gridBlur(psfs: Tensor, lattice: { xs: number[]; ys: number[] }, image: [number, number], o: OperatorOptions = {}): BlurOperator {
  const g = blurGeometry(o.boundary ?? 'masked', image, [psfs.size(-2), psfs.size(-1)]);
  return new GridBlur(psfs, lattice, g);
}

// ---------------------------------------------------------------------------------------------------------------
// Reflect padding with apodisation
// ---------------------------------------------------------------------------------------------------------------

/** Mirror padding ([left, right, top, bottom]) of any width: reflects repeatedly when a margin exceeds the size. */
export function reflectPad(x: Tensor, pad: [number, number, number, number]): Tensor {
  return tidy(() => {
    let out = x;
    let [l, r, t, b] = pad;
    while (l > 0 || r > 0 || t > 0 || b > 0) {
      const h = out.size(-2);
      const w = out.size(-1);
      if (h === 1 || w === 1) {
        // Nothing to mirror along a single row/column: repeat it.
        const rowsOrCols: [number, number, number, number] = [w === 1 ? l : 0, w === 1 ? r : 0, h === 1 ? t : 0, h === 1 ? b : 0];
        out = out.pad(rowsOrCols, 'replicate');
        if (w === 1) l = r = 0;
        if (h === 1) t = b = 0;
        continue;
      }
      const step: [number, number, number, number] = [Math.min(l, w - 1), Math.min(r, w - 1), Math.min(t, h - 1), Math.min(b, h - 1)];
      out = out.pad(step, 'reflect');
      l -= step[0];
      r -= step[1];
      t -= step[2];
      b -= step[3];
    }
    return out;
  });
}

/**
 * 1-D taper over a padded axis of `size` samples holding the image at [before, before + n): 1 on the image and for
 * ⌈flat⌉ samples beyond each edge, then a raised cosine down to 0 at the middle of the (wrapped) gap between the
 * image's two edges, so that the periodic continuation of the tapered signal is smooth.
 */
function taper1d(size: number, before: number, n: number, flat: number): Float64Array {
  const t = new Float64Array(size);
  const gap = size - n;
  for (let i = 0; i < size; i++) {
    // Distance from the image along the wrapped gap, from its nearer edge.
    const after = (i - (before + n) + 1 + size) % size; // 1.. past the last image sample
    const below = (before - i + size) % size; // 1.. before the first image sample
    if (i >= before && i < before + n) {
      t[i] = 1;
      continue;
    }
    const d = Math.min(after, below);
    const half = gap / 2;
    if (d <= flat) t[i] = 1;
    else {
      const u = Math.min(1, (d - flat) / Math.max(half - flat, 1e-9));
      t[i] = 0.5 * (1 + Math.cos(Math.PI * u));
    }
  }
  return t;
}

/**
 * The image [B, 1, H, W] mirrored out to `size` with the image at `origin`, and the extension blended to the image's
 * mean by a separable taper (flat for ⌈S/2⌉-ish samples, then a raised cosine), so that the periodic continuation is
 * smooth: x_pad = m + (mirror(x) − m)·τ_rows·τ_cols with m the per-image mean.
 */
export function padApodised(image: Tensor, origin: [number, number], size: [number, number]): Tensor {
  return tidy(() => {
    const h = image.size(2);
    const w = image.size(3);
    const mirrored = reflectPad(image, [origin[1], size[1] - w - origin[1], origin[0], size[0] - h - origin[0]]);
    const flatR = Math.floor((size[0] - h) / 6);
    const flatC = Math.floor((size[1] - w) / 6);
    const dtype = image.dtype === 'float64' ? 'float64' : 'float32';
    const tr = tensor(taper1d(size[0], origin[0], h, flatR), [1, 1, size[0], 1], { dtype, device: image.device });
    const tc = tensor(taper1d(size[1], origin[1], w, flatC), [1, 1, 1, size[1]], { dtype, device: image.device });
    const mean = image.mean([2, 3], true);
    return mirrored.sub(mean).mul(tr.mul(tc)).add(mean);
  });
}
