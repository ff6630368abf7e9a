/** The `p` quantile (0..1) of `values` by rank, or undefined when there are none */
export function percentile (values: number[], p: number): number | undefined {
  if (values.length === 0) { return undefined }
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}
