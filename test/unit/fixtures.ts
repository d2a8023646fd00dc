/**
 * Deterministic test material shared by the unit tests: keys derived from
 * labels, real Ed25519 peer ids, hashes, signatures and a seeded PRNG. No
 * Math.random anywhere, so every failure replays.
 */
import { type Genesis, parseGenesis, type Timeouts } from '../../src/core/chain/genesis.js'
import { signAccount, signElectionVote, signTx, signVote } from '../../src/core/chain/signatures.js'
import {
  type AccountRegistration,
  type ElectionCertificate,
  GasGrantCodec,
  type Phase,
  RejectReason,
  type Tx,
  TxKind,
  type Vote,
  VoteResult,
} from '../../src/core/codec/index.js'
import { sha256, toHex } from '../../src/core/crypto/hash.js'
import { addressOf, type Signer, sign, signerFromPrivateKey } from '../../src/core/crypto/keys.js'
import { peerIdFromPublicKey, peerIdToString } from '../../src/core/crypto/peer-id.js'
import { SignKind } from '../../src/core/crypto/signing.js'

const utf8 = new TextEncoder()

export const CHAIN_ID = 'bftchain-test'

/** A 32-byte hash derived from a label. */
export function hashOf(label: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(sha256(utf8.encode(label)))
}

/** An Ed25519 signer whose 32-byte seed is sha256(label). */
export function ed25519Signer(label: string): Signer {
  return signerFromPrivateKey('ed25519', hashOf(`seed:${label}`))
}

/** A node identity: its signer, the peer id bytes and the peer id text. */
export interface NodeIdentity {
  signer: Signer
  peerId: Uint8Array<ArrayBuffer>
  peerIdString: string
}

export function nodeIdentity(label: string): NodeIdentity {
  const signer = ed25519Signer(label)
  const peerId = new Uint8Array(peerIdFromPublicKey(signer.publicKey))
  return { signer, peerId, peerIdString: peerIdToString(peerId) }
}

/** n validator identities, the same for the same n. */
export function validators(n: number): NodeIdentity[] {
  return Array.from({ length: n }, (_, i) => nodeIdentity(`validator-${i}`))
}

/** A real 64-byte Ed25519 signature by `who` over `label`. */
export function signatureOf(who: NodeIdentity, label: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(sign(who.signer, CHAIN_ID, SignKind.Vote, utf8.encode(label)))
}

/** xorshift32: a tiny seeded PRNG. */
export class Xorshift {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    let x = this.state
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    this.state = x
    return x
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return this.next() % n
  }

  bytes(length: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(length)
    for (let i = 0; i < length; i++) out[i] = this.next() & 0xff
    return out
  }
}

/** Concatenate byte arrays. */
export function concatBytes(...parts: ArrayLike<number>[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

// ------------------------------------------------------------------ accounts, txs, genesis

/** An account key: its signer, its address as bytes (a tx's `from`) and as hex. */
export interface AccountIdentity {
  signer: Signer
  from: Uint8Array<ArrayBuffer>
  address: string
}

/** An Ed25519 account whose key is derived from `label`. */
export function accountIdentity(label: string): AccountIdentity {
  const signer = ed25519Signer(`account:${label}`)
  const from = new Uint8Array(addressOf(signer.publicKey))
  return { signer, from, address: toHex(from) }
}

/** A tx signed by `who`: a data tx at nonce 0 with no gas unless told otherwise. */
export function signedTx(
  who: AccountIdentity,
  fields: Partial<Omit<Tx, 'signature' | 'from'>> = {},
): Tx {
  return signTx(who.signer, {
    chainId: CHAIN_ID,
    kind: TxKind.DATA,
    nonce: 0,
    gas: 0,
    data: utf8.encode('hello'),
    ...fields,
    from: who.from,
  })
}

/** A registration of `who` under `username`, signed by the key it registers. */
export function registrationOf(
  who: AccountIdentity,
  username: string,
  chainId = CHAIN_ID,
): AccountRegistration {
  return signAccount(who.signer, { chainId, username, data: '' })
}

export const GENESIS_TIME = '2026-01-01T00:00:00.000Z'

/** A genesis of `validatorIds` with one gas authority holding `grant`. */
export function testGenesis(
  validatorIds: string[],
  authority: AccountIdentity,
  grant: number,
  timeouts: Partial<Timeouts> = {},
): Genesis {
  return parseGenesis({
    chainId: CHAIN_ID,
    genesisTime: GENESIS_TIME,
    validators: validatorIds,
    authorities: [
      {
        address: authority.address,
        keyType: 'ed25519',
        publicKey: Buffer.from(authority.signer.publicKey).toString('base64'),
        grant,
      },
    ],
    timeouts,
  })
}

/** `genesis` with gas lots expiring after `gasWindowMs` (0: never). */
export function withGasWindow(genesis: Genesis, gasWindowMs: number): Genesis {
  return parseGenesis({ ...genesis, gasWindowMs })
}

/** A gas grant of `amount` to `to`, signed by `who` (an authority, or not). */
export function grantTx(
  who: AccountIdentity,
  to: AccountIdentity,
  amount: number,
  fields: Partial<Omit<Tx, 'signature' | 'from' | 'kind' | 'data'>> = {},
): Tx {
  return signedTx(who, {
    ...fields,
    kind: TxKind.GAS_GRANT,
    data: GasGrantCodec.encode({ to: to.from, amount }),
  })
}

/** An election certificate for `candidate` in (height, round), signed by `voters`. */
export function electionCertificate(
  candidate: NodeIdentity,
  voters: NodeIdentity[],
  height: number,
  round: number,
): ElectionCertificate {
  return {
    height,
    round,
    candidate: candidate.peerId,
    signatures: voters.map((v) => {
      const vote = signElectionVote(v.signer, CHAIN_ID, {
        height,
        round,
        candidate: candidate.peerId,
        voter: v.peerId,
      })
      return { voter: vote.voter, signature: vote.signature }
    }),
  }
}

/** A block vote signed by `who`: a permit unless a reject reason is given. */
export function blockVoteBy(
  who: NodeIdentity,
  phase: Phase,
  subject: Uint8Array,
  height: number,
  round: number,
  why: RejectReason = RejectReason.NONE,
): Vote {
  return signVote(who.signer, CHAIN_ID, {
    phase,
    subject,
    height,
    round,
    result: why === RejectReason.NONE ? VoteResult.PERMIT : VoteResult.REJECT,
    reason: why,
    voter: who.peerId,
  })
}
