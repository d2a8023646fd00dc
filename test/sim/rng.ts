/**
 * The simulation's only randomness: sfc32 seeded through splitmix32, so a
 * run replays exactly from its seed. `fork` gives an independent stream per
 * concern (network, faults, workload), so drawing more numbers in one does
 * not shift the others.
 */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(readonly seed: number) {
    let x = seed >>> 0
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0
      let z = x
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = next()
    this.b = next()
    this.c = next()
    this.d = next()
    for (let i = 0; i < 12; i++) this.u32()
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0
    this.d = (this.d + 1) >>> 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) >>> 0
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0
    this.c = (this.c + t) >>> 0
    return t
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.u32() / 4294967296
  }

  /** A uniform integer in [min, max). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min))
  }

  chance(p: number): boolean {
    return p > 0 && this.next() < p
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new RangeError('pick from an empty list')
    return xs[this.int(0, xs.length)]!
  }

  shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs]
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1)
      ;[out[i], out[j]] = [out[j]!, out[i]!]
    }
    return out
  }

  /** An independent stream for one concern, derived from this one's seed and a label. */
  fork(label: number): Rng {
    return new Rng(Math.imul(this.seed ^ 0x5bd1e995, 0x27d4eb2d) + Math.imul(label, 0x165667b1))
  }
}
