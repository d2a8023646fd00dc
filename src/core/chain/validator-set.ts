import { type PeerIdString, peerIdFromString, peerIdToPublicKey } from '../crypto/peer-id.js'
import { faultTolerance, quorum } from './quorum.js'

/** The validators of genesis, with what checking their votes needs. */
export class ValidatorSet {
  readonly ids: readonly PeerIdString[]
  readonly size: number
  readonly quorum: number
  readonly f: number
  private readonly keys = new Map<PeerIdString, Uint8Array>()

  constructor(ids: readonly PeerIdString[]) {
    if (ids.length === 0) throw new RangeError('a validator set needs at least one validator')
    if (new Set(ids).size !== ids.length) throw new RangeError('duplicate validator ids')
    this.ids = [...ids]
    this.size = ids.length
    this.quorum = quorum(ids.length)
    this.f = faultTolerance(ids.length)
    for (const id of ids) this.keys.set(id, peerIdToPublicKey(peerIdFromString(id)))
  }

  has(id: PeerIdString): boolean {
    return this.keys.has(id)
  }

  /** The Ed25519 public key behind a validator's peer id, or undefined for a non-validator. */
  publicKey(id: PeerIdString): Uint8Array | undefined {
    return this.keys.get(id)
  }

  indexOf(id: PeerIdString): number {
    return this.ids.indexOf(id)
  }
}
