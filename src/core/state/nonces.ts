/**
 * An account's nonces, used in any order (DESIGN §4): each nonce once, whatever the order its
 * txs reach blocks in. A tx is certified (committed) before any block holds it, so a later nonce
 * may go final while an earlier one is still in its round; with nonces in strict order the
 * earlier one would then fail after its client was told it is committed.
 *
 * The account keeps `nextNonce`, one past the highest nonce used (what a client takes for a new
 * tx), and `missingNonces`: the nonces below it, within NONCE_WINDOW of it, that no tx has used
 * yet. A nonce is used when it is below `nextNonce` and not missing. Using a nonce at or past
 * `nextNonce` leaves the ones it jumps over missing; the window forgets the oldest, so the list
 * holds at most NONCE_WINDOW - 1 nonces: a tx at a nonce more than NONCE_WINDOW below the
 * account's highest fails NONCE_USED, as if used (a client never has that many in flight).
 * An account whose txs come in order has no missing nonce, and stores what it stored before.
 */

/** How far below an account's highest used nonce an unused one may still be used. */
export const NONCE_WINDOW = 1_024

/** What of an account its nonces are. */
export interface NonceState {
  nextNonce: number
  /** ascending, each below nextNonce and at least nextNonce - NONCE_WINDOW */
  missingNonces: number[]
}

/** Has the account used `nonce` (or let it fall out of the window)? No account: none used. */
export function nonceUsed(account: NonceState | undefined, nonce: number): boolean {
  if (account == null || nonce >= account.nextNonce) return false
  if (nonce < account.nextNonce - NONCE_WINDOW) return true
  return !includesSorted(account.missingNonces, nonce)
}

/** Mark `nonce` used (the caller checked it was not). */
export function useNonce(account: NonceState, nonce: number): void {
  const missing = account.missingNonces
  if (nonce < account.nextNonce) {
    const i = indexOfSorted(missing, nonce)
    if (i >= 0) missing.splice(i, 1)
    return
  }
  // the nonces it jumps over, within the window, become missing
  const floor = nonce + 1 - NONCE_WINDOW
  for (let n = Math.max(account.nextNonce, floor); n < nonce; n++) missing.push(n)
  account.nextNonce = nonce + 1
  let drop = 0
  while (drop < missing.length && missing[drop]! < floor) drop++
  if (drop > 0) missing.splice(0, drop)
}

function indexOfSorted(xs: readonly number[], x: number): number {
  let lo = 0
  let hi = xs.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const v = xs[mid]!
    if (v === x) return mid
    if (v < x) lo = mid + 1
    else hi = mid - 1
  }
  return -1
}

function includesSorted(xs: readonly number[], x: number): boolean {
  return xs.length > 0 && indexOfSorted(xs, x) >= 0
}
