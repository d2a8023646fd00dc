/**
 * The CLI's client of the node's HTTP API: the library's (src/client), with
 * its errors as the CLI's: one line when the node is not there, ApiError
 * carrying the status and code of an error answer.
 */
import { BftchainClient, BftchainError } from '../client/index.js'
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
  let client: BftchainClient
  try {
    client = new BftchainClient({ url: base })
  } catch {
    throw new CliError(`--api ${base} is not a URL (e.g. http://127.0.0.1:8080)`)
  }
  try {
    return await client.request<T>(path, init)
  } catch (err) {
    if (!(err instanceof BftchainError)) throw err
    // the node's own answer keeps its status and code; not reaching it is the CLI's one line
    if (err.status === 0) {
      const hint = err.code === 'UNREACHABLE' ? ' (--api URL)' : ''
      throw new CliError(`${err.message}${hint}`)
    }
    const ms = err.retryAfterMs
    const later =
      ms == null
        ? ''
        : ` (the node says: try again in ${ms < 1_000 ? `${ms} ms` : `${ms / 1_000} s`})`
    throw new ApiError(
      `${err.message}${later}`,
      err.status,
      err.code.startsWith('HTTP_') ? null : err.code,
    )
  }
}

/** The body of a successful answer. */
export async function apiRequest<T>(
  base: string,
  path: string,
  init: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<T> {
  return (await apiCall<T>(base, path, init)).body
}
