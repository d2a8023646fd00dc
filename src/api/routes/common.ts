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

/** Send a refused core result as the SPEC error body. */
export function sendResult(reply: FastifyReply, result: Extract<ClientResult, { ok: false }>) {
  if (result.retryAfterS != null) reply.header('retry-after', String(result.retryAfterS))
  return reply.status(result.httpStatus).send(errorBody(result.code, result.message))
}
