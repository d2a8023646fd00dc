/**
 * The final chain over HTTP (SPEC): blocks with their receipts and commit
 * certificates, by height, the latest, or a range of at most 100 (fewer
 * when the blocks are large: ask again from the next height); and an
 * account's balance (DESIGN §8) from the ledger in memory.
 */
import type { FastifyInstance } from 'fastify'
import type { ChainNode } from '../../node/node/chain-node.js'
import { ChainQuery, MAX_BLOCKS_PER_QUERY } from '../../node/node/chain-query.js'
import { ApiError, errorSchema } from '../errors.js'
import { ADDRESS_PARAM } from './common.js'
import { txJsonProperties } from './transactions.js'

const nullable = (type: string) => ({ type: [type, 'null'] })
const hex = { type: 'string' } as const
const errors = { '4xx': errorSchema, '5xx': errorSchema } as const

/** A tx as a block holds it: the TxJson fields, its hash and its receipt. */
export const blockTxSchema = {
  type: 'object',
  properties: {
    hash: hex,
    status: { type: 'string', enum: ['ok', 'failed'] },
    reason: nullable('string'),
    ...txJsonProperties,
    draws: {
      type: 'array',
      items: {
        type: 'object',
        properties: { blockIndex: { type: 'integer' }, useGas: { type: 'integer' } },
        required: ['blockIndex', 'useGas'],
      },
    },
  },
  required: ['hash', 'status', 'reason', 'chainId', 'kind', 'from', 'nonce', 'gas', 'signature'],
} as const

export const blockSchema = {
  type: 'object',
  properties: {
    height: { type: 'integer' },
    hash: hex,
    header: {
      type: 'object',
      properties: {
        chainId: { type: 'string' },
        height: { type: 'integer' },
        round: { type: 'integer' },
        parentHash: hex,
        proposer: { type: 'string' },
        time: { type: 'string' },
        timeMs: { type: 'integer' },
        txRoot: hex,
        accountsRoot: hex,
        stateRoot: hex,
      },
      required: [
        'chainId',
        'height',
        'round',
        'parentHash',
        'proposer',
        'time',
        'timeMs',
        'txRoot',
        'accountsRoot',
        'stateRoot',
      ],
    },
    txs: { type: 'array', items: blockTxSchema },
    accounts: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          address: hex,
          username: { type: 'string' },
          status: { type: 'string', enum: ['ok', 'failed'] },
          reason: nullable('string'),
        },
        required: ['address', 'username', 'status', 'reason'],
      },
    },
    certificate: {
      type: 'object',
      properties: {
        phase: { type: 'string' },
        round: { type: 'integer' },
        signers: { type: 'array', items: { type: 'string' } },
      },
      required: ['phase', 'round', 'signers'],
    },
  },
  required: ['height', 'hash', 'header', 'txs', 'accounts', 'certificate'],
} as const

export const balanceSchema = {
  type: 'object',
  properties: {
    address: hex,
    account: { type: ['string', 'null'], enum: ['final', 'pending', null] },
    hasTransaction: { type: 'boolean' },
    lastBlockIndex: nullable('integer'),
    gasUsed: { type: 'integer' },
    balance: { type: 'integer' },
    pendingBalance: { type: 'integer' },
    lots: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          blockIndex: { type: 'integer' },
          time: { type: 'integer' },
          remaining: { type: 'integer' },
          expiresAt: nullable('integer'),
        },
        required: ['blockIndex', 'time', 'remaining', 'expiresAt'],
      },
    },
    expiredGas: { type: 'integer' },
  },
  required: [
    'address',
    'account',
    'hasTransaction',
    'lastBlockIndex',
    'gasUsed',
    'balance',
    'pendingBalance',
    'lots',
    'expiredGas',
  ],
} as const

const HEIGHT_PARAM = {
  type: 'object',
  properties: { height: { type: 'string', pattern: '^(latest|[0-9]{1,16})$' } },
  required: ['height'],
} as const

const height = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const

const NO_BLOCKS = 'the chain has no blocks yet: only the genesis (height 0)'

function parseHeight(text: string): number {
  const h = Number(text)
  if (!Number.isSafeInteger(h))
    throw new ApiError(400, 'MALFORMED', `height ${text} is beyond the largest height there can be`)
  return h
}

export function chainRoutes(app: FastifyInstance, node: ChainNode): void {
  const query = new ChainQuery(node.store, node.core)

  app.get(
    '/blocks/:height',
    { schema: { params: HEIGHT_PARAM, response: { 200: blockSchema, ...errors } } },
    async (req) => {
      const { height: param } = req.params as { height: string }
      if (param === 'latest') {
        const block = await query.latest()
        if (block == null) throw new ApiError(404, 'NOT_FOUND', NO_BLOCKS)
        return block
      }
      const h = parseHeight(param)
      const block = await query.block(h)
      if (block != null) return block
      const head = await query.headHeight()
      if (head === 0) throw new ApiError(404, 'NOT_FOUND', NO_BLOCKS)
      if (h === 0)
        throw new ApiError(
          404,
          'NOT_FOUND',
          'height 0 is the genesis, not a block; blocks start at 1',
        )
      throw new ApiError(404, 'NOT_FOUND', `block ${h} is not final yet (the head is at ${head})`)
    },
  )

  app.get(
    '/blocks',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { from: height, to: height },
          additionalProperties: false,
        },
        response: { 200: { type: 'array', items: blockSchema }, ...errors },
      },
    },
    async (req) => {
      const q = req.query as { from?: number; to?: number }
      // no bounds: the latest blocks; one bound: a full page from it
      let from: number
      let to: number
      if (q.from == null && q.to == null) {
        to = await query.headHeight()
        if (to === 0) return []
        from = Math.max(1, to - MAX_BLOCKS_PER_QUERY + 1)
      } else {
        from = q.from ?? Math.max(0, q.to! - MAX_BLOCKS_PER_QUERY + 1)
        to = q.to ?? Math.min(from + MAX_BLOCKS_PER_QUERY - 1, Number.MAX_SAFE_INTEGER)
      }
      if (from > to) throw new ApiError(400, 'MALFORMED', `from (${from}) is above to (${to})`)
      if (to - from + 1 > MAX_BLOCKS_PER_QUERY) {
        throw new ApiError(
          400,
          'TOO_LARGE',
          `${to - from + 1} blocks asked; at most ${MAX_BLOCKS_PER_QUERY} per request`,
        )
      }
      // without `from`, a page of the latest blocks up to `to`: one that ends early keeps those
      return query.blocks(from, to, { newest: q.from == null })
    },
  )

  app.get(
    '/accounts/:address/balance',
    { schema: { params: ADDRESS_PARAM, response: { 200: balanceSchema, ...errors } } },
    (req) => {
      const { address } = req.params as { address: string }
      const view = query.balance(address)
      if (view == null)
        throw new ApiError(404, 'NOT_FOUND', `no account ${address}, and no gas granted to it`)
      return view
    },
  )
}
