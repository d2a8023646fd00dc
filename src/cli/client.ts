/**
 * The CLI's client of the node's HTTP API: one request function, with clear
 * errors when the node is not there, the status of a 2xx answer (202 pending
 * vs 200 done), and ApiError carrying the code of an error answer.
 */
import { CliError } from './output.js'

export const DEFAULT_API_URL = 'http://127.0.0.1:8080'

/** A 4xx/5xx answer of the node API, with its HTTP status and error code. */
export class ApiError extends CliError {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message)
  }
}

export interface ApiAnswer<T> {
  status: number
  body: T
}

export async function apiCall<T>(
  base: string,
  path: string,
  init: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<ApiAnswer<T>> {
  let url: URL
  try {
    url = new URL(path, base.endsWith('/') ? base : `${base}/`)
  } catch {
    throw new CliError(`--api ${base} is not a URL (e.g. http://127.0.0.1:8080)`)
  }
  const timeoutMs = init.timeoutMs ?? 10_000
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
    if (name === 'TimeoutError') {
      throw new CliError(`the node API at ${url.origin} did not answer in ${timeoutMs} ms`)
    }
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? name
    throw new CliError(
      `cannot reach the node API at ${url.origin} (${cause}); is the node running? (--api URL)`,
    )
  }
  const text = await res.text()
  let body: unknown
  try {
    body = text.length > 0 ? JSON.parse(text) : null
  } catch {
    throw new CliError(`${url.href}: the answer is not JSON (HTTP ${res.status})`)
  }
  if (!res.ok) {
    const e = (body as { error?: { code?: string; message?: string } } | null)?.error
    throw new ApiError(
      `${e?.code ?? `HTTP ${res.status}`}: ${e?.message ?? res.statusText}`,
      res.status,
      e?.code ?? null,
    )
  }
  return { status: res.status, body: body as T }
}

/** The body of a successful answer. */
export async function apiRequest<T>(
  base: string,
  path: string,
  init: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<T> {
  return (await apiCall<T>(base, path, init)).body
}
