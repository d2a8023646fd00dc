/**
 * The clients: a gas authority that grants gas, and users that register an
 * account and then send data txs, some with gas. Each client has one tx in
 * flight at a time and behaves as a careful client of the HTTP API would:
 * it never reuses a nonce; when the node it asked goes down before
 * answering it sends the same signed tx to another node; once told
 * `committed` it waits (polling any node) until the tx is in a block before
 * it sends the next. What each client was told `committed`, by which node
 * and when, is what the No-loss invariant holds the chain to.
 */
import { signTx } from '../../src/core/chain/signatures.js'
import { txHash } from '../../src/core/chain/tx.js'
import {
  type AccountRegistration,
  GasGrantCodec,
  type Tx,
  TxKind,
} from '../../src/core/codec/index.js'
import type { Core } from '../../src/core/consensus/core.js'
import type { ClientResult, TxStatus } from '../../src/core/consensus/types.js'
import { toHex } from '../../src/core/crypto/hash.js'
import { nonceUsed } from '../../src/core/state/nonces.js'
import { type AccountIdentity, registrationOf } from '../unit/fixtures.js'
import type { VirtualClock } from './clock.js'
import { Pipeliner } from './pipeline.js'
import type { Rng } from './rng.js'

export interface WorkloadHost {
  readonly clock: VirtualClock
  readonly chainId: string
  readonly txRoundMs: number
  /** nodes that are up, in index order */
  upNodes(): number[]
  epoch(i: number): number
  core(i: number): Core | null
  submitTx(node: number, requestId: number, tx: Tx): void
  submitAccount(node: number, requestId: number, reg: AccountRegistration): void
  trace(node: number, line: string): void
}

export interface Told {
  hash: string
  client: string
  node: number
  at: number
}

export interface InFlight {
  tx: Tx
  hash: string
  node: number
  epoch: number
  requestId: number
  sentAt: number
  state: 'submitted' | 'pending' | 'committed'
  tries: number
}

interface Client {
  name: string
  who: AccountIdentity
  authority: boolean
  /** users: the registration, and when the client gets round to sending it */
  registration: AccountRegistration | null
  registerAfter: number
  reg: 'none' | 'asked' | 'final'
  regAsk: { node: number; epoch: number; at: number } | null
  nonce: number
  current: InFlight | null
}

/** A tx a client just sent to `node`, as it keeps it while it waits for news. */
export function sentTx(
  host: WorkloadHost,
  tx: Tx,
  node: number,
  requestId: number,
  tries: number,
): InFlight {
  return {
    tx,
    hash: toHex(txHash(tx)),
    node,
    epoch: host.epoch(node),
    requestId,
    sentAt: host.clock.now,
    state: 'submitted',
    tries,
  }
}

const utf8 = new TextEncoder()
const REGISTRATION_RETRY_MS = 3_000

export class Workload {
  readonly clients: Client[]
  /** every tx a client was told is committed */
  readonly told = new Map<string, Told>()
  readonly stats = { txs: 0, registrations: 0, failed: 0, final: 0, retries: 0 }
  /** why txs failed, by reason code */
  readonly failures = new Map<string, number>()
  private nextRequestId = 1
  private readonly requests = new Map<string, { client: Client; kind: 'tx' | 'account' }>()
  private readonly byHash = new Map<string, Client>()
  /** no new txs from then on (the healing phase only finishes what is in flight) */
  stopNewAt = Number.POSITIVE_INFINITY
  readonly pipeliner: Pipeliner | null

  constructor(
    private readonly host: WorkloadHost,
    private readonly rng: Rng,
    authority: AccountIdentity,
    users: AccountIdentity[],
    /** users registering this late (after some gas was granted to their address) */
    lateFrom: number,
    /** a pipelining client besides (pipeline.ts), with its own randomness */
    pipeline: { depth: number; rng: Rng; who: AccountIdentity } | null = null,
  ) {
    this.pipeliner =
      pipeline == null
        ? null
        : new Pipeliner(
            host,
            pipeline.rng,
            pipeline.who,
            pipeline.depth,
            this.told,
            () => host.clock.now >= this.stopNewAt,
          )
    this.clients = [
      {
        name: 'authority',
        who: authority,
        authority: true,
        registration: null,
        registerAfter: 0,
        reg: 'final',
        regAsk: null,
        nonce: 0,
        current: null,
      },
      ...users.map((who, i) => ({
        name: `user-${i}`,
        who,
        authority: false,
        registration: registrationOf(who, `user-${i}`, host.chainId),
        registerAfter: i === users.length - 1 ? lateFrom : 0,
        reg: 'none' as const,
        regAsk: null,
        nonce: 0,
        current: null,
      })),
    ]
  }

  start(at: number): void {
    for (const c of this.clients) this.schedule(c, at + this.rng.int(0, 500))
    this.pipeliner?.start(at)
  }

  /** What the pipelining client did, if there is one: `piper:<what>`. */
  pipelineStats(): Record<string, number> {
    const p = this.pipeliner
    if (p == null) return {}
    return {
      'piper:depth': p.depth,
      ...Object.fromEntries(Object.entries(p.stats).map(([k, v]) => [`piper:${k}`, v])),
      ...Object.fromEntries([...p.failures].map(([k, v]) => [`piper:failed:${k}`, v])),
    }
  }

  private schedule(c: Client, at: number): void {
    this.host.clock.schedule(at, -1, `client:${c.name}`, () => {
      this.wake(c)
      this.schedule(c, this.host.clock.now + this.rng.int(150, 900))
    })
  }

  private liveNode(): number | null {
    const up = this.host.upNodes()
    return up.length === 0 ? null : this.rng.pick(up)
  }

  private wake(c: Client): void {
    const now = this.host.clock.now
    if (!c.authority && c.reg !== 'final') this.tendRegistration(c, now)
    if (c.current != null) this.tendTx(c, now)
    if (c.current == null && now < this.stopNewAt && (c.authority || c.reg === 'final'))
      this.newTx(c, now)
  }

  private tendRegistration(c: Client, now: number): void {
    const node = this.liveNode()
    if (node == null) return
    if (this.host.core(node)?.ledger.account(c.who.address) != null) {
      c.reg = 'final'
      return
    }
    if (now < c.registerAfter) return
    const ask = c.regAsk
    if (
      ask != null &&
      now - ask.at < REGISTRATION_RETRY_MS &&
      this.host.epoch(ask.node) === ask.epoch
    )
      return
    const requestId = this.nextRequestId++
    c.regAsk = { node, epoch: this.host.epoch(node), at: now }
    this.requests.set(`${node}:${requestId}`, { client: c, kind: 'account' })
    this.stats.registrations++
    this.host.trace(node, `client ${c.name} registers`)
    this.host.submitAccount(node, requestId, c.registration!)
  }

  private tendTx(c: Client, now: number): void {
    const cur = c.current!
    if (cur.state === 'committed') {
      // told committed: wait until some node shows it in a block
      const node = this.liveNode()
      if (node == null) return
      const core = this.host.core(node)!
      const record = core.tx(cur.hash)
      const used = nonceUsed(core.ledger.account(c.who.address), cur.tx.nonce)
      if (record?.status === 'final' || record?.block != null || used) {
        this.stats.final++
        c.current = null
      }
      return
    }
    const gone = this.host.epoch(cur.node) !== cur.epoch || this.host.core(cur.node) == null
    if (gone || now - cur.sentAt > 3 * this.host.txRoundMs) {
      // the node went down before answering: the same signed tx to another node
      const up = this.host.upNodes()
      if (up.length === 0) return
      const others = up.filter((i) => i !== cur.node)
      this.stats.retries++
      this.send(c, cur.tx, this.rng.pick(others.length > 0 ? others : up), cur.tries + 1)
    }
  }

  private newTx(c: Client, now: number): void {
    const node = this.liveNode()
    if (node == null) return
    const balance = this.host.core(node)!.ledger.balance(c.who.address, now)
    const nonce = c.nonce++
    let tx: Tx
    if (c.authority) {
      const to = this.rng.pick(this.clients.filter((x) => !x.authority))
      tx = signTx(c.who.signer, {
        chainId: this.host.chainId,
        kind: TxKind.GAS_GRANT,
        from: c.who.from,
        nonce,
        gas: 0,
        data: GasGrantCodec.encode({ to: to.who.from, amount: this.rng.int(5, 60) }),
      })
    } else {
      tx = signTx(c.who.signer, {
        chainId: this.host.chainId,
        kind: TxKind.DATA,
        from: c.who.from,
        nonce,
        // mostly within the balance the node shows; now and then more (admission says no)
        gas: this.rng.chance(0.4)
          ? 0
          : this.rng.chance(0.1)
            ? balance + 1
            : Math.min(balance, this.rng.int(1, 6)),
        data: utf8.encode(`${c.name}:${nonce}:${this.rng.u32()}`),
      })
    }
    this.stats.txs++
    this.send(c, tx, node, 1)
  }

  private send(c: Client, tx: Tx, node: number, tries: number): void {
    const requestId = this.nextRequestId++
    c.current = sentTx(this.host, tx, node, requestId, tries)
    const hash = c.current.hash
    this.requests.set(`${node}:${requestId}`, { client: c, kind: 'tx' })
    this.byHash.set(hash, c)
    this.host.trace(
      node,
      `client ${c.name} sends tx ${hash.slice(0, 8)} nonce ${tx.nonce}${tries > 1 ? ` (try ${tries})` : ''}`,
    )
    this.host.submitTx(node, requestId, tx)
  }

  // ---------------------------------------------------------------- what nodes tell clients

  onClientResult(node: number, requestId: number, result: ClientResult): void {
    if (this.pipeliner?.onClientResult(node, requestId, result)) return
    const key = `${node}:${requestId}`
    const req = this.requests.get(key)
    if (req == null) return
    this.requests.delete(key)
    const c = req.client
    if (req.kind === 'account') {
      const taken =
        !result.ok && (result.code === 'ALREADY_REGISTERED' || result.code === 'USERNAME_TAKEN')
      if ((result.ok || taken) && c.reg === 'none') c.reg = 'asked'
      return
    }
    const cur = c.current
    if (cur == null || cur.requestId !== requestId || cur.node !== node) return
    if (result.ok) {
      if (result.status === 'committed' || result.status === 'final') this.toldCommitted(c, node)
      else if (cur.state === 'submitted') cur.state = 'pending'
    } else if (cur.state !== 'committed') {
      this.failed(c, result.code)
    }
  }

  private failed(c: Client, code: string): void {
    this.stats.failed++
    this.failures.set(code, (this.failures.get(code) ?? 0) + 1)
    this.host.trace(
      c.current!.node,
      `client ${c.name} told failed: ${c.current!.hash.slice(0, 8)} ${code}`,
    )
    c.current = null
  }

  onTxStatus(node: number, hash: string, status: TxStatus, reason: string | null): void {
    if (this.pipeliner?.onTxStatus(node, hash, status, reason)) return
    const c = this.byHash.get(hash)
    const cur = c?.current
    if (c == null || cur == null || cur.hash !== hash || cur.node !== node) return
    if (cur.epoch !== this.host.epoch(node)) return
    if (status === 'committed' || status === 'final') this.toldCommitted(c, node)
    else if (status === 'failed' && cur.state !== 'committed') this.failed(c, reason ?? 'failed')
  }

  private toldCommitted(c: Client, node: number): void {
    const cur = c.current!
    cur.state = 'committed'
    if (!this.told.has(cur.hash)) {
      this.told.set(cur.hash, { hash: cur.hash, client: c.name, node, at: this.host.clock.now })
      this.host.trace(node, `client ${c.name} told committed: ${cur.hash.slice(0, 8)}`)
    }
  }
}
