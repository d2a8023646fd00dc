/**
 * A typed client of a bftchain node's HTTP API (`import { BftchainClient }
 * from 'bftchain/client'`): key files, signing, submitting one tx or many,
 * waiting for committed or final, status, blocks, accounts and balances, the
 * event stream as an async iterator, and errors as BftchainError carrying
 * the API's code (and the field, when the node named one). The CLI and the
 * benchmarks talk to nodes through it. docs/API.md describes each route.
 */
import {
  type AccountRegistrationJson,
  accountToJson,
  type TxJson,
  txToJson,
} from '../core/chain/json.js'
import { signAccount, signTx } from '../core/chain/signatures.js'
import { txHash } from '../core/chain/tx.js'
import { GasGrantCodec, MAX_TX_DATA_BYTES, type Tx, TxKind } from '../core/codec/index.js'
import { reached, type TxStatus } from '../core/consensus/types.js'
import { fromHex, type Signer, toHex } from '../core/crypto/index.js'
import {
  type AccountKey,
  type AccountKeyFile,
  accountKeyFile,
  generateAccountKey,
  parseAccountKey,
  readAccountKey,
  writeAccountKey,
} from '../node/keys/account-key.js'
import type { NodeStatus, ValidatorsView } from '../node/node/chain-node.js'
import { readEvents } from './sse.js'

export type { AccountKey, AccountKeyFile, AccountRegistrationJson, Signer, Tx, TxJson }
export { accountKeyFile, generateAccountKey, parseAccountKey, readAccountKey, writeAccountKey }

export const DEFAULT_NODE_URL = 'http://127.0.0.1:8080'

/** What went wrong, as the node said it: its HTTP status, its error code, the field it named. */
export class BftchainError extends Error {
  override readonly name = 'BftchainError'
  constructor(
    message: string,
    /** the HTTP status; 0 when the node could not be reached or did not answer in time */
    readonly status: number,
    /** the API's code (MALFORMED, NOT_FOUND, POOL_FULL, …), or UNREACHABLE / TIMEOUT / BAD_ANSWER */
    readonly code: string,
    /** the field the node named first in its message (`nonce`, `data`, …), if any */
    readonly field: string | null = null,
    /**
     * ms to wait before trying again, when the node said (503 POOL_FULL): its Retry-After-Ms,
     * else its Retry-After in seconds
     */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message)
  }

  /** the wait in whole seconds, rounded up (Retry-After's own unit) */
  get retryAfterS(): number | null {
    return this.retryAfterMs == null ? null : Math.max(1, Math.ceil(this.retryAfterMs / 1_000))
  }
}

/**
 * The wait a node named, in ms, from its headers' values: Retry-After-Ms, else Retry-After
 * (seconds); null if it named neither (or nothing readable).
 */
export function retryAfterMsOf(
  retryAfterMs: string | null | undefined,
  retryAfter: string | null | undefined,
): number | null {
  const ms = Number(retryAfterMs)
  if (retryAfterMs != null && Number.isFinite(ms) && ms > 0) return ms
  const s = Number(retryAfter)
  return retryAfter != null && Number.isFinite(s) && s > 0 ? s * 1_000 : null
}

export type { TxStatus }

export interface TxResult {
  hash: string
  status: TxStatus
  reason?: { code: string; message: string; rejectedBy?: number } | null
  block?: { height: number; index: number } | null
}

export interface ClientOptions {
  /** the node's API, default http://127.0.0.1:8080 */
  url?: string
  /** the deadline of one request, ms (default 10,000) */
  timeoutMs?: number
  /** retry a 503 POOL_FULL after its Retry-After-Ms (or Retry-After) this many times (default 0) */
  poolFullRetries?: number
}

/** The content of a tx to build: data (with the gas it spends) or a gas grant. */
export type TxContent =
  | { kind: 'data'; data: Uint8Array | string; gas?: number }
  | { kind: 'gas-grant'; to: string; amount: number }

export { reached }

/** Build and sign a tx with `key`; its hash is the node's name for it. */
export function buildTx(
  key: AccountKey,
  chainId: string,
  nonce: number,
  content: TxContent,
): { tx: Tx; hash: string } {
  let tx: Tx
  if (content.kind === 'data') {
    const data =
      typeof content.data === 'string' ? new TextEncoder().encode(content.data) : content.data
    if (data.length > MAX_TX_DATA_BYTES)
      throw new BftchainError(
        `data: ${data.length} bytes, at most ${MAX_TX_DATA_BYTES}`,
        0,
        'TOO_LARGE',
        'data',
      )
    tx = signTx(key.signer, {
      chainId,
      kind: TxKind.DATA,
      from: fromHex(key.address),
      nonce,
      gas: content.gas ?? 0,
      data,
    })
  } else {
    tx = signTx(key.signer, {
      chainId,
      kind: TxKind.GAS_GRANT,
      from: fromHex(key.address),
      nonce,
      gas: 0,
      data: GasGrantCodec.encode({ to: fromHex(content.to), amount: content.amount }),
    })
  }
  return { tx, hash: toHex(txHash(tx)) }
}

/** The first `field:` of an API error message (`nonce: must be …`), if it names one. */
function fieldOf(message: string): string | null {
  const m = /^([A-Za-z_][\w.[\]]*): /.exec(message)
  return m ? m[1]! : null
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export class BftchainClient {
  readonly url: string
  private readonly timeoutMs: number
  private readonly poolFullRetries: number
  private chain: string | null = null

  constructor(options: ClientOptions | string = {}) {
    const opts = typeof options === 'string' ? { url: options } : options
    const url = opts.url ?? DEFAULT_NODE_URL
    try {
      this.url = new URL(url.endsWith('/') ? url : `${url}/`).href
    } catch {
      throw new BftchainError(`${url} is not a URL (e.g. ${DEFAULT_NODE_URL})`, 0, 'BAD_URL')
    }
    this.timeoutMs = opts.timeoutMs ?? 10_000
    this.poolFullRetries = opts.poolFullRetries ?? 0
  }

  /**
   * One request: the status and body of a 2xx answer, or a BftchainError. A 503 with
   * Retry-After-Ms or Retry-After is tried again after that wait, up to `poolFullRetries` times.
   */
  async request<T>(
    path: string,
    init: { method?: string; body?: unknown; timeoutMs?: number } = {},
  ): Promise<{ status: number; body: T; retryAfterMs: number | null }> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(path, init)
      } catch (err) {
        if (!(err instanceof BftchainError)) throw err
        const retry = err.retryAfterMs
        if (retry == null || err.status !== 503 || attempt >= this.poolFullRetries) throw err
        await sleep(retry)
      }
    }
  }

  private async once<T>(
    path: string,
    init: { method?: string; body?: unknown; timeoutMs?: number },
  ): Promise<{ status: number; body: T; retryAfterMs: number | null }> {
    const url = new URL(path.replace(/^\//, ''), this.url)
    const timeoutMs = init.timeoutMs ?? this.timeoutMs
    let res: Response
    try {
      res = await fetch(url, {
        method: init.method ?? 'GET',
        headers: init.body !== undefined ? { 'content-type': 'application/json' } : {},
        body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
        signal: AbortSignal.timeout(timeoutMs),
      })
    } catch (err) {
      const name = (err as Error).name
      if (name === 'TimeoutError')
        throw new BftchainError(
          `the node API at ${url.origin} did not answer in ${timeoutMs} ms`,
          0,
          'TIMEOUT',
        )
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? name
      throw new BftchainError(
        `cannot reach the node API at ${url.origin} (${cause}); is the node running?`,
        0,
        'UNREACHABLE',
      )
    }
    const text = await res.text()
    let body: unknown
    try {
      body = text.length > 0 ? JSON.parse(text) : null
    } catch {
      throw new BftchainError(
        `${url.href}: the answer is not JSON (HTTP ${res.status})`,
        res.status,
        'BAD_ANSWER',
      )
    }
    const retryAfterMs = retryAfterMsOf(
      res.headers.get('retry-after-ms'),
      res.headers.get('retry-after'),
    )
    if (!res.ok) {
      const e = (body as { error?: { code?: string; message?: string } } | null)?.error
      const message = e?.message ?? res.statusText
      throw new BftchainError(
        `${e?.code ?? `HTTP ${res.status}`}: ${message}`,
        res.status,
        e?.code ?? `HTTP_${res.status}`,
        fieldOf(message),
        retryAfterMs,
      )
    }
    return { status: res.status, body: body as T, retryAfterMs }
  }

  private async get<T>(path: string): Promise<T> {
    return (await this.request<T>(path)).body
  }

  // ------------------------------------------------------------------ reading

  /** GET /status: height, head, role, round, pool, tx rounds, peers, sync. */
  status(): Promise<NodeStatus> {
    return this.get('/status')
  }

  /** The node's chain id (asked once, then remembered). */
  async chainId(): Promise<string> {
    this.chain ??= (await this.status()).chainId
    return this.chain
  }

  peers(): Promise<unknown[]> {
    return this.get('/peers')
  }

  validators(): Promise<ValidatorsView> {
    return this.get('/validators')
  }

  /** One final block (`latest` for the head). */
  block(height: number | 'latest'): Promise<BlockView> {
    return this.get(`/blocks/${height}`)
  }

  /** Final blocks `from`..`to` (100 at most). */
  blocks(from: number, to: number): Promise<BlockView[]> {
    return this.get(`/blocks?from=${from}&to=${to}`)
  }

  account(address: string): Promise<AccountView> {
    return this.get(`/accounts/${address}`)
  }

  balance(address: string): Promise<BalanceView> {
    return this.get(`/accounts/${address}/balance`)
  }

  /** What the node knows of a tx: status, reason, votes per phase, block. */
  tx(hash: string): Promise<TxResult & Record<string, unknown>> {
    return this.get(`/transactions/${hash}`)
  }

  evidence(): Promise<unknown[]> {
    return this.get('/evidence')
  }

  // ------------------------------------------------------------------ writing

  /** Register `key` under `username` (signed by the key it registers). */
  async register(
    key: { signer: Signer },
    username: string,
    data = '',
  ): Promise<{ address: string; username: string; status: 'pending' | 'final' }> {
    const reg = signAccount(key.signer, { chainId: await this.chainId(), username, data })
    return (
      await this.request<{ address: string; username: string; status: 'pending' | 'final' }>(
        '/accounts',
        { method: 'POST', body: accountToJson(reg) },
      )
    ).body
  }

  /** The nonce the account's next tx takes, counting its txs the node holds but no block has yet. */
  async nextNonce(address: string): Promise<number> {
    const a = await this.account(address)
    return a.pendingNonce ?? a.nonce
  }

  /**
   * Submit one signed tx; with `wait`, the node holds the answer until the tx is committed or
   * final (or `timeoutMs` passes: then the status it has).
   */
  async submit(
    tx: Tx | TxJson,
    opts: { wait?: 'committed' | 'final'; timeoutMs?: number } = {},
  ): Promise<TxResult> {
    const body = 'signature' in tx && tx.signature instanceof Uint8Array ? txToJson(tx as Tx) : tx
    const timeoutMs = opts.timeoutMs ?? 60_000
    const query = opts.wait ? `?wait=${opts.wait}&timeoutMs=${timeoutMs}` : ''
    return (
      await this.request<TxResult>(`/transactions${query}`, {
        method: 'POST',
        body,
        ...(opts.wait ? { timeoutMs: timeoutMs + 15_000 } : {}),
      })
    ).body
  }

  /**
   * Submit many signed txs in one request: one answer per tx, in order — its result, or the
   * BftchainError the node gave it (POOL_FULL ones carry the answer's wait: `retryAfterMs`).
   */
  async submitMany(txs: (Tx | TxJson)[]): Promise<(TxResult | BftchainError)[]> {
    const body = txs.map((tx) =>
      'signature' in tx && tx.signature instanceof Uint8Array ? txToJson(tx as Tx) : tx,
    )
    const { body: answers, retryAfterMs } = await this.request<
      ({ hash: string; status: TxStatus } | { error: { code: string; message: string } })[]
    >('/transactions', { method: 'POST', body })
    return answers.map((a) =>
      'error' in a
        ? new BftchainError(
            `${a.error.code}: ${a.error.message}`,
            a.error.code === 'POOL_FULL' ? 503 : 400,
            a.error.code,
            fieldOf(a.error.message),
            a.error.code === 'POOL_FULL' ? retryAfterMs : null,
          )
        : a,
    )
  }

  /** Build, sign and submit a tx from `key` at its next nonce (or `nonce`). */
  async send(
    key: AccountKey,
    content: TxContent,
    opts: { nonce?: number; wait?: 'committed' | 'final'; timeoutMs?: number } = {},
  ): Promise<TxResult> {
    const nonce = opts.nonce ?? (await this.nextNonce(key.address))
    const { tx } = buildTx(key, await this.chainId(), nonce, content)
    return this.submit(tx, opts)
  }

  /** Poll a tx until it is `status` (or failed); resolves with what it is when `timeoutMs` ends. */
  async waitFor(
    hash: string,
    status: 'committed' | 'final',
    timeoutMs = 60_000,
    pollMs = 200,
  ): Promise<TxResult> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      let t: TxResult | null = null
      try {
        t = await this.tx(hash)
      } catch (err) {
        if (!(err instanceof BftchainError) || err.code !== 'NOT_FOUND') throw err
      }
      if (t != null && reached(t.status, status)) return t
      if (Date.now() >= deadline) {
        if (t != null) return t
        throw new BftchainError(
          `tx ${hash}: not known to the node after ${timeoutMs} ms`,
          404,
          'NOT_FOUND',
        )
      }
      await sleep(pollMs)
    }
  }

  /**
   * The node's event stream (GET /events) as an async iterator of `{type, id, data}`, `data`
   * parsed; `types` picks some (status, block, round, peer, tx, sync, evidence). Ends when the
   * node closes the stream or `signal` aborts.
   */
  async *events(
    types: string[] = [],
    signal?: AbortSignal,
  ): AsyncGenerator<{ type: string; id: string | null; data: unknown }> {
    const query = types.length > 0 ? `?types=${encodeURIComponent(types.join(','))}` : ''
    const url = new URL(`events${query}`, this.url)
    let res: Response
    try {
      res = await fetch(url, { signal })
    } catch (err) {
      if ((err as Error).name === 'AbortError') return
      throw new BftchainError(`cannot reach the node API at ${url.origin}`, 0, 'UNREACHABLE')
    }
    if (!res.ok || res.body == null) {
      const e = (
        (await res.json().catch(() => null)) as {
          error?: { code?: string; message?: string }
        } | null
      )?.error
      throw new BftchainError(
        `${e?.code ?? `HTTP ${res.status}`}: ${e?.message ?? res.statusText}`,
        res.status,
        e?.code ?? `HTTP_${res.status}`,
      )
    }
    try {
      for await (const ev of readEvents(res.body)) {
        let data: unknown = ev.data
        try {
          data = JSON.parse(ev.data)
        } catch {}
        yield { type: ev.type, id: ev.id, data }
      }
    } catch (err) {
      if ((err as Error).name === 'AbortError') return
      throw err
    }
  }
}

export interface AccountView {
  address: string
  username: string
  status: 'pending' | 'final'
  nonce: number
  pendingNonce?: number
  [field: string]: unknown
}

export interface BalanceView {
  address: string
  balance: number
  pendingBalance: number
  [field: string]: unknown
}

export interface BlockView {
  height: number
  hash: string
  txs: unknown[]
  [field: string]: unknown
}
