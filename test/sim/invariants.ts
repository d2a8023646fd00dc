/**
 * The invariants of DESIGN §10, checked while the simulation runs: every
 * block a node writes to its disk or reports final is checked at once
 * (Agreement, Validity, the node's own chain), every vote an honest
 * validator signs is remembered (no two different votes for one slot), and
 * after every step the core's head must be the head on its disk. The
 * end-of-run checks (No loss, Conservation, Liveness) live in simulation.ts,
 * which knows the clients. A violation throws SimViolation, whose message
 * starts with the invariant's name and ends with the command that replays
 * the run.
 */
import { blockHash } from '../../src/core/chain/block.js'
import { CertificateError, verifyCertificate } from '../../src/core/chain/certificates.js'
import { keyTypeOf, verifyTx } from '../../src/core/chain/signatures.js'
import type { ValidatorSet } from '../../src/core/chain/validator-set.js'
import { type FinalizedBlock, Phase, VoteResult } from '../../src/core/codec/index.js'
import type { Core } from '../../src/core/consensus/core.js'
import type { BlockFinalOp } from '../../src/core/consensus/types.js'
import { toHex } from '../../src/core/crypto/hash.js'
import { addressOf } from '../../src/core/crypto/keys.js'
import type { ChainHead } from '../../src/node/node/head.js'
import type { SimDisk } from './disk.js'

export type InvariantName =
  | 'Agreement'
  | 'Validity'
  | 'No loss'
  | 'Conservation'
  | 'Liveness'
  | 'Durability'
  | 'Equivocation'
  | 'Wire'
  | 'Fault'
  | 'Exception'
  | 'Budget'
  | 'Bounds'
  | 'Honest reasons'

export class SimViolation extends Error {
  override readonly name = 'SimViolation'
  /** the last trace lines of the node it was seen on */
  trace: string[] = []
  /** the digest of the run up to the violation, and how many events it took */
  digest = ''
  events = 0
  constructor(
    readonly invariant: InvariantName,
    readonly detail: string,
    readonly replay: string,
    /** the node the violation was seen on, if one */
    readonly node: number | null,
    readonly at: number,
  ) {
    super(`${invariant}: ${detail}\n  replay: ${replay}`)
  }
}

export interface CheckContext {
  /** the command that replays this run */
  replay: string
  chainId: string
  /** who signs a valid certificate: the genesis validators (or a planted bug's view of them) */
  validators: ValidatorSet
  /** Byzantine validators' keys: what they sign is theirs to contradict */
  byzantine: ReadonlySet<string>
  now(): number
  /** virtual time 0 of the run, for messages */
  start: number
  /** where the run is, for messages: "t=+1234ms event 5678" */
  where(): string
}

interface Finalized {
  hash: string
  node: number
  at: number
}

export class Invariants {
  /** height → the block first seen final there (by any node) */
  readonly finalAt = new Map<number, Finalized>()
  /** block hashes whose certificate and txs were checked */
  private readonly valid = new Set<string>()
  /** voter|phase|height|round → what it signed (PERMIT votes and election votes) */
  private readonly signed = new Map<string, string>()

  constructor(private readonly ctx: CheckContext) {}

  fail(invariant: InvariantName, detail: string, node: number | null = null): never {
    throw new SimViolation(
      invariant,
      `${detail} (${this.ctx.where()})`,
      this.ctx.replay,
      node,
      this.ctx.now(),
    )
  }

  // ---------------------------------------------------------------- blocks

  /** A block is final at `node` (written to disk, or reported by a block-final action). */
  agree(node: number, height: number, hash: string): void {
    const first = this.finalAt.get(height)
    if (first == null) {
      this.finalAt.set(height, { hash, node, at: this.ctx.now() })
      return
    }
    if (first.hash !== hash) {
      this.fail(
        'Agreement',
        `height ${height}: n${node} finalized ${hash.slice(0, 12)} but n${first.node} finalized ${first.hash.slice(0, 12)} at t=+${first.at - this.ctx.start}ms`,
        node,
      )
    }
  }

  /** After a batch with block-final ops landed on `node`'s disk. */
  blockWritten(
    node: number,
    op: BlockFinalOp,
    before: ChainHead | null,
    disk: SimDisk,
    core: Core,
    /** a Byzantine node (twins, strategies) is held to its own chain, not to the others' */
    honest = true,
  ): void {
    const stored = disk.block(op.height)
    if (stored == null)
      this.fail('Durability', `block ${op.height} is not on n${node}'s disk after its write`, node)
    const hash = toHex(blockHash(stored.block!.header!))
    if (hash !== op.hash)
      this.fail(
        'Durability',
        `n${node} wrote block ${hash.slice(0, 12)} at ${op.height} for ${op.hash.slice(0, 12)}`,
        node,
      )
    const head = disk.head()
    if (head == null || head.height !== op.height || toHex(head.hash) !== hash)
      this.fail(
        'Durability',
        `n${node}'s disk head is not block ${op.height} after writing it`,
        node,
      )
    // the node's own chain: one block after the other, each on its parent
    const prevHeight = before?.height ?? 0
    const header = stored.block!.header!
    if (op.height !== prevHeight + 1 || header.height !== op.height)
      this.fail('Validity', `n${node} wrote block ${op.height} on a head at ${prevHeight}`, node)
    if (before != null && toHex(header.parentHash) !== toHex(before.hash))
      this.fail(
        'Validity',
        `block ${op.height} on n${node} does not extend its head ${toHex(before.hash).slice(0, 12)}`,
        node,
      )
    if (honest) this.agree(node, op.height, hash)
    this.validBlock(node, stored, hash, core)
  }

  /** Validity: a commit certificate of q validators on this block, and every tx signed by its sender. */
  private validBlock(node: number, fb: FinalizedBlock, hash: string, core: Core): void {
    if (this.valid.has(hash)) return
    const block = fb.block!
    const header = block.header!
    try {
      verifyCertificate(
        this.ctx.chainId,
        fb.commitCert!,
        { phase: Phase.BLOCK_COMMIT, subject: blockHash(header), height: header.height },
        this.ctx.validators,
      )
    } catch (err) {
      if (!(err instanceof CertificateError)) throw err
      this.fail(
        'Validity',
        `block ${header.height} ${hash.slice(0, 12)} on n${node}: commit certificate ${err.message}`,
        node,
      )
    }
    const registering = new Map(block.accounts.map((a) => [toHex(addressOf(a.publicKey)), a]))
    for (const tx of block.txs) {
      const sender = toHex(tx.from)
      const account = core.ledger.account(sender)
      const reg = registering.get(sender)
      const key = account
        ? { keyType: account.keyType, publicKey: account.publicKey }
        : reg
          ? { keyType: keyTypeOf(reg.keyType), publicKey: reg.publicKey }
          : null
      if (key == null || !verifyTx(tx, key.keyType, key.publicKey))
        this.fail(
          'Validity',
          `block ${header.height} on n${node} holds a tx not signed by its sender ${sender.slice(0, 12)}`,
          node,
        )
    }
    this.valid.add(hash)
  }

  // ---------------------------------------------------------------- signing

  /** An honest validator signs one block vote per (phase, height, round), one election vote per (height, round). */
  signedVote(
    voter: string,
    phase: Phase,
    height: number,
    round: number,
    result: VoteResult,
    subject: Uint8Array,
    node: number,
  ): void {
    if (phase !== Phase.BLOCK_PERMIT && phase !== Phase.BLOCK_COMMIT) return
    // a permit and a reject for one slot conflict as much as two permits do
    this.slot(
      `${voter}|${phase}|${height}|${round}`,
      result === VoteResult.PERMIT ? toHex(subject) : `reject:${toHex(subject)}`,
      node,
      `${Phase[phase]} h${height} r${round}`,
    )
  }

  signedElection(
    voter: string,
    height: number,
    round: number,
    candidate: string,
    node: number,
  ): void {
    this.slot(
      `${voter}|E|${height}|${round}`,
      candidate,
      node,
      `election vote h${height} r${round}`,
    )
  }

  private slot(key: string, value: string, node: number, what: string): void {
    if (this.ctx.byzantine.has(key.slice(0, key.indexOf('|')))) return
    const earlier = this.signed.get(key)
    if (earlier == null) {
      this.signed.set(key, value)
      return
    }
    if (earlier !== value)
      this.fail(
        'Equivocation',
        `n${node} signed two different ${what}: ${earlier.slice(0, 12)} and ${value.slice(0, 12)}`,
        node,
      )
  }

  /**
   * Write-ahead (DESIGN §8): what an honest shell sends under its validator's key is already in
   * the SignState on its disk, so a crash right after the send cannot make it sign the slot again.
   * `kind` names the SignState field that records the slot; `value` is what was signed there
   * (empty for a reject, which the SignState records as `permitRejected`).
   */
  signedOnDisk(
    node: number,
    what: string,
    height: number,
    round: number,
    kind: 'electionCandidate' | 'permitSubject' | 'commitSubject',
    value: Uint8Array,
    disk: SimDisk,
  ): void {
    // a height final on disk can never be signed at again: its SignState is rightly gone
    if ((disk.head()?.height ?? 0) >= height) return
    const s = disk.signState()
    const before = s == null || s.height < height || (s.height === height && s.round < round)
    if (before)
      this.fail(
        'Durability',
        `n${node} sent its ${what} h${height} r${round} before its disk recorded signing it (disk: ${s == null ? 'nothing' : `h${s.height} r${s.round}`})`,
        node,
      )
    if (s!.height !== height || s!.round !== round) return
    // a reject is recorded as one, without its subject
    if (kind === 'permitSubject' && value.length === 0 && s!.permitRejected === true) return
    const recorded = s![kind]
    if (recorded == null || toHex(recorded) !== toHex(value))
      this.fail(
        'Durability',
        `n${node} sent its ${what} h${height} r${round} but its disk records ${recorded == null ? 'no such signature' : `another (${toHex(recorded).slice(0, 12)})`}`,
        node,
      )
  }

  // ---------------------------------------------------------------- every step

  /** The core's head is the head on its disk: nothing final is only in memory. */
  durable(node: number, core: Core, disk: SimDisk): void {
    const head = disk.head()
    const height = head?.height ?? 0
    if (core.head.height !== height)
      this.fail(
        'Durability',
        `n${node}'s core is at height ${core.head.height}, its disk at ${height}`,
        node,
      )
    if (head != null && toHex(head.hash) !== toHex(core.head.hash))
      this.fail('Durability', `n${node}'s core head differs from its disk head at ${height}`, node)
  }
}
