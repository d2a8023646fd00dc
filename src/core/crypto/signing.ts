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

export function signingBytes(chainId: string, kind: SignKind, body: Uint8Array): Uint8Array {
  const c = utf8.encode(chainId)
  const k = utf8.encode(kind)
  if (c.length > 255 || k.length > 255)
    throw new RangeError('chain id or kind longer than 255 bytes')
  const out = new Uint8Array(2 + c.length + k.length + body.length)
  out[0] = c.length
  out.set(c, 1)
  out[1 + c.length] = k.length
  out.set(k, 2 + c.length)
  out.set(body, 2 + c.length + k.length)
  return out
}
