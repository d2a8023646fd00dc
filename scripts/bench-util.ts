/** What the benchmark scripts share: whole-number flags and medians. */

/** `--name N` from the command line, a whole number >= 1; exits 2 with a clear line if not. */
export function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return fallback
  const v = Number(process.argv[i + 1])
  if (!Number.isSafeInteger(v) || v < 1) {
    process.stderr.write(`--${name} must be a whole number >= 1\n`)
    process.exit(2)
  }
  return v
}

/** The median (the upper one of an even count). */
export const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
