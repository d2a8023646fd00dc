#!/usr/bin/env node
/**
 * npm run sim -- [--seeds N] [--seed S] [--validators N] [--steps N] [--planted BUG]
 *                [--byzantine STRATEGY,...] [--strict-validity] [--trace]
 *
 * Runs the deterministic simulation (test/sim) over chosen seeds: the
 * flags become SIM_* variables for test/sim/simulation.test.ts, run by
 * vitest's `sim` project. A failing seed prints the command that replays it.
 */
import { spawnSync } from 'node:child_process'

const HELP = `Usage: npm run sim -- [options]

Run the deterministic simulation of n validators (test/sim) over seeds.
Every run is decided by its seed: the same seed replays exactly.

Options:
  --seeds N          how many seeds to run (default: 200, or 1 with --seed)
  --seed S           the first seed (default: 1)
  --validators N     validators per run, 1..64 (default: both 4 and 7)
  --steps N          cap on events processed per run (default: 200000)
  --planted BUG      plant a bug to see the invariants catch it: in every core,
                     quorum (2f instead of 2f + 1), ignore-lock, or
                     first-heard-election (the election without its liveness
                     rules, against an election capturer); in every shell,
                     send-before-persist (messages before their batch); the
                     run gets the conditions that expose the bug
  --byzantine S,...  make f validators Byzantine with these strategies, instead
                     of each seed's own draw (half the seeds draw some): silent,
                     equivocate, double-vote, capture, flood, height-lie,
                     poison, replay, garbage; or twins (each of the f runs as
                     two honest nodes with one key)
  --strict-validity  with --planted quorum: hold certificates to the genesis
                     quorum (Validity) rather than the planted one
  --trace            write each run's whole trace to a file and print its path
  -h, --help         show this help

Examples:
  npm run sim -- --seeds 1000
  npm run sim -- --seed 17 --validators 4
  npm run sim -- --seed 3 --validators 4 --planted ignore-lock --trace
  npm run sim -- --seeds 500 --byzantine capture,height-lie
  npm run sim -- --seeds 200 --validators 4 --byzantine twins`

const PLANTED = ['quorum', 'ignore-lock', 'send-before-persist', 'first-heard-election']
const STRATEGIES = [
  'silent',
  'equivocate',
  'double-vote',
  'capture',
  'flood',
  'height-lie',
  'poison',
  'replay',
  'garbage',
  'twins',
]

const INTEGER_FLAGS = {
  '--seeds': { env: 'SIM_SEEDS', min: 1 },
  '--seed': { env: 'SIM_SEED', min: 0 },
  '--validators': { env: 'SIM_VALIDATORS', min: 1, max: 64 },
  '--steps': { env: 'SIM_STEPS', min: 1 },
}

function fail(message) {
  process.stderr.write(`sim: ${message}\nTry 'npm run sim -- --help'.\n`)
  process.exit(2)
}

function parse(argv) {
  const env = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const [name, inline] =
      arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined]
    if (name === '-h' || name === '--help') {
      process.stdout.write(`${HELP}\n`)
      process.exit(0)
    }
    if (name === '--trace') {
      env.SIM_TRACE = '1'
      continue
    }
    if (name === '--strict-validity') {
      env.SIM_STRICT_VALIDITY = '1'
      continue
    }
    const value = inline ?? argv[++i]
    if (name === '--byzantine') {
      const list = (value ?? '').split(',').filter((x) => x !== '')
      const bad = list.filter((x) => !STRATEGIES.includes(x))
      if (list.length === 0 || bad.length > 0)
        fail(
          `--byzantine takes strategies from ${STRATEGIES.join(', ')}, got ${value ?? 'nothing'}`,
        )
      env.SIM_BYZANTINE = list.join(',')
      continue
    }
    if (name === '--planted') {
      if (!PLANTED.includes(value))
        fail(`--planted must be one of ${PLANTED.join(', ')}, got ${value ?? 'nothing'}`)
      env.SIM_PLANTED = value
      continue
    }
    const spec = INTEGER_FLAGS[name]
    if (spec == null) fail(`unknown option ${arg}`)
    if (value == null || !/^\d+$/.test(value))
      fail(`${name} needs a whole number, got ${value ?? 'nothing'}`)
    const n = Number(value)
    if (!Number.isSafeInteger(n) || n < spec.min || (spec.max != null && n > spec.max))
      fail(
        `${name} must be ${spec.max != null ? `${spec.min}..${spec.max}` : `at least ${spec.min}`}, got ${value}`,
      )
    env[spec.env] = String(n)
  }
  return env
}

const env = parse(process.argv.slice(2))
// no SIM_* at all would run the CI set; `npm run sim` alone means the default seeds, both sizes
const selects = ['SIM_SEED', 'SIM_SEEDS', 'SIM_VALIDATORS', 'SIM_PLANTED', 'SIM_BYZANTINE']
if (!Object.keys(env).some((k) => selects.includes(k))) env.SIM_SEEDS = '200'

const result = spawnSync('npx', ['vitest', 'run', '--project', 'sim'], {
  stdio: 'inherit',
  env: { ...process.env, ...env },
})
if (result.error) {
  process.stderr.write(`sim: could not run vitest: ${result.error.message}\n`)
  process.exit(1)
}
process.exit(result.status ?? 1)
