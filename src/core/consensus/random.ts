/**
 * The core's only source of randomness: a seeded PRNG (xorshift128+), so a
 * run replays exactly from its seed. The shell seeds it from the OS; the
 * simulation from the test's seed.
 */
export class SeededRandom {
  private s0: bigint
  private s1: bigint

  constructor(seed: number) {
    // splitmix64 to spread a small seed over the state
    let x = BigInt.asUintN(64, BigInt(seed) + 0x9e3779b97f4a7c15n)
    const next = (): bigint => {
      x = BigInt.asUintN(64, x + 0x9e3779b97f4a7c15n)
      let z = x
      z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n)
      z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn)
      return z ^ (z >> 31n)
    }
    this.s0 = next()
    this.s1 = next()
  }

  /** A uniform float in [0, 1). */
  next(): number {
    let s1 = this.s0
    const s0 = this.s1
    this.s0 = s0
    s1 = BigInt.asUintN(64, s1 ^ (s1 << 23n))
    this.s1 = s1 ^ s0 ^ (s1 >> 17n) ^ (s0 >> 26n)
    const out = BigInt.asUintN(64, this.s1 + s0)
    return Number(out >> 11n) / 2 ** 53
  }

  /** A uniform integer in [min, max). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min))
  }
}
