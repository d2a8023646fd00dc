/**
 * Transactions over HTTP (SPEC): submit one signed tx (or an array, for
 * load) to this node, which becomes its round's target; optionally hold the
 * request until it is committed or final; read a tx's status and votes.
 */
import type { FastifyInstance } from 'fastify'
import { JsonFormError, txFromJson, txToJson } from '../../core/chain/json.js'
import type { Tx } from '../../core/codec/index.js'
import type { TxRecord } from '../../core/consensus/tx-log.js'
import type { ChainNode } from '../../node/node/chain-node.js'
import { ApiError, errorBody, errorSchema } from '../errors.js'
import { HASH_PARAM, sendResult } from './common.js'

const MAX_BATCH = 10_000
const DEFAULT_WAIT_MS = 30_000
const MAX_WAIT_MS = 300_000

export function txJson(r: TxRecord) {
  return {
    hash: r.hash,
    status: r.status,
    reason: r.reason,
    tx: r.tx ? txToJson(r.tx) : null,
    target: r.target,
    votes: r.votes,
    block: null as { height: number; index: number } | null,
  }
}

function parseTx(body: unknown, at: string): Tx {
  try {
    return txFromJson(body)
  } catch (err) {
    if (err instanceof JsonFormError) throw new ApiError(400, err.code, `${at}${err.message}`)
    throw err
  }
}

export function transactionRoutes(app: FastifyInstance, node: ChainNode): void {
  app.post(
    '/transactions',
    {
      schema: {
        body: { type: ['object', 'array'], maxItems: MAX_BATCH },
        querystring: {
          type: 'object',
          properties: {
            wait: { type: 'string', enum: ['committed', 'final'] },
            timeoutMs: { type: 'integer', minimum: 1, maximum: MAX_WAIT_MS },
          },
          additionalProperties: false,
        },
        response: { '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (req, reply) => {
      const { wait, timeoutMs } = req.query as { wait?: 'committed' | 'final'; timeoutMs?: number }
      if (Array.isArray(req.body)) {
        if (wait) throw new ApiError(400, 'MALFORMED', 'wait= is for one tx, not a batch')
        const txs = req.body.map((b, i) => parseTx(b, `[${i}].`))
        const results = await Promise.all(txs.map((tx) => node.submitTx(tx)))
        return reply
          .status(202)
          .send(
            results.map((r) =>
              r.ok ? { hash: r.hash, status: r.status } : errorBody(r.code, r.message),
            ),
          )
      }
      const result = await node.submitTx(parseTx(req.body, ''))
      if (!result.ok) return sendResult(reply, result)
      if (!wait) return reply.status(202).send({ hash: result.hash, status: result.status })
      const record = await node.waitForTx(result.hash!, wait, timeoutMs ?? DEFAULT_WAIT_MS)
      const status = record?.status ?? result.status
      const reached =
        status === 'failed' || status === wait || (wait === 'committed' && status === 'final')
      return reply
        .status(reached ? 200 : 202)
        .send({ hash: result.hash, status, reason: record?.reason ?? null })
    },
  )

  app.get(
    '/transactions/:hash',
    { schema: { params: HASH_PARAM, response: { '4xx': errorSchema } } },
    (req) => {
      const { hash } = req.params as { hash: string }
      const record = node.txRecord(hash)
      if (record == null) throw new ApiError(404, 'NOT_FOUND', `no tx ${hash}`)
      return txJson(record)
    },
  )
}
