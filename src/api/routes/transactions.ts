/**
 * Transactions over HTTP (SPEC): submit one signed tx (or an array, for
 * load) to this node, which becomes its round's target; optionally hold the
 * request until it is committed or final; read a tx's status and votes, and
 * for a tx in a final block, where it stands and how it ended (from the tx
 * index, long after the core's tx log has forgotten it). Waiting requests
 * are bounded (tx-waiters.ts MAX_WAITING_REQUESTS) and released when their
 * client disconnects.
 */
import type { FastifyInstance } from 'fastify'
import { JsonFormError, txFromJson, txToJson } from '../../core/chain/json.js'
import type { Tx } from '../../core/codec/index.js'
import type { TxRecord } from '../../core/consensus/tx-log.js'
import type { TxStatus } from '../../core/consensus/types.js'
import type { ChainNode } from '../../node/node/chain-node.js'
import { ChainQuery, type FinalTxView } from '../../node/node/chain-query.js'
import { ApiError, errorBody, errorSchema } from '../errors.js'
import { MAX_WAITING_REQUESTS, reached, TxWaiters, WAIT_RETRY_AFTER_S } from '../tx-waiters.js'
import { HASH_PARAM, sendResult, setRetryAfter } from './common.js'

const MAX_BATCH = 10_000
const DEFAULT_WAIT_MS = 30_000
const MAX_WAIT_MS = 300_000

/**
 * A tx as GET /transactions/:hash shows it: what the core's tx log knows
 * (status, votes), overridden by its final block when one holds it.
 */
export function txJson(r: TxRecord | undefined, final: FinalTxView | null = null) {
  if (final != null) {
    return {
      hash: final.hash,
      status: final.status,
      reason: final.reason,
      tx: final.tx,
      target: r?.target ?? null,
      votes: r?.votes ?? { prePrepare: [], prepare: [] },
      block: final.block,
      draws: final.draws,
    }
  }
  if (r == null) throw new Error('txJson: neither a record nor a final tx')
  return {
    hash: r.hash,
    status: r.status,
    reason: r.reason,
    tx: r.tx ? txToJson(r.tx) : null,
    target: r.target,
    votes: r.votes,
    block: r.block,
    draws: [],
  }
}

const nullable = (type: string) => ({ type: [type, 'null'] })

/** The JSON form of a tx (core/chain/json.ts TxJson). */
export const txJsonProperties = {
  chainId: { type: 'string' },
  kind: { type: 'string', enum: ['data', 'gas-grant'] },
  from: { type: 'string' },
  nonce: { type: 'integer' },
  gas: { type: 'integer' },
  data: { type: 'string' },
  dataBase64: { type: 'string' },
  grant: {
    type: 'object',
    properties: { to: { type: 'string' }, amount: { type: 'integer' } },
    required: ['to', 'amount'],
  },
  signature: { type: 'string' },
} as const

const reasonSchema = {
  type: ['object', 'null'],
  properties: {
    code: { type: 'string' },
    message: { type: 'string' },
    rejectedBy: { type: 'integer' },
  },
  required: ['code', 'message'],
} as const

const blockRefSchema = {
  type: ['object', 'null'],
  properties: { height: { type: 'integer' }, index: { type: 'integer' } },
  required: ['height', 'index'],
} as const

const votesSchema = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      voter: { type: 'string' },
      result: { type: 'string', enum: ['permit', 'reject'] },
      reason: nullable('string'),
    },
    required: ['voter', 'result'],
  },
} as const

export const txViewSchema = {
  type: 'object',
  properties: {
    hash: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'prepared', 'committed', 'final', 'failed'] },
    reason: reasonSchema,
    tx: {
      type: ['object', 'null'],
      properties: txJsonProperties,
      required: ['chainId', 'kind', 'from', 'nonce', 'gas', 'signature'],
    },
    target: nullable('string'),
    votes: {
      type: 'object',
      properties: { prePrepare: votesSchema, prepare: votesSchema },
      required: ['prePrepare', 'prepare'],
    },
    block: blockRefSchema,
    draws: {
      type: 'array',
      items: {
        type: 'object',
        properties: { blockIndex: { type: 'integer' }, useGas: { type: 'integer' } },
        required: ['blockIndex', 'useGas'],
      },
    },
  },
  required: ['hash', 'status', 'reason', 'tx', 'target', 'votes', 'block'],
} as const

/** The answer to a submission that waited (?wait=) and got there. */
const waitedSchema = {
  type: 'object',
  properties: {
    hash: { type: 'string' },
    status: { type: 'string' },
    reason: reasonSchema,
    block: blockRefSchema,
  },
  required: ['hash', 'status', 'reason', 'block'],
} as const

function parseTx(body: unknown, at: string): Tx {
  try {
    return txFromJson(body)
  } catch (err) {
    if (err instanceof JsonFormError) throw new ApiError(400, err.code, `${at}${err.message}`)
    throw err
  }
}

export interface TransactionRoutesOptions {
  /** requests held by ?wait= at once (default MAX_WAITING_REQUESTS) */
  maxWaitingRequests?: number
}

export function transactionRoutes(
  app: FastifyInstance,
  node: ChainNode,
  options: TransactionRoutesOptions = {},
): TxWaiters {
  const query = new ChainQuery(node.store, node.core)
  const waiters = new TxWaiters(node, options.maxWaitingRequests ?? MAX_WAITING_REQUESTS)
  // the server's close waits for open requests: answer the waiting ones first
  app.addHook('preClose', (done) => {
    waiters.close()
    done()
  })

  app.post(
    '/transactions',
    {
      schema: {
        // one tx, or an array of them (anyOf: ajv's strict mode refuses a union type)
        body: { anyOf: [{ type: 'object' }, { type: 'array', maxItems: MAX_BATCH }] },
        querystring: {
          type: 'object',
          properties: {
            wait: { type: 'string', enum: ['committed', 'final'] },
            timeoutMs: { type: 'integer', minimum: 1, maximum: MAX_WAIT_MS },
          },
          additionalProperties: false,
        },
        response: { 200: waitedSchema, '4xx': errorSchema, '5xx': errorSchema },
      },
      // a node with no room for any tx refuses before it reads the body: under overload a
      // refusal costs no parse, no hash; nothing in the request was taken
      preParsing: async (_req, reply, payload) => {
        const { room, refusal } = node.txAdmission()
        if (room === 0) return sendResult(reply, refusal)
        return payload
      },
    },
    async (req, reply) => {
      const { wait, timeoutMs } = req.query as { wait?: 'committed' | 'final'; timeoutMs?: number }
      if (Array.isArray(req.body)) {
        if (wait) throw new ApiError(400, 'MALFORMED', 'wait= is for one tx, not a batch')
        // what this node has no room for is refused unread (POOL_FULL), the rest taken in order
        const { room, refusal } = node.txAdmission()
        const txs = req.body.slice(0, room).map((b, i) => parseTx(b, `[${i}].`))
        const results = await Promise.all(txs.map((tx) => node.submitTx(tx)))
        for (let i = txs.length; i < req.body.length; i++) results.push(refusal)
        // some refused for load: the longest wait they name, for the client to back off
        const retry = Math.max(0, ...results.map((r) => (r.ok ? 0 : (r.retryAfterMs ?? 0))))
        if (retry > 0) setRetryAfter(reply, retry)
        return reply
          .status(202)
          .send(
            results.map((r) =>
              r.ok ? { hash: r.hash, status: r.status } : errorBody(r.code, r.message),
            ),
          )
      }
      const tx = parseTx(req.body, '')
      if (!wait) {
        const result = await node.submitTx(tx)
        if (!result.ok) return sendResult(reply, result)
        return reply.status(202).send({ hash: result.hash, status: result.status })
      }
      // a place to wait first: a refused request has submitted nothing
      const slot = waiters.reserve()
      if (slot == null) {
        setRetryAfter(reply, WAIT_RETRY_AFTER_S * 1_000)
        return reply
          .status(503)
          .send(
            errorBody(
              'TOO_MANY_WAITING',
              `${waiters.max} requests are waiting already; try again later, or without wait=`,
            ),
          )
      }
      // a client that goes away frees its place at once
      const gone = new AbortController()
      const onClose = (): void => {
        if (!reply.raw.writableEnded) gone.abort()
      }
      reply.raw.on('close', onClose)
      try {
        const result = await node.submitTx(tx)
        if (!result.ok) return sendResult(reply, result)
        const record = await slot.wait(
          result.hash!,
          wait,
          timeoutMs ?? DEFAULT_WAIT_MS,
          gone.signal,
        )
        const status = record?.status ?? (result.status as TxStatus)
        return reply.status(reached(status, wait) ? 200 : 202).send({
          hash: result.hash,
          status,
          reason: record?.reason ?? null,
          block: record?.block ?? null,
        })
      } finally {
        reply.raw.off('close', onClose)
        slot.release()
      }
    },
  )

  app.get(
    '/transactions/:hash',
    {
      schema: {
        params: HASH_PARAM,
        response: { 200: txViewSchema, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (req) => {
      const { hash } = req.params as { hash: string }
      const record = node.txRecord(hash)
      // the block is the last word: a tx log entry may be gone, or stale
      const final = await query.finalTx(hash)
      if (record == null && final == null) throw new ApiError(404, 'NOT_FOUND', `no tx ${hash}`)
      return txJson(record, final)
    },
  )
  return waiters
}
