/**
 * Ed25519 verifications per second on one core, through each backend the
 * node can use (src/core/crypto/ed25519.ts): libsodium (`sodium-native`) and
 * node:crypto (OpenSSL, cached key), both with the node's checks. The node
 * picks the first when its module loads; this is the measurement behind that
 * choice (docs/PERFORMANCE.md).
 *
 *   npm run bench:verify [-- --runs 5 --ms 1000]
 *
 * Prints one JSON line per run and a summary line with the medians. Nothing
 * is asserted.
 */
import { type Ed25519Backend, ed25519Backend } from '../src/core/crypto/ed25519.js'
import { ed25519VerifyPerSec, flag, median } from './bench-util.js'

const runs = flag('runs', 5)
const ms = flag('ms', 1_000)
const backends: Ed25519Backend[] =
  ed25519Backend === 'sodium-native' ? ['sodium-native', 'node:crypto'] : ['node:crypto']
if (ed25519Backend !== 'sodium-native') {
  process.stderr.write('sodium-native did not load here: measuring node:crypto only\n')
}
const perSec: Record<string, number[]> = Object.fromEntries(backends.map((b) => [b, []]))
for (let run = 1; run <= runs; run++) {
  const line: Record<string, unknown> = { bench: 'verify', run }
  for (const b of backends) {
    const v = ed25519VerifyPerSec(ms, b)
    perSec[b]!.push(v)
    line[b] = { verifyPerSec: v, microsPerVerify: Math.round(1e7 / v) / 10 }
  }
  process.stdout.write(`${JSON.stringify(line)}\n`)
}
const summary: Record<string, unknown> = {
  bench: 'verify',
  summary: true,
  runs,
  nodeUses: ed25519Backend,
}
for (const b of backends) summary[b] = median(perSec[b]!)
if (perSec['sodium-native'] != null) {
  summary.speedup =
    Math.round((median(perSec['sodium-native'])! / median(perSec['node:crypto']!)) * 100) / 100
}
process.stdout.write(`${JSON.stringify(summary)}\n`)
