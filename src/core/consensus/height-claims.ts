/**
 * How far ahead of this node the chain is, by what it can verify. A
 * validator leaves consensus to catch up only on
 *  - a certificate it checked for a height above its own: a commit
 *    certificate for block H proves H final; an election or permit
 *    certificate at height H proves q validators hold block H − 1;
 *  - the heads that f + 1 distinct validators report (in their status
 *    answers or their signed election messages): one of them is honest.
 * One peer's word — a status answer, one validator's message, anything an
 * observer says — is a hint for fetching in the background, never a reason
 * to stop voting. Bound: one number per validator.
 */
import type { ValidatorSet } from '../chain/validator-set.js'
import type { PeerIdString } from '../crypto/peer-id.js'

export class HeightClaims {
  /** the head each validator last claimed (only ever raised) */
  private readonly claims = new Map<PeerIdString, number>()
  /** the highest head a verified certificate proves */
  private proven = 0

  constructor(private readonly validators: ValidatorSet) {}

  /** A validator says its head is `head`. */
  claim(validator: PeerIdString, head: number): void {
    if (!this.validators.has(validator)) return
    if ((this.claims.get(validator) ?? -1) < head) this.claims.set(validator, head)
  }

  /** A certificate this node checked proves the chain holds `head`. */
  prove(head: number): void {
    if (head > this.proven) this.proven = head
  }

  /** The head the chain has for certain: proven, or claimed by f + 1 validators. */
  trusted(): number {
    const heads = [...this.claims.values()].sort((a, b) => b - a)
    const byValidators = heads[this.validators.f] ?? 0
    return Math.max(this.proven, byValidators)
  }
}
