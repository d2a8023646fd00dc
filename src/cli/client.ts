/** A small client of the node's HTTP API for the CLI: clear errors when the node is not there. */
import { CliError } from './output.js'

export const DEFAULT_API_URL = 'http://127.0.0.1:8080'

export async function apiRequest<T>(
  base: string,
  path: string,
  init: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<T> {
  let url: URL
  try {
    url = new URL(path, base.endsWith('/') ? base : `${base}/`)
  } catch {
    throw new CliError(`--api ${base} is not a URL (e.g. http://127.0.0.1:8080)`)
  }
  let res: Response
  try {
    res = await fetch(url, {
      method: init.method ?? 'GET',
      headers: init.body !== undefined ? { 'content-type': 'application/json' } : {},
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
      signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
    })
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name
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
    throw new CliError(`${e?.code ?? `HTTP ${res.status}`}: ${e?.message ?? res.statusText}`)
  }
  return body as T
}
