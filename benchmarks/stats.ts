/**
 * The statistics every benchmark reports: medians, means, and a seeded
 * bootstrap interval of a ratio of medians (so two runs resample alike).
 */
import { quantile, sorted } from './setup.js'

export function median (xs: ArrayLike<number>): number {
  return quantile(sorted(xs), 0.5)
}

export function mean (xs: ArrayLike<number>): number {
  let sum = 0
  for (let i = 0; i < xs.length; i++) { sum += xs[i] }
  return sum / xs.length
}

/** 95% bootstrap interval of median(xs) / median(ref) */
export function ratioInterval (xs: ArrayLike<number>, ref: ArrayLike<number>, resamples = 1000): [number, number] {
  let seed = 0x2545f491
  const rand = (): number => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5
    return (seed >>> 0) / 0x100000000
  }
  const pick = (arr: ArrayLike<number>, into: Float64Array): Float64Array => {
    for (let i = 0; i < into.length; i++) { into[i] = arr[Math.floor(rand() * arr.length)] }
    return into.sort()
  }
  const bx = new Float64Array(xs.length)
  const br = new Float64Array(ref.length)
  const ratios = new Float64Array(resamples)
  for (let i = 0; i < resamples; i++) {
    ratios[i] = quantile(pick(xs, bx), 0.5) / quantile(pick(ref, br), 0.5)
  }
  ratios.sort()
  return [quantile(ratios, 0.025), quantile(ratios, 0.975)]
}

/** `lo–hi` of the 95% interval of median(xs) / median(ref), or '' without data */
export function ciText (xs: ArrayLike<number> | undefined, ref: ArrayLike<number> | undefined, digits = 3): string {
  if (xs == null || ref == null || xs.length === 0 || ref.length === 0) { return '' }
  const [lo, hi] = ratioInterval(xs, ref)
  return `${lo.toFixed(digits)}–${hi.toFixed(digits)}`
}
