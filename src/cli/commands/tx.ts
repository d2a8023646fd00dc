import type { Command } from 'commander'
import type { TxJson } from '../../core/chain/json.js'
import { apiCall, DEFAULT_API_URL } from '../client.js'
import { intOption } from '../options.js'
import { print, printJson, table } from '../output.js'
import {
  buildTx,
  DEFAULT_WAIT_TIMEOUT_MS,
  fetchChainId,
  finishTx,
  loadKey,
  nextNonce,
  parseHex64,
  parseWait,
  positiveIntOption,
  readTxData,
  submitTx,
  type TxReason,
  type TxStatus,
} from '../signing.js'

interface SendOpts {
  key: string
  data?: string
  dataFile?: string
  gas: number
  nonce?: number
  wait?: string | boolean
  timeoutMs: number
  api: string
  json?: boolean
}

/** GET /transactions/:hash */
export interface VoteView {
  voter: string
  result: 'permit' | 'reject'
  reason?: unknown
}

export interface TxView {
  hash: string
  status: TxStatus
  reason: TxReason | null
  /** null when the node no longer holds the body (its tx log gave it up for newer ones) */
  tx: TxJson | null
  target: string | null
  votes: { prePrepare: VoteView[]; prepare: VoteView[] }
  block: { height: number; index: number } | null
  /** where a final tx drew its gas from: the granting block of each lot, and how much */
  draws?: { blockIndex: number; useGas: number }[]
}

export function txCommand(program: Command): void {
  const tx = program.command('tx').description('send a data transaction, or show one')

  tx.command('send')
    .description('sign a data transaction with an account key and submit it')
    .requiredOption('--key <file>', 'the sender account key file')
    .option('--data <text>', 'the record to write, as text')
    .option('--data-file <file>', 'the record to write: the bytes of FILE')
    .option('--gas <n>', 'gas the tx spends', intOption, 0)
    .option('--nonce <n>', "the tx's nonce (default: the next one, from the node)", intOption)
    .option(
      '--wait [status]',
      'wait until the tx is committed or final (--wait alone: final, in a block)',
    )
    .option('--timeout-ms <n>', 'how long --wait waits', positiveIntOption, DEFAULT_WAIT_TIMEOUT_MS)
    .option('--api <url>', 'node API', DEFAULT_API_URL)
    .option('--json', 'print one JSON document: {hash, status, reason?, tx}')
    .addHelpText(
      'after',
      `
The node that receives the tx runs its vote (pre-prepare, prepare, commit);
without --wait this prints the hash as soon as the node has accepted the tx.
A tx that fails (its reason is printed) or a wait that runs out is an error
(exit 1). Follow a tx with: bftchain tx show HASH

Examples:
  bftchain tx send --key alice.key.json --data "hello"
  bftchain tx send --key alice.key.json --data-file report.pdf --gas 10 --wait
  bftchain tx send --key alice.key.json --data "x" --wait committed --timeout-ms 5000 --json`,
    )
    .action(async (opts: SendOpts) => {
      const wait = parseWait(opts.wait)
      const data = await readTxData(opts)
      const key = await loadKey(opts.key)
      const [chainId, nonce] = await Promise.all([
        fetchChainId(opts.api),
        opts.nonce ?? nextNonce(opts.api, key.address),
      ])
      const { tx: signed, hash } = buildTx(key, chainId, nonce, {
        kind: 'data',
        data,
        gas: opts.gas,
      })
      const result = await submitTx(opts.api, signed, hash, wait, opts.timeoutMs)
      finishTx(result, opts, () => {
        const { sent } = result
        const next =
          sent.status === 'pending' ? `; follow it with: bftchain tx show ${sent.hash}` : ''
        const where = sent.block ? ` in block ${sent.block.height} (index ${sent.block.index})` : ''
        return `sent tx ${sent.hash} (nonce ${nonce}): ${sent.status}${where}${next}`
      })
    })

  tx.command('show')
    .description('a tx: status, reason, votes per phase, block')
    .argument('<hash>', 'the tx hash (64 hex characters)')
    .option('--api <url>', 'node API', DEFAULT_API_URL)
    .option('--json', 'print one JSON document')
    .addHelpText(
      'after',
      `
Status is pending, prepared, committed, final or failed (with the reason).
The votes are those this node has seen: the round's target, the node the tx
was sent to, counts them all.

Examples:
  bftchain tx show HASH                   # the hash tx send printed
  bftchain tx show HASH --api http://127.0.0.1:8081 --json`,
    )
    .action(async (hash: string, opts: { api: string; json?: boolean }) => {
      const h = parseHex64(hash, 'HASH')
      const { body: t } = await apiCall<TxView>(opts.api, `transactions/${h}`)
      if (opts.json) {
        printJson(t)
        return
      }
      printTx(t)
    })
}

/** The human form of GET /transactions/:hash (exported for its test). */
export function printTx(t: TxView): void {
  const rows: string[][] = [
    ['hash', t.hash],
    ['status', t.reason ? `${t.status} (${t.reason.code}: ${t.reason.message})` : t.status],
  ]
  const body = t.tx
  if (body == null) {
    rows.push(['body', 'not held by this node any more (a final tx is in its block: block show)'])
  } else {
    rows.push(['kind', body.kind], ['from', body.from], ['nonce', String(body.nonce)])
    rows.push(['gas', String(body.gas)])
    if (body.grant) rows.push(['grant', `${body.grant.amount} gas to ${body.grant.to}`])
    else if (body.dataBase64 !== undefined) rows.push(['data', `(base64) ${clip(body.dataBase64)}`])
    else rows.push(['data', clip(JSON.stringify(body.data ?? ''))])
  }
  rows.push(['target', t.target ?? '-'])
  rows.push(['block', t.block ? `height ${t.block.height}, tx ${t.block.index}` : '-'])
  if (t.draws && t.draws.length > 0)
    rows.push([
      'gas drawn',
      t.draws.map((d) => `${d.useGas} from the lot of block ${d.blockIndex}`).join(', '),
    ])
  print(table(rows))

  const votes = [
    ...(t.votes?.prePrepare ?? []).map((v) => ['pre-prepare', v]),
    ...(t.votes?.prepare ?? []).map((v) => ['prepare', v]),
  ] as [string, VoteView][]
  print()
  if (votes.length === 0) {
    print('votes: none seen by this node')
    return
  }
  const count = (phase: VoteView[] | undefined, r: string) =>
    (phase ?? []).filter((v) => v.result === r).length
  print(
    `votes: pre-prepare ${count(t.votes.prePrepare, 'permit')} permit, ${count(t.votes.prePrepare, 'reject')} reject; ` +
      `prepare ${count(t.votes.prepare, 'permit')} permit, ${count(t.votes.prepare, 'reject')} reject`,
  )
  print(
    table([
      ['phase', 'voter', 'result', 'reason'],
      ...votes.map(([phase, v]) => [phase, v.voter, v.result, voteReason(v.reason)]),
    ]),
  )
}

/** A vote's reason, whether the API gives a code, a {code, message} or nothing. */
function voteReason(r: unknown): string {
  if (r == null || r === 'NONE' || r === '') return ''
  if (typeof r === 'string') return r
  const o = r as { code?: string; message?: string }
  if (o.code) return o.message ? `${o.code}: ${o.message}` : o.code
  return JSON.stringify(r)
}

function clip(s: string, max = 200): string {
  return s.length > max ? `${s.slice(0, max)}… (${s.length} characters)` : s
}
