/**
 * What a block must be to be the next block (checkBlock, DESIGN §6), and
 * what a BlockPrepare, Add or Final must be to cross the gossip gate
 * (validateBlockSync): a table of bad ones, each refused with its code,
 * next to a good one that passes, so each refusal is for the one fault.
 */
import { describe, expect, it } from 'vitest'
import { accountsRoot, blockHash, sortTxs, txRoot } from '../../src/core/chain/block.js'
import { certificateFrom } from '../../src/core/chain/certificates.js'
import { genesisHash, genesisTimeMs } from '../../src/core/chain/genesis.js'
import { signAdd, signBlockPrepare } from '../../src/core/chain/signatures.js'
import { ValidatorSet } from '../../src/core/chain/validator-set.js'
import {
  type AccountRegistration,
  type Add,
  type Block,
  type BlockHeader,
  type BlockPrepare,
  type Certificate,
  type ElectionCertificate,
  type Final,
  Phase,
  ReceiptStatus,
  RejectReason,
  type Tx,
} from '../../src/core/codec/index.js'
import {
  type ChainTip,
  checkBlock,
  MAX_CLOCK_DRIFT_MS,
} from '../../src/core/consensus/block-check.js'
import { rotationLeader } from '../../src/core/consensus/election.js'
import { GossipGate } from '../../src/core/consensus/gossip-gate.js'
import { ValidationError, validateBlockSync } from '../../src/core/consensus/validation.js'
import { bytesEqual, toHex } from '../../src/core/crypto/hash.js'
import { applyExecution, executeBlock, genesisStateRoot } from '../../src/core/state/execute.js'
import { LedgerState } from '../../src/core/state/ledger.js'
import {
  accountIdentity,
  blockVoteBy,
  CHAIN_ID,
  electionCertificate,
  grantTx,
  hashOf,
  type NodeIdentity,
  nodeIdentity,
  registrationOf,
  signedTx,
  testGenesis,
  validators,
} from './fixtures.js'

const ids = validators(4)
const [v0, v1, v2, v3] = ids as [NodeIdentity, NodeIdentity, NodeIdentity, NodeIdentity]
const observer = nodeIdentity('observer')
const authority = accountIdentity('authority')
const alice = accountIdentity('alice')
const stranger = accountIdentity('stranger')
const GRANT = 1000
const genesis = testGenesis(
  ids.map((v) => v.peerIdString),
  authority,
  GRANT,
)
const GENESIS_HASH = genesisHash(genesis)
const TIP: ChainTip = {
  height: 0,
  hash: GENESIS_HASH,
  time: genesisTimeMs(genesis),
  stateRoot: genesisStateRoot(GENESIS_HASH),
}
/** the checker's clock: a minute after genesis */
const NOW = TIP.time + 60_000
const validatorSet = new ValidatorSet(genesis.validators)
const ctx = { chainId: CHAIN_ID, validators: validatorSet }
const utf8 = new TextEncoder()

const freshLedger = () => LedgerState.fromGenesis(genesis)

/** Flip one bit of a signature. */
function tamper<T extends { signature: Uint8Array }>(signed: T): T {
  const signature = new Uint8Array(signed.signature)
  signature[3]! ^= 0x10
  return { ...signed, signature }
}

interface BlockSpec {
  txs?: Tx[]
  accounts?: AccountRegistration[]
  /** header fields to set (roots and stateRoot are computed unless given) */
  header?: Partial<BlockHeader>
  /** keep the txs in the given order (default: canonical) */
  unsorted?: boolean
}

/**
 * The txs and registrations of a good block: alice registers and writes a
 * record; the authority grants her gas, paying 5 for it. (Canonical order
 * is by sender, so her tx may run before the grant: it uses no gas.)
 */
function goodBody(): { txs: Tx[]; accounts: AccountRegistration[] } {
  return {
    accounts: [registrationOf(alice, 'alice')],
    txs: [grantTx(authority, alice, 50, { gas: 5 }), signedTx(alice, { nonce: 0 })],
  }
}

/** A block on TIP: roots from its body, stateRoot from executing it, unless the spec says otherwise. */
function makeBlock(spec: BlockSpec = goodBody()): Block {
  const txs = spec.unsorted ? (spec.txs ?? []) : sortTxs(spec.txs ?? [])
  const accounts = spec.accounts ?? []
  const header: BlockHeader = {
    chainId: CHAIN_ID,
    height: TIP.height + 1,
    round: 0,
    parentHash: TIP.hash,
    proposer: v0.peerId,
    time: NOW,
    txRoot: txRoot(txs),
    accountsRoot: accountsRoot(accounts),
    stateRoot: new Uint8Array(32),
    ...spec.header,
  }
  const block: Block = { header, txs, accounts }
  if (spec.header?.stateRoot == null)
    header.stateRoot = executeBlock(freshLedger(), block, TIP.stateRoot).stateRoot
  return block
}

// ------------------------------------------------------------------ checkBlock

describe('checkBlock', () => {
  it('passes a valid block and returns its execution', () => {
    const block = makeBlock()
    for (const now of [NOW, null]) {
      const ledger = freshLedger()
      const check = checkBlock(CHAIN_ID, block, TIP, ledger, now)
      if (!check.ok) throw new Error(`refused: ${check.code} ${check.message}`)
      expect(toHex(check.execution.stateRoot)).toBe(toHex(block.header!.stateRoot))
      expect(check.execution.height).toBe(1)
      expect(check.execution.receipts.accounts.map((r) => r.status)).toEqual([ReceiptStatus.OK])
      expect(check.execution.receipts.txs.map((r) => r.status)).toEqual([
        ReceiptStatus.OK,
        ReceiptStatus.OK,
      ])
      expect(check.execution.accounts.get(authority.address)?.gasUsed).toBe(5)
      expect(check.execution.accounts.get(alice.address)?.nextNonce).toBe(1)
      // checking is not applying
      expect(ledger.account(alice.address)).toBeUndefined()
    }
  })

  it('passes an empty block', () => {
    const check = checkBlock(CHAIN_ID, makeBlock({}), TIP, freshLedger(), NOW)
    expect(check.ok).toBe(true)
  })

  it('bounds the time by the clock only when a clock is given', () => {
    const edge = makeBlock({ ...goodBody(), header: { time: NOW + MAX_CLOCK_DRIFT_MS } })
    expect(checkBlock(CHAIN_ID, edge, TIP, freshLedger(), NOW).ok).toBe(true)
    const ahead = makeBlock({ ...goodBody(), header: { time: NOW + MAX_CLOCK_DRIFT_MS + 1 } })
    const refused = checkBlock(CHAIN_ID, ahead, TIP, freshLedger(), NOW)
    expect(refused.ok ? 'ok' : refused.code).toBe('WRONG_TIME')
    // replaying history: no clock, no bound
    expect(checkBlock(CHAIN_ID, ahead, TIP, freshLedger(), null).ok).toBe(true)
  })

  const good = goodBody()
  const aliceTx = good.txs[1]!
  const grant = good.txs[0]!
  const cases: { name: string; code: string; block: () => Block; now?: number | null }[] = [
    {
      name: 'another chain id',
      code: 'WRONG_CHAIN',
      block: () => makeBlock({ ...goodBody(), header: { chainId: 'other-chain' } }),
    },
    {
      name: 'a height past the next',
      code: 'WRONG_HEIGHT',
      block: () => makeBlock({ ...goodBody(), header: { height: 2 } }),
    },
    {
      name: 'the parent’s height',
      code: 'WRONG_HEIGHT',
      block: () => makeBlock({ ...goodBody(), header: { height: 0 } }),
    },
    {
      name: 'another parent',
      code: 'WRONG_PARENT',
      block: () => makeBlock({ ...goodBody(), header: { parentHash: hashOf('not the parent') } }),
    },
    {
      name: 'the parent’s time',
      code: 'WRONG_TIME',
      block: () => makeBlock({ ...goodBody(), header: { time: TIP.time } }),
    },
    {
      name: 'a time before the parent’s',
      code: 'WRONG_TIME',
      block: () => makeBlock({ ...goodBody(), header: { time: TIP.time - 1 } }),
    },
    {
      name: 'a time further ahead of the clock than MAX_CLOCK_DRIFT_MS',
      code: 'WRONG_TIME',
      block: () => makeBlock({ ...goodBody(), header: { time: NOW + MAX_CLOCK_DRIFT_MS + 1 } }),
      now: NOW,
    },
    {
      name: 'a txRoot over other txs',
      code: 'WRONG_TX_ROOT',
      block: () => makeBlock({ ...goodBody(), header: { txRoot: txRoot([grant]) } }),
    },
    {
      name: 'an accountsRoot over no registrations',
      code: 'WRONG_ACCOUNTS_ROOT',
      block: () => makeBlock({ ...goodBody(), header: { accountsRoot: accountsRoot([]) } }),
    },
    {
      name: 'txs out of canonical order',
      code: 'TX_ORDER',
      block: () =>
        makeBlock({ accounts: good.accounts, txs: sortTxs(good.txs).reverse(), unsorted: true }),
    },
    {
      name: 'a sender’s nonces out of order',
      code: 'TX_ORDER',
      block: () =>
        makeBlock({
          txs: [signedTx(authority, { nonce: 1 }), signedTx(authority, { nonce: 0 })],
          unsorted: true,
        }),
    },
    {
      name: 'a tx twice',
      code: 'TX_ORDER',
      block: () => makeBlock({ accounts: good.accounts, txs: [grant, grant], unsorted: true }),
    },
    {
      name: 'a tx with a tampered signature',
      code: 'INVALID_TX',
      block: () => makeBlock({ accounts: good.accounts, txs: [grant, tamper(aliceTx)] }),
    },
    {
      name: 'a tx signed by another key than its sender’s',
      code: 'INVALID_TX',
      block: () =>
        makeBlock({
          accounts: good.accounts,
          txs: [{ ...signedTx(stranger, { nonce: 0 }), from: alice.from }],
        }),
    },
    {
      name: 'a tx from a sender without an account',
      code: 'INVALID_TX',
      block: () => makeBlock({ txs: [signedTx(stranger, { nonce: 0 })] }),
    },
    {
      name: 'a tx of another chain',
      code: 'INVALID_TX',
      block: () => makeBlock({ txs: [signedTx(authority, { chainId: 'other-chain' })] }),
    },
    {
      name: 'a registration of another chain',
      code: 'INVALID_ACCOUNT',
      block: () => makeBlock({ accounts: [registrationOf(alice, 'alice', 'other-chain')] }),
    },
    {
      name: 'a registration with a bad username',
      code: 'INVALID_ACCOUNT',
      block: () => makeBlock({ accounts: [registrationOf(alice, 'Alice!')] }),
    },
    {
      name: 'a registration with a tampered signature',
      code: 'INVALID_ACCOUNT',
      block: () => makeBlock({ accounts: [tamper(registrationOf(alice, 'alice'))] }),
    },
    {
      name: 'a stateRoot that is not the execution’s',
      code: 'WRONG_STATE_ROOT',
      block: () => makeBlock({ ...goodBody(), header: { stateRoot: hashOf('made up') } }),
    },
    {
      name: 'a stateRoot chained from another parent root',
      code: 'WRONG_STATE_ROOT',
      block: () => {
        const b = makeBlock()
        b.header!.stateRoot = executeBlock(freshLedger(), b, hashOf('other parent')).stateRoot
        return b
      },
    },
    {
      name: 'a stateRoot that ignores a failed tx’s failure',
      code: 'WRONG_STATE_ROOT',
      block: () => {
        // the root of the block where the authority's tx fits its gas, on one where it does not
        const fits = makeBlock({ txs: [signedTx(authority, { nonce: 0, gas: GRANT })] })
        const over = makeBlock({ txs: [signedTx(authority, { nonce: 0, gas: GRANT + 1 })] })
        over.header!.stateRoot = fits.header!.stateRoot
        return over
      },
    },
  ]

  it.each(cases)('refuses $name ($code)', ({ code, block, now }) => {
    const ledger = freshLedger()
    const check = checkBlock(CHAIN_ID, block(), TIP, ledger, now === undefined ? NOW : now)
    expect(check.ok ? 'accepted' : check.code).toBe(code)
    if (!check.ok) expect(check.message.length).toBeGreaterThan(0)
    expect(ledger.accounts.size).toBe(1)
  })

  it('refuses a tx at a nonce the chain has used (NONCE_USED), the very same tx included', () => {
    // block 1: the authority's tx with nonce 0
    const used = signedTx(authority, { nonce: 0, data: utf8.encode('first') })
    const block1 = makeBlock({ txs: [used] })
    const ledger = freshLedger()
    const check1 = checkBlock(CHAIN_ID, block1, TIP, ledger, NOW)
    if (!check1.ok) throw new Error(`refused: ${check1.code}`)
    applyExecution(ledger, check1.execution)
    const tip1: ChainTip = {
      height: 1,
      hash: blockHash(block1.header!),
      time: block1.header!.time,
      stateRoot: check1.execution.stateRoot,
    }
    const next = (txs: Tx[]): Block => {
      const sorted = sortTxs(txs)
      const block: Block = {
        header: {
          ...block1.header!,
          height: 2,
          parentHash: tip1.hash,
          time: tip1.time + 1,
          txRoot: txRoot(sorted),
        },
        txs: sorted,
        accounts: [],
      }
      block.header!.stateRoot = executeBlock(ledger, block, tip1.stateRoot).stateRoot
      return block
    }
    const conflicting = signedTx(authority, { nonce: 0, data: utf8.encode('other') })
    for (const txs of [[used], [conflicting], [used, signedTx(authority, { nonce: 1 })]]) {
      const check = checkBlock(CHAIN_ID, next(txs), tip1, ledger, NOW)
      expect(check.ok ? 'accepted' : check.code).toBe('NONCE_USED')
    }
    // two txs at the next nonce stay valid: the first applies, the second fails in the block
    const both = next([
      signedTx(authority, { nonce: 1, data: utf8.encode('a') }),
      signedTx(authority, { nonce: 1, data: utf8.encode('b') }),
    ])
    const check = checkBlock(CHAIN_ID, both, tip1, ledger, NOW)
    if (!check.ok) throw new Error(`refused: ${check.code} ${check.message}`)
    expect(check.execution.receipts.txs.map((r) => r.reason)).toEqual(['', 'NONCE_USED'])
  })

  it('knows a sender registered by the same block', () => {
    const block = makeBlock({
      accounts: [registrationOf(alice, 'alice')],
      txs: [signedTx(alice, { nonce: 0, data: utf8.encode('first words') })],
    })
    const check = checkBlock(CHAIN_ID, block, TIP, freshLedger(), NOW)
    expect(check.ok).toBe(true)
  })
})

// ------------------------------------------------------------------ validateBlockSync

function validationError(fn: () => void): ValidationError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ValidationError) return err
    throw new Error(`expected a ValidationError, got ${String(err)}`)
  }
  throw new Error('expected a ValidationError, but the message was accepted')
}

const permitCert = (
  subject: Uint8Array,
  signers: NodeIdentity[],
  phase = Phase.BLOCK_PERMIT,
  height = 1,
  round = 0,
): Certificate => certificateFrom(signers.map((s) => blockVoteBy(s, phase, subject, height, round)))

interface PrepareSpec {
  /** the elected candidate, and the block's proposer unless `proposer` says otherwise */
  leader?: NodeIdentity
  proposer?: NodeIdentity
  /** who signs the BlockPrepare (default: the proposer) */
  signer?: NodeIdentity
  height?: number
  round?: number
  header?: Partial<BlockHeader>
  cert?: ElectionCertificate
  block?: Block
  validRound?: number
  validCert?: Certificate
}

/** Who leads (height, round ≥ 1): the rotation leader, as every validator knows. */
const rotationOf = (height: number, round: number): NodeIdentity =>
  ids.find((v) => v.peerIdString === rotationLeader(validatorSet, height, round))!

function prepareOf(spec: PrepareSpec = {}): BlockPrepare {
  const height = spec.height ?? 1
  const round = spec.round ?? 0
  const leader = spec.leader ?? (round > 0 ? rotationOf(height, round) : v0)
  const proposer = spec.proposer ?? leader
  const block =
    spec.block ??
    makeBlock({
      ...goodBody(),
      header: { proposer: proposer.peerId, round, ...spec.header },
    })
  // the round's elected leader signs the proposal, whoever made the block
  return signBlockPrepare((spec.signer ?? leader).signer, CHAIN_ID, {
    height,
    round,
    block,
    electionCert: spec.cert ?? electionCertificate(leader, [v0, v1, v2], height, round),
    ...(spec.validRound !== undefined ? { validRound: spec.validRound } : {}),
    ...(spec.validCert ? { validCert: spec.validCert } : {}),
  })
}

describe('validateBlockSync: BlockPrepare', () => {
  it('accepts a proposal by the elected candidate with a good election certificate', () => {
    expect(() => validateBlockSync(ctx, { prepare: prepareOf() })).not.toThrow()
    // any q of the validators, in any order
    const cert = electionCertificate(v2, [v3, v1, v0, v2], 1, 0)
    expect(() => validateBlockSync(ctx, { prepare: prepareOf({ leader: v2, cert }) })).not.toThrow()
  })

  const tamperedCert = (): ElectionCertificate => {
    const c = electionCertificate(v0, [v0, v1, v2], 1, 0)
    return {
      ...c,
      signatures: c.signatures.map((s, i) => (i === 2 ? tamper(s) : s)),
    }
  }

  const cases: { name: string; code: string; prepare: () => BlockPrepare }[] = [
    {
      name: 'a proposer that is not the elected candidate',
      code: 'NOT_ELECTED',
      prepare: () => prepareOf({ leader: v0, proposer: v1 }),
    },
    {
      name: 'a signature by another validator than the proposer',
      code: 'BAD_SIGNATURE',
      prepare: () => prepareOf({ leader: v0, signer: v1 }),
    },
    {
      name: 'an election certificate with too few signers',
      code: 'ELECTION_TOO_FEW_SIGNERS',
      prepare: () => prepareOf({ cert: electionCertificate(v0, [v0, v1], 1, 0) }),
    },
    {
      name: 'an election certificate with a signer twice',
      code: 'ELECTION_DUPLICATE_SIGNER',
      prepare: () => prepareOf({ cert: electionCertificate(v0, [v0, v1, v1], 1, 0) }),
    },
    {
      name: 'an election certificate signed by a non-validator',
      code: 'ELECTION_NOT_A_VALIDATOR',
      prepare: () => prepareOf({ cert: electionCertificate(v0, [v0, v1, observer], 1, 0) }),
    },
    {
      name: 'an election certificate with a tampered signature',
      code: 'ELECTION_BAD_SIGNATURE',
      prepare: () => prepareOf({ cert: tamperedCert() }),
    },
    {
      name: 'an election certificate of another round',
      code: 'ELECTION_WRONG_ROUND',
      prepare: () => prepareOf({ cert: electionCertificate(v0, [v0, v1, v2], 1, 1) }),
    },
    {
      name: 'an election certificate of another height',
      code: 'ELECTION_WRONG_HEIGHT',
      prepare: () => prepareOf({ cert: electionCertificate(v0, [v0, v1, v2], 2, 0) }),
    },
    {
      name: 'an elected non-validator',
      code: 'ELECTION_WRONG_CANDIDATE',
      prepare: () =>
        prepareOf({ leader: observer, cert: electionCertificate(observer, [v0, v1, v2], 1, 0) }),
    },
    {
      name: 'a header height other than the message’s',
      code: 'HEADER_MISMATCH',
      prepare: () => prepareOf({ header: { height: 2 } }),
    },
    {
      name: 'a new block whose header round is not the message’s',
      code: 'HEADER_MISMATCH',
      prepare: () => prepareOf({ header: { round: 1 } }),
    },
    {
      name: 'a block of another chain',
      code: 'WRONG_CHAIN',
      prepare: () => prepareOf({ header: { chainId: 'other-chain' } }),
    },
    {
      name: 'a valid-block certificate of the wrong phase',
      code: 'CERT_WRONG_PHASE',
      prepare: () => {
        const block = makeBlock({ ...goodBody(), header: { proposer: v0.peerId } })
        const hash = blockHash(block.header!)
        return prepareOf({
          round: 1,
          block,
          validRound: 0,
          validCert: permitCert(hash, [v0, v1, v2], Phase.BLOCK_COMMIT),
        })
      },
    },
    {
      name: 'a valid-block certificate of another round than validRound',
      code: 'CERT_WRONG_ROUND',
      prepare: () => {
        const block = makeBlock({ ...goodBody(), header: { proposer: v0.peerId } })
        const hash = blockHash(block.header!)
        return prepareOf({
          round: 2,
          block,
          validRound: 0,
          validCert: permitCert(hash, [v0, v1, v2], Phase.BLOCK_PERMIT, 1, 1),
        })
      },
    },
    {
      name: 'a valid round that is not before the proposal round',
      code: 'BAD_VALID_ROUND',
      prepare: () => {
        const block = makeBlock({ ...goodBody(), header: { proposer: v0.peerId } })
        return prepareOf({
          round: 0,
          block,
          validRound: 0,
          validCert: permitCert(blockHash(block.header!), [v0, v1, v2]),
        })
      },
    },
    {
      name: 'a valid-block certificate with too few signers',
      code: 'CERT_TOO_FEW_SIGNERS',
      prepare: () => {
        const block = makeBlock({ ...goodBody(), header: { proposer: v0.peerId } })
        return prepareOf({
          round: 1,
          block,
          validRound: 0,
          validCert: permitCert(blockHash(block.header!), [v0, v1]),
        })
      },
    },
  ]

  it.each(cases)('rejects $name ($code)', ({ code, prepare }) => {
    const err = validationError(() => validateBlockSync(ctx, { prepare: prepare() }))
    expect(err.action).toBe('reject')
    expect(err.code).toBe(code)
  })

  it('ignores (does not reject) a proposal of a height this node has passed', () => {
    const err = validationError(() =>
      validateBlockSync({ ...ctx, height: () => 2 }, { prepare: prepareOf() }),
    )
    expect(err.action).toBe('ignore')
    expect(err.code).toBe('STALE_HEIGHT')
  })

  // A leader re-proposes its valid block (DESIGN §6, Tendermint line 16):
  // the block is the one q validators permitted in round vr, unchanged, so
  // its header keeps the round it was made in and the proposer that made
  // it; the BlockPrepare is for the current round, by its elected leader.
  describe('the re-proposal of a valid block in a later round', () => {
    const block = makeBlock({ ...goodBody(), header: { proposer: v0.peerId, round: 0 } })
    const hash = blockHash(block.header!)
    const validCert = permitCert(hash, [v0, v1, v2], Phase.BLOCK_PERMIT, 1, 0)

    it('is accepted from its maker, leading again in a later round (3 is v0’s turn)', () => {
      expect(rotationOf(1, 3)).toBe(v0)
      const prepare = prepareOf({ leader: v0, round: 3, block, validRound: 0, validCert })
      expect(bytesEqual(blockHash(prepare.block!.header!), hash)).toBe(true)
      expect(() => validateBlockSync(ctx, { prepare })).not.toThrow()
    })

    it('is accepted from the rotation leader of round 1, another validator', () => {
      const prepare = prepareOf({ round: 1, block, validRound: 0, validCert })
      expect(rotationOf(1, 1)).not.toBe(v0)
      expect(() => validateBlockSync(ctx, { prepare })).not.toThrow()
    })

    it('is refused from a validator that does not lead the round, before any signature', () => {
      const notLeader = ids.find((v) => v !== rotationOf(1, 1))!
      const prepare = prepareOf({ leader: notLeader, round: 1, block, validRound: 0, validCert })
      prepare.signature = new Uint8Array(64)
      const err = validationError(() => validateBlockSync(ctx, { prepare }))
      expect([err.action, err.code]).toEqual(['reject', 'NOT_ROTATION_LEADER'])
    })
  })
})

describe('validateBlockSync: Add and Final', () => {
  const block = makeBlock()
  const hash = blockHash(block.header!)
  const other = hashOf('another block')

  const addWith = (cert: Certificate, round = 0): Add =>
    signAdd(v0.signer, CHAIN_ID, { height: 1, round, blockHash: hash, permitCert: cert })
  const finalWith = (cert: Certificate, height = 1): Final => ({
    height,
    round: 0,
    blockHash: hash,
    commitCert: cert,
  })
  const tamperedCert = (phase: Phase): Certificate => {
    const c = permitCert(hash, [v0, v1, v2], phase)
    return { ...c, signatures: c.signatures.map((s, i) => (i === 1 ? tamper(s) : s)) }
  }
  const rejects = (phase: Phase): Certificate =>
    certificateFrom([v0, v1, v2].map((s) => blockVoteBy(s, phase, hash, 1, 0, RejectReason.LOCKED)))

  const forgeries = (right: Phase, wrong: Phase) => [
    {
      name: 'the wrong phase',
      code: 'CERT_WRONG_PHASE',
      cert: permitCert(hash, [v0, v1, v2], wrong),
    },
    {
      name: 'too few signers',
      code: 'CERT_TOO_FEW_SIGNERS',
      cert: permitCert(hash, [v0, v1], right),
    },
    {
      name: 'a signer twice',
      code: 'CERT_DUPLICATE_SIGNER',
      cert: permitCert(hash, [v0, v1, v1], right),
    },
    {
      name: 'a non-validator signer',
      code: 'CERT_NOT_A_VALIDATOR',
      cert: permitCert(hash, [v0, v1, observer], right),
    },
    {
      name: 'another subject',
      code: 'CERT_WRONG_SUBJECT',
      cert: permitCert(other, [v0, v1, v2], right),
    },
    {
      name: 'another height',
      code: 'CERT_WRONG_HEIGHT',
      cert: permitCert(hash, [v0, v1, v2], right, 2, 0),
    },
    { name: 'a tampered signature', code: 'CERT_BAD_SIGNATURE', cert: tamperedCert(right) },
    { name: 'signed rejects', code: 'CERT_BAD_SIGNATURE', cert: rejects(right) },
  ]

  it('forwards the first valid Final of the block just below its height, once (observers need it)', () => {
    const gate = new GossipGate()
    // this node decided block 1 on its own count of the commit votes: it is at height 2
    const at2 = { ...ctx, gate, height: () => 2 }
    const final = { final: finalWith(permitCert(hash, [v0, v1, v2], Phase.BLOCK_COMMIT)) }
    const other = { final: finalWith(permitCert(hash, [v1, v2, v3], Phase.BLOCK_COMMIT)) }
    // a forged one is still refused, and the sender blamed
    expect(
      validationError(() =>
        validateBlockSync(at2, { final: finalWith(tamperedCert(Phase.BLOCK_COMMIT)) }),
      ).action,
    ).toBe('reject')
    expect(() => validateBlockSync(at2, final)).not.toThrow()
    expect(validationError(() => validateBlockSync(at2, other)).code).toBe('STALE_HEIGHT')
    // further below, or without a gate to remember it: stale as any
    expect(validationError(() => validateBlockSync({ ...at2, height: () => 3 }, final)).code).toBe(
      'STALE_HEIGHT',
    )
    expect(validationError(() => validateBlockSync({ ...ctx, height: () => 2 }, final)).code).toBe(
      'STALE_HEIGHT',
    )
  })

  it('accepts an Add with q permits and a Final with q commit votes', () => {
    expect(() =>
      validateBlockSync(ctx, { add: addWith(permitCert(hash, [v1, v2, v3])) }),
    ).not.toThrow()
    expect(() =>
      validateBlockSync(ctx, {
        final: finalWith(permitCert(hash, [v0, v1, v2, v3], Phase.BLOCK_COMMIT)),
      }),
    ).not.toThrow()
  })

  it.each(forgeries(Phase.BLOCK_PERMIT, Phase.BLOCK_COMMIT))(
    'rejects an Add whose certificate has $name ($code)',
    ({ code, cert }) => {
      const err = validationError(() => validateBlockSync(ctx, { add: addWith(cert) }))
      expect(err.action).toBe('reject')
      expect(err.code).toBe(code)
    },
  )

  it('rejects an Add whose certificate is of another round (CERT_WRONG_ROUND)', () => {
    const err = validationError(() =>
      validateBlockSync(ctx, { add: addWith(permitCert(hash, [v0, v1, v2]), 1) }),
    )
    expect(err.action).toBe('reject')
    expect(err.code).toBe('CERT_WRONG_ROUND')
  })

  it.each(forgeries(Phase.BLOCK_COMMIT, Phase.BLOCK_PERMIT))(
    'rejects a Final whose certificate has $name ($code)',
    ({ code, cert }) => {
      const err = validationError(() => validateBlockSync(ctx, { final: finalWith(cert) }))
      expect(err.action).toBe('reject')
      expect(err.code).toBe(code)
    },
  )
})
