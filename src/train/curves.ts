// training curves (loss and validation PSNR against step) as a PNG beside the log.
import { readFileSync } from 'node:fs';
import { writePng } from '../io/index.js';
import { lineChart, Raster } from '../report/raster.js';

interface LogLine {
  kind: 'train' | 'val';
  step: number;
  loss?: number;
  psfTerm?: number;
  psnrPsf?: number;
  psnrImage?: number;
}

export function writeCurves(logPath: string, pngPath: string): void {
  const lines = readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine);
  const train = lines.filter((l) => l.kind === 'train');
  const val = lines.filter((l) => l.kind === 'val');
  const loss = lineChart('TRAINING LOSS', 'STEP', [
    { label: 'LOSS', color: [31, 119, 180], points: train.map((l) => [l.step, l.loss!]) },
    { label: 'PSF L1 TERM', color: [255, 127, 14], points: train.map((l) => [l.step, l.psfTerm!]) },
  ], { logY: true });
  const psnr = lineChart('VALIDATION PSNR (DB)', 'STEP', [
    { label: 'PSNR PSF', color: [44, 160, 44], points: val.map((l) => [l.step, l.psnrPsf!]) },
    { label: 'PSNR H*X', color: [214, 39, 40], points: val.map((l) => [l.step, l.psnrImage!]) },
  ]);
  const out = new Raster(loss.width, loss.height + psnr.height);
  out.data.set(loss.data, 0);
  out.data.set(psnr.data, loss.data.length);
  writePng(pngPath, { width: out.width, height: out.height, channels: 3, data: out.data });
}
