import type { FastifyReply } from 'fastify'
import type { ClientResult } from '../../core/consensus/types.js'
import { errorBody } from '../errors.js'

export const ADDRESS_PARAM = {
  type: 'object',
  properties: { address: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
} as const

export const HASH_PARAM = {
  type: 'object',
  properties: { hash: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
} as const

/**
 * When to try again, on `reply`: Retry-After in whole seconds (HTTP's own, rounded up, at least
 * 1) and Retry-After-Ms in ms, for a client that can wait less than a second.
 */
export function setRetryAfter(reply: FastifyReply, ms: number): void {
  reply.header('retry-after', String(Math.max(1, Math.ceil(ms / 1_000))))
  reply.header('retry-after-ms', String(ms))
}

/** Send a refused core result as the SPEC error body. */
export function sendResult(reply: FastifyReply, result: Extract<ClientResult, { ok: false }>) {
  if (result.retryAfterMs != null) setRetryAfter(reply, result.retryAfterMs)
  return reply.status(result.httpStatus).send(errorBody(result.code, result.message))
}
