/** The number of Byzantine validators n validators tolerate: f = floor((n - 1) / 3). */
export function faultTolerance(n: number): number {
  return Math.floor((n - 1) / 3)
}

/** Votes that make a certificate: q = n - f (2f + 1 when n = 3f + 1). Any two quorums share an honest validator. */
export function quorum(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`validator count must be >= 1, got ${n}`)
  return n - faultTolerance(n)
}
