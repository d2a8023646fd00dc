/**
 * npm run bench:log — the cost of one structured log line in the caller, for the node's own
 * logger (src/node/log.ts, JSON and text) and for pino (which fastify ships), each writing a
 * file asynchronously: 200,000 `block final` lines with six fields, three runs, one JSON line
 * per run. This is how the node's logger was chosen over pino (docs/PERFORMANCE.md).
 */
import pino from 'pino'
import { createLogger, fileSink } from '../src/node/log.js'

const N = 200_000
const fields = {
  height: 12345,
  hash: '2bc163f6fb1104c7',
  rounds: 1,
  leader: '…AMcTNe',
  txs: 464,
  ms: 2298,
}
async function ours(format: 'json' | 'text') {
  const sink = fileSink(`/tmp/log-ours-${format}.log`)
  const log = createLogger({ level: 'info', format, sinks: [sink] } as never)
  const t = performance.now()
  for (let i = 0; i < N; i++) log.info('block final', fields)
  const ms = performance.now() - t
  await sink.close()
  return ms
}
async function pinoRun() {
  const dest = pino.destination({ dest: '/tmp/log-pino.log', sync: false, minLength: 4096 })
  await new Promise((r) => dest.once('ready', r))
  const log = pino({ base: null }, dest)
  const t = performance.now()
  for (let i = 0; i < N; i++) log.info(fields, 'block final')
  const ms = performance.now() - t
  await new Promise((r) => {
    dest.once('close', r)
    dest.end()
  })
  return ms
}
for (let r = 0; r < 3; r++) {
  const a = await ours('json'),
    b = await ours('text'),
    c = await pinoRun()
  console.log(
    JSON.stringify({
      lines: N,
      oursJsonUsPerLine: +((a * 1000) / N).toFixed(2),
      oursTextUsPerLine: +((b * 1000) / N).toFixed(2),
      pinoUsPerLine: +((c * 1000) / N).toFixed(2),
    }),
  )
}
