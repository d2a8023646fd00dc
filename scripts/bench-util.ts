/** What the benchmark scripts share: whole-number flags and medians. */
import { generateKeyPairSync, sign } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { type Ed25519Backend, ed25519Backend, ed25519Verify } from '../src/core/crypto/ed25519.js'

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

/** Percentile `p` (0..1) of sorted numbers, rounded; 0 for none. */
export const percentile = (sorted: number[], p: number): number =>
  Math.round(sorted[Math.floor((sorted.length - 1) * p)] ?? 0)

/** A process's peak RSS (VmHWM) in MB and CPU seconds so far, from /proc (Linux); null elsewhere. */
export function processUsage(pid: number): { peakRssMb: number; cpuSeconds: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN)
    // utime and stime are fields 14 and 15; the name (field 2) may hold spaces, so count after ')'
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return { peakRssMb: Math.round(hwm / 1024), cpuSeconds: Math.round((ticks / 100) * 10) / 10 }
  } catch {
    return null
  }
}

/**
 * Ed25519 verifications per second on one core through `backend` (by default the one the node
 * uses, src/core/crypto/ed25519.ts), with the node's checks: the machine's signature bound is this
 * × cores ÷ validators.
 */
export function ed25519VerifyPerSec(ms = 1_000, backend: Ed25519Backend = ed25519Backend): number {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const raw = new Uint8Array(
    (publicKey.export({ format: 'der', type: 'spki' }) as Buffer).subarray(12),
  )
  const msg = Buffer.from('bftchain bench: one tx body of a typical size, about a hundred bytes..')
  const sig = new Uint8Array(sign(null, msg, privateKey))
  for (let i = 0; i < 200; i++) ed25519Verify(raw, msg, sig, backend) // warm up
  let n = 0
  const t0 = performance.now()
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 100; i++) {
      if (!ed25519Verify(raw, msg, sig, backend))
        throw new Error(`${backend} refused a good signature`)
    }
    n += 100
  }
  return Math.round((n * 1_000) / (performance.now() - t0))
}

/** The samples of one metric on a node's /metrics, by their labels as written (`topic="tx",direction="in"`). */
export async function metricSamples(url: string, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    const labels = line.startsWith(`${name}{`) ? line.slice(name.length + 1, line.indexOf('}')) : ''
    out.set(labels, Number(line.slice(line.lastIndexOf(' ') + 1)))
  }
  return out
}
