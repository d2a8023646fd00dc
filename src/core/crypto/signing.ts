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

/** `len(chainId) || chainId || len(kind) || kind` by chain id and kind (a node knows one or two chains). */
const prefixes = new Map<string, Uint8Array>()
const MAX_PREFIXES = 64

function prefixOf(chainId: string, kind: SignKind): Uint8Array {
  const id = `${kind}\u0000${chainId}`
  let prefix = prefixes.get(id)
  if (prefix != null) return prefix
  const c = utf8.encode(chainId)
  const k = utf8.encode(kind)
  if (c.length > 255 || k.length > 255)
    throw new RangeError('chain id or kind longer than 255 bytes')
  prefix = new Uint8Array(2 + c.length + k.length)
  prefix[0] = c.length
  prefix.set(c, 1)
  prefix[1 + c.length] = k.length
  prefix.set(k, 2 + c.length)
  if (prefixes.size >= MAX_PREFIXES) prefixes.clear()
  prefixes.set(id, prefix)
  return prefix
}

export function signingBytes(chainId: string, kind: SignKind, body: Uint8Array): Uint8Array {
  const prefix = prefixOf(chainId, kind)
  const out = new Uint8Array(prefix.length + body.length)
  out.set(prefix, 0)
  out.set(body, prefix.length)
  return out
}
