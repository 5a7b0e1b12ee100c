/** One benchmark figure: psfid and its reference measured in the same run; ratio = psfid / reference. */
export interface BenchLine { name: string; psfid: number; reference: number; unit: string; ratio: number }
