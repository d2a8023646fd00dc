/**
 * GET /evidence (SPEC): the equivocation evidence this node holds, newest
 * first — validators that signed two different answers to one question,
 * with both signed messages. Bounded by the core's book (MAX_EVIDENCE) and
 * persisted, so it survives a restart. `?limit=` (1..1000, default 100),
 * `?offender=<peer id>` keeps one validator's.
 */
import type { FastifyInstance } from 'fastify'
import { MAX_EVIDENCE } from '../../core/consensus/evidence.js'
import { PeerIdError, peerIdFromString, peerIdToString } from '../../core/crypto/peer-id.js'
import type { ChainNode } from '../../node/node/chain-node.js'
import { evidenceToJson } from '../../node/node/evidence-view.js'
import { ApiError, errorSchema } from '../errors.js'

export const DEFAULT_EVIDENCE_LIMIT = 100

const errors = { '4xx': errorSchema, '5xx': errorSchema } as const
const hex = { type: 'string' } as const
const peerId = { type: 'string' } as const
const uint = { type: 'integer', minimum: 0 } as const

/** A block vote, as signed (subject: the block hash, '' for nil). */
const voteSchema = {
  type: 'object',
  properties: {
    phase: {
      type: 'string',
      enum: ['BLOCK_PERMIT', 'BLOCK_COMMIT'],
    },
    subject: hex,
    height: uint,
    round: uint,
    result: { type: 'string', enum: ['PERMIT', 'REJECT'] },
    reason: { type: 'string' },
    voter: peerId,
    signature: hex,
  },
  required: ['phase', 'subject', 'height', 'round', 'result', 'reason', 'voter', 'signature'],
} as const

const electionVoteSchema = {
  type: 'object',
  properties: {
    height: uint,
    round: uint,
    candidate: peerId,
    voter: peerId,
    signature: hex,
  },
  required: ['height', 'round', 'candidate', 'voter', 'signature'],
} as const

/** The statement a leader signs for a proposal (its block by hash), and the signature. */
const proposalSchema = {
  type: 'object',
  properties: {
    height: uint,
    round: uint,
    blockHash: hex,
    validRound: { type: ['integer', 'null'] },
    signature: hex,
  },
  required: ['height', 'round', 'blockHash', 'validRound', 'signature'],
} as const

/** A tx vote: one validator's answer to a batch in one phase (permits all but `rejected`). */
const batchVoteSchema = {
  type: 'object',
  properties: {
    phase: { type: 'string', enum: ['PRE_PREPARE', 'PREPARE'] },
    batch: hex,
    count: uint,
    rejected: { type: 'array', items: uint },
    reasons: { type: 'array', items: { type: 'string' } },
    voter: peerId,
    signature: hex,
  },
  required: ['phase', 'batch', 'count', 'rejected', 'reasons', 'voter', 'signature'],
} as const

const signedMessageSchema = {
  anyOf: [voteSchema, electionVoteSchema, proposalSchema, batchVoteSchema],
} as const

export const evidenceSchema = {
  type: 'object',
  properties: {
    kind: { type: 'string', enum: ['election-vote', 'block-vote', 'tx-vote', 'proposal'] },
    offender: peerId,
    height: uint,
    round: uint,
    seenAt: { type: 'string' },
    first: signedMessageSchema,
    second: signedMessageSchema,
  },
  required: ['kind', 'offender', 'height', 'round', 'seenAt', 'first', 'second'],
} as const

export function evidenceRoutes(app: FastifyInstance, node: ChainNode): void {
  app.get(
    '/evidence',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: MAX_EVIDENCE },
            offender: { type: 'string', maxLength: 100 },
          },
          additionalProperties: false,
        },
        response: { 200: { type: 'array', items: evidenceSchema }, ...errors },
      },
    },
    (req) => {
      const q = req.query as { limit?: number; offender?: string }
      const limit = q.limit ?? DEFAULT_EVIDENCE_LIMIT
      let offender: string | null = null
      if (q.offender != null) {
        try {
          // the canonical text form, so any spelling of one id matches the records
          offender = peerIdToString(peerIdFromString(q.offender))
        } catch (err) {
          if (!(err instanceof PeerIdError)) throw err
          throw new ApiError(400, 'MALFORMED', `offender: ${err.message}`)
        }
      }
      const out = []
      for (const e of node.core.evidence.list()) {
        if (out.length >= limit) break
        if (offender != null && peerIdToString(e.offender) !== offender) continue
        out.push(evidenceToJson(e))
      }
      return out
    },
  )
}
