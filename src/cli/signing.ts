/**
 * What the account, tx and gas commands share: argument checks, account key
 * files, API calls that keep the HTTP status and error code, and building,
 * signing and submitting a tx (SPEC "Commands", DESIGN §5 and §7). Keys are
 * read and used here, on the user's machine; only signatures go to the node.
 */
import { readFile } from 'node:fs/promises'
import { InvalidArgumentError } from 'commander'
import { type TxJson, txToJson } from '../core/chain/json.js'
import { MAX_TX_DATA_BYTES, type Tx } from '../core/codec/index.js'
import { reached, type TxStatus } from '../core/consensus/types.js'
import { type AccountKey, readAccountKey } from '../node/keys/account-key.js'
import { type ApiAnswer, ApiError, apiCall } from './client.js'
import { CliError, print, printJson } from './output.js'

// ------------------------------------------------------------------ arguments

const HEX64 = /^[0-9a-fA-F]{64}$/

/** A 64-hex-character address or hash (either case), as lower-case hex; `name` is for the error. */
export function parseHex64(value: string, name: string): string {
  if (!HEX64.test(value)) throw new CliError(`${name} must be 64 hex characters`)
  return value.toLowerCase()
}

/** An integer flag value > 0 (gas amounts). */
export function positiveIntOption(value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n === 0)
    throw new InvalidArgumentError('must be a positive integer')
  return n
}

/** The key file behind --key; its errors name the file and the field. */
export function loadKey(file: string): Promise<AccountKey> {
  return readAccountKey(file)
}

// ------------------------------------------------------------------ the API

/** GET /status → the chain id everything is signed for. */
export async function fetchChainId(api: string): Promise<string> {
  const { body } = await apiCall<{ chainId?: unknown }>(api, 'status')
  if (typeof body?.chainId !== 'string' || body.chainId.length === 0) {
    throw new CliError(`the node at ${api} did not say its chain id (GET /status)`)
  }
  return body.chainId
}

/** GET /accounts/:address */
export interface AccountView {
  address: string
  username: string
  data: string
  keyType: 'ed25519' | 'rsa'
  publicKey: string
  status: 'pending' | 'final'
  nonce: number
  /** the nonce the next tx should use: counts the sender's txs in the pool */
  pendingNonce: number
  /** the height of the block that included it; null while pending */
  registeredAt: number | null
}

/** The account, or a NOT_FOUND error that says where to look. */
export async function fetchAccount(api: string, address: string): Promise<AccountView> {
  try {
    return (await apiCall<AccountView>(api, `accounts/${address}`)).body
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      throw new ApiError(
        `NOT_FOUND: no account ${address} on ${api} (a new registration takes a moment to reach every node)`,
        404,
        'NOT_FOUND',
      )
    }
    throw err
  }
}

/**
 * The nonce a new tx from `address` should use: the node's pendingNonce
 * (GET /accounts/:address, which answers for genesis authorities too).
 */
export async function nextNonce(
  api: string,
  address: string,
  sender: 'account' | 'authority' = 'account',
): Promise<number> {
  let account: AccountView
  try {
    account = await fetchAccount(api, address)
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      throw new CliError(
        sender === 'account'
          ? `UNKNOWN_SENDER: ${address} is not a registered account on ${api} (register one with: bftchain account new)`
          : `UNKNOWN_SENDER: the node at ${api} knows no account or authority ${address}; is the key a gas authority of this chain's genesis? (--nonce N sends anyway)`,
      )
    }
    throw err
  }
  if (!Number.isSafeInteger(account.pendingNonce) || account.pendingNonce < 0) {
    throw new CliError(`the node at ${api} gave no pendingNonce for ${address}; pass --nonce N`)
  }
  return account.pendingNonce
}

// ------------------------------------------------------------------ txs

export type { TxStatus }
export type WaitFor = 'committed' | 'final'

export interface TxReason {
  code: string
  message: string
}

/** Has a tx in `status` got as far as `wait`? (one rule for the API, the client and the CLI) */
export { reached }

/** `--wait` alone means final (SPEC: "returns when it is in a final block"). */
export function parseWait(value: string | boolean | undefined): WaitFor | null {
  if (value === undefined || value === false) return null
  if (value === true || value === 'final') return 'final'
  if (value === 'committed') return 'committed'
  throw new CliError(`--wait must be committed or final (or nothing, for final), not "${value}"`)
}

/** The tx's payload: --data TEXT or --data-file FILE (bytes), at most MAX_TX_DATA_BYTES. */
export async function readTxData(opts: { data?: string; dataFile?: string }): Promise<Uint8Array> {
  if (opts.data !== undefined && opts.dataFile !== undefined) {
    throw new CliError('give --data or --data-file, not both')
  }
  let bytes: Uint8Array
  if (opts.dataFile !== undefined) {
    try {
      bytes = new Uint8Array(await readFile(opts.dataFile))
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      throw new CliError(
        `--data-file ${opts.dataFile}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code})`}`,
      )
    }
  } else if (opts.data !== undefined) {
    bytes = new TextEncoder().encode(opts.data)
  } else {
    throw new CliError('give the data to write: --data TEXT or --data-file FILE')
  }
  if (bytes.length > MAX_TX_DATA_BYTES) {
    throw new CliError(`the data is ${bytes.length} bytes; a tx holds at most ${MAX_TX_DATA_BYTES}`)
  }
  return bytes
}

/** Building and signing a tx is the client library's (src/client): the CLI uses the same. */
export { buildTx, type TxContent } from '../client/index.js'

export interface SubmitResult {
  hash: string
  status: TxStatus
  reason?: TxReason | null
  /** where the tx stands in the chain, once final */
  block?: { height: number; index: number } | null
}

/** What `tx send` and `gas grant` print with --json. */
export interface SentTx extends SubmitResult {
  tx: TxJson
}

/** How long the CLI waits for the answer beyond the server's own wait. */
const WAIT_SLACK_MS = 15_000
export const DEFAULT_WAIT_TIMEOUT_MS = 60_000

/**
 * POST /transactions, with ?wait=…&timeoutMs=… when asked to wait. Returns
 * the node's answer and whether a wait ran out (a 202 to a waiting request).
 */
export async function submitTx(
  api: string,
  tx: Tx,
  hash: string,
  wait: WaitFor | null,
  timeoutMs: number,
): Promise<{ sent: SentTx; timedOut: boolean }> {
  const query = wait ? `?wait=${wait}&timeoutMs=${timeoutMs}` : ''
  let answer: ApiAnswer<SubmitResult>
  try {
    answer = await apiCall<SubmitResult>(api, `transactions${query}`, {
      method: 'POST',
      body: txToJson(tx),
      timeoutMs: wait ? timeoutMs + WAIT_SLACK_MS : undefined,
    })
  } catch (err) {
    if (err instanceof ApiError) throw err
    // the node may hold the tx even though we never heard back: name it
    throw new CliError(
      `${(err as Error).message}; tx ${hash} may still be in flight (tx show ${hash})`,
    )
  }
  const sent: SentTx = {
    hash: answer.body?.hash ?? hash,
    status: answer.body?.status ?? 'pending',
    ...(answer.body?.reason != null ? { reason: answer.body.reason } : {}),
    ...(answer.body?.block != null ? { block: answer.body.block } : {}),
    tx: txToJson(tx),
  }
  const timedOut = wait != null && sent.status !== 'failed' && !reached(sent.status, wait)
  return { sent, timedOut }
}

/**
 * Report a submitted tx: --json prints the answer; a failed tx or a wait that
 * ran out is then an error (one line, exit 1); otherwise `human` is printed.
 */
export function finishTx(
  result: { sent: SentTx; timedOut: boolean },
  opts: { json?: boolean; timeoutMs: number },
  human: () => string,
): void {
  const { sent, timedOut } = result
  if (opts.json) printJson(sent)
  if (sent.status === 'failed') {
    const r = sent.reason
    throw new CliError(
      `tx ${sent.hash} failed: ${r ? `${r.code}: ${r.message}` : 'no reason given'}`,
    )
  }
  if (timedOut) {
    throw new CliError(
      `tx ${sent.hash} is still ${sent.status} after ${opts.timeoutMs} ms (follow it with: bftchain tx show ${sent.hash})`,
    )
  }
  if (!opts.json) print(human())
}
