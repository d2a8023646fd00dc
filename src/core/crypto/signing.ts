/**
 * Domain separation: every signature in bftchain is over
 * `len(chainId) || chainId || len(kind) || kind || bytes`, so a signature made
 * for one kind of message or one chain can never be replayed as another.
 */
export enum SignKind {
  Tx = 'tx',
  Account = 'account',
  Vote = 'vote',
  /** a target's batch of txs (the batch header) */
  TxBatch = 'tx-batch',
  /** a validator's answer to a batch in one phase */
  BatchVote = 'batch-vote',
  ElectionRequest = 'election-request',
  ElectionVote = 'election-vote',
  BlockPrepare = 'block-prepare',
  Add = 'add',
  Login = 'login',
}

const utf8 = new TextEncoder()

/**
 * `len(chainId) || chainId || len(kind) || kind` by kind, then chain id (a node knows one or two
 * chains): two lookups, no key string built per signature.
 */
const prefixes = new Map<SignKind, Map<string, Uint8Array>>()
const MAX_PREFIXES = 64

function prefixOf(chainId: string, kind: SignKind): Uint8Array {
  let byChain = prefixes.get(kind)
  const prefix = byChain?.get(chainId)
  if (prefix != null) return prefix
  const c = utf8.encode(chainId)
  const k = utf8.encode(kind)
  if (c.length > 255 || k.length > 255)
    throw new RangeError('chain id or kind longer than 255 bytes')
  const made = new Uint8Array(2 + c.length + k.length)
  made[0] = c.length
  made.set(c, 1)
  made[1 + c.length] = k.length
  made.set(k, 2 + c.length)
  if (byChain == null) {
    byChain = new Map()
    prefixes.set(kind, byChain)
  }
  // chain ids come from messages: a table of them stays small
  if (byChain.size >= MAX_PREFIXES) byChain.clear()
  byChain.set(chainId, made)
  return made
}

/** What `signingView` writes into: grown to the largest message seen, reused for every check. */
let scratch = new Uint8Array(1024)

/**
 * The bytes `signingBytes` gives, as a view of one scratch array that the next call overwrites:
 * for a check that reads them at once and keeps nothing (an Ed25519 check of a tx makes no array
 * of its own, and an array above 64 bytes is an allocation outside V8's heap).
 */
export function signingView(chainId: string, kind: SignKind, body: Uint8Array): Uint8Array {
  const prefix = prefixOf(chainId, kind)
  const size = prefix.length + body.length
  if (size > scratch.length) scratch = new Uint8Array(Math.max(size, 2 * scratch.length))
  scratch.set(prefix, 0)
  scratch.set(body, prefix.length)
  return scratch.subarray(0, size)
}

export function signingBytes(chainId: string, kind: SignKind, body: Uint8Array): Uint8Array {
  const prefix = prefixOf(chainId, kind)
  const out = new Uint8Array(prefix.length + body.length)
  out.set(prefix, 0)
  out.set(body, prefix.length)
  return out
}
