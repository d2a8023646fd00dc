/**
 * A pipelining client: one account that keeps up to `depth` txs in flight at once, each with the
 * next nonce, as a busy client of the HTTP API does (bench:tps, the process tests). The other
 * clients (workload.ts) wait for each tx to be final before they sign the next, so they never
 * have a later nonce committed while an earlier one is still in its round; this one does, which
 * is where a block may take nonce N + 1 before N.
 *
 * It behaves as a careful client: a tx whose round did not finish (TIMEOUT, NO_QUORUM, DROPPED)
 * or that a node refused for load (POOL_FULL) is sent again, the same signed tx; one whose node
 * went down before answering, or that has had no news for 3 × txRoundMs, goes to another node;
 * any other failure is the chain's answer and ends it. What it is told `committed` joins the
 * workload's `told`, which the No-loss invariant holds the chain to.
 *
 * Its randomness is a stream of its own, so seeds without it replay as before.
 */
import { signTx } from '../../src/core/chain/signatures.js'
import { type AccountRegistration, type Tx, TxKind } from '../../src/core/codec/index.js'
import type { ClientResult, TxStatus } from '../../src/core/consensus/types.js'
import { nonceUsed } from '../../src/core/state/nonces.js'
import { type AccountIdentity, registrationOf } from '../unit/fixtures.js'
import type { Rng } from './rng.js'
import { type InFlight, sentTx, type Told, type WorkloadHost } from './workload.js'

/** the codes after which the same signed tx is sent again: its round did not finish, or load */
const RESEND = new Set(['TIMEOUT', 'NO_QUORUM', 'DROPPED', 'POOL_FULL'])
/** request ids of its own, far from the workload's */
const FIRST_REQUEST_ID = 1_000_000_000
const REGISTRATION_RETRY_MS = 3_000

/** 'retry': its round did not finish, or the node refused it for load; sent again next wake */
type Piped = Omit<InFlight, 'state'> & { state: InFlight['state'] | 'retry' }

export class Pipeliner {
  readonly name = 'piper'
  readonly stats = { txs: 0, resent: 0, failed: 0, final: 0 }
  /** why its txs failed for good, by reason code */
  readonly failures = new Map<string, number>()
  private readonly registration: AccountRegistration
  private registered = false
  private regAsk: { node: number; epoch: number; at: number } | null = null
  private nonce = 0
  private readonly inFlight = new Map<string, Piped>()
  private readonly requests = new Map<string, string | 'account'>()
  private nextRequestId = FIRST_REQUEST_ID
  /** the node it sends to, while that node stays up (one account's txs to one node at a time) */
  private node: number | null = null

  constructor(
    private readonly host: WorkloadHost,
    private readonly rng: Rng,
    private readonly who: AccountIdentity,
    readonly depth: number,
    private readonly told: Map<string, Told>,
    private readonly isStopped: () => boolean,
  ) {
    this.registration = registrationOf(who, this.name, host.chainId)
  }

  start(at: number): void {
    this.schedule(at + this.rng.int(0, 500))
  }

  private schedule(at: number): void {
    this.host.clock.schedule(at, -1, `client:${this.name}`, () => {
      this.wake()
      this.schedule(this.host.clock.now + this.rng.int(100, 600))
    })
  }

  private wake(): void {
    const now = this.host.clock.now
    if (!this.registered) {
      this.tendRegistration(now)
      return
    }
    for (const p of [...this.inFlight.values()]) this.tend(p, now)
    while (this.inFlight.size < this.depth && !this.isStopped()) {
      const node = this.pickNode()
      if (node == null) return
      this.stats.txs++
      const nonce = this.nonce++
      const tx = signTx(this.who.signer, {
        chainId: this.host.chainId,
        kind: TxKind.DATA,
        from: this.who.from,
        nonce,
        gas: 0,
        data: new TextEncoder().encode(`${this.name}:${nonce}`),
      })
      this.send(tx, node, 1)
    }
  }

  private pickNode(exclude: number | null = null): number | null {
    const up = this.host.upNodes().filter((i) => i !== exclude)
    if (up.length === 0) return null
    if (this.node == null || !up.includes(this.node) || this.rng.chance(0.05))
      this.node = this.rng.pick(up)
    return this.node
  }

  private tendRegistration(now: number): void {
    const up = this.host.upNodes()
    if (up.length === 0) return
    const node = this.rng.pick(up)
    if (this.host.core(node)?.ledger.account(this.who.address) != null) {
      this.registered = true
      return
    }
    const ask = this.regAsk
    if (ask && now - ask.at < REGISTRATION_RETRY_MS && this.host.epoch(ask.node) === ask.epoch)
      return
    const requestId = this.nextRequestId++
    this.regAsk = { node, epoch: this.host.epoch(node), at: now }
    this.requests.set(`${node}:${requestId}`, 'account')
    this.host.submitAccount(node, requestId, this.registration)
  }

  private tend(p: Piped, now: number): void {
    const up = this.host.upNodes()
    if (p.state === 'committed') {
      // told committed: done once some node shows it in a block
      if (up.length === 0) return
      const core = this.host.core(this.rng.pick(up))!
      // its nonce used: this tx is in a block (or a tx of the same nonce is; it signs none)
      const used = nonceUsed(core.ledger.account(this.who.address), p.tx.nonce)
      if (core.tx(p.hash)?.status === 'final' || used) {
        this.stats.final++
        this.inFlight.delete(p.hash)
      }
      return
    }
    const gone = this.host.epoch(p.node) !== p.epoch || this.host.core(p.node) == null
    if (p.state === 'retry' && !gone) {
      this.stats.resent++
      this.send(p.tx, p.node, p.tries + 1)
      return
    }
    if (gone || p.state === 'retry' || now - p.sentAt > 3 * this.host.txRoundMs) {
      const node = this.pickNode(p.node) ?? this.pickNode()
      if (node == null) return
      this.stats.resent++
      this.send(p.tx, node, p.tries + 1)
    }
  }

  private send(tx: Tx, node: number, tries: number): void {
    const requestId = this.nextRequestId++
    const p: Piped = sentTx(this.host, tx, node, requestId, tries)
    const hash = p.hash
    this.inFlight.set(hash, p)
    this.requests.set(`${node}:${requestId}`, hash)
    this.host.trace(
      node,
      `client ${this.name} sends tx ${hash.slice(0, 8)} nonce ${tx.nonce}${tries > 1 ? ` (try ${tries})` : ''}`,
    )
    this.host.submitTx(node, requestId, tx)
  }

  /** A node's answer to one of its requests; false if the request is not its. */
  onClientResult(node: number, requestId: number, result: ClientResult): boolean {
    const key = `${node}:${requestId}`
    const what = this.requests.get(key)
    if (what == null) return false
    this.requests.delete(key)
    if (what === 'account') return true
    const p = this.inFlight.get(what)
    if (p == null || p.requestId !== requestId || p.node !== node) return true
    if (result.ok) {
      if (result.status === 'committed' || result.status === 'final') this.toldCommitted(p, node)
      else if (p.state === 'submitted') p.state = 'pending'
    } else if (p.state !== 'committed' && p.state !== 'retry') this.failed(p, result.code)
    return true
  }

  /** A tx's status changed at a node; false if the tx is not its. */
  onTxStatus(node: number, hash: string, status: TxStatus, reason: string | null): boolean {
    const p = this.inFlight.get(hash)
    if (p == null) return false
    if (p.node !== node || p.epoch !== this.host.epoch(node)) return true
    if (status === 'committed' || status === 'final') this.toldCommitted(p, node)
    else if (status === 'failed' && (p.state === 'submitted' || p.state === 'pending'))
      this.failed(p, reason ?? 'failed')
    return true
  }

  private failed(p: Piped, code: string): void {
    if (RESEND.has(code)) {
      // the same signed tx again at its next wake (never at once: a refusal comes back at once)
      p.state = 'retry'
      this.host.trace(p.node, `client ${this.name} told ${code}: ${p.hash.slice(0, 8)} goes again`)
      return
    }
    this.stats.failed++
    this.failures.set(code, (this.failures.get(code) ?? 0) + 1)
    this.host.trace(p.node, `client ${this.name} told failed: ${p.hash.slice(0, 8)} ${code}`)
    this.inFlight.delete(p.hash)
  }

  private toldCommitted(p: Piped, node: number): void {
    p.state = 'committed'
    if (this.told.has(p.hash)) return
    this.told.set(p.hash, { hash: p.hash, client: this.name, node, at: this.host.clock.now })
    this.host.trace(node, `client ${this.name} told committed: ${p.hash.slice(0, 8)}`)
  }
}
