/**
 * Accounts over HTTP (SPEC): register a client-made key, or have the node
 * make one and return it (never written on the server); read an account;
 * prove key ownership with a challenge.
 */
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { accountFromJson, JsonFormError } from '../../core/chain/json.js'
import { signAccount } from '../../core/chain/signatures.js'
import type { AccountView } from '../../core/consensus/core.js'
import { fromHex } from '../../core/crypto/hash.js'
import { SignKind, verify } from '../../core/crypto/index.js'
import { accountKeyFile, generateAccountKey } from '../../node/keys/account-key.js'
import type { ChainNode } from '../../node/node/chain-node.js'
import { ApiError, errorSchema } from '../errors.js'
import { ADDRESS_PARAM, sendResult } from './common.js'

const CHALLENGE_TTL_MS = 5 * 60_000
const MAX_CHALLENGES = 10_000

export function accountJson(a: AccountView) {
  return {
    address: a.address,
    username: a.username,
    data: a.data,
    keyType: a.keyType,
    publicKey: Buffer.from(a.publicKey).toString('base64'),
    status: a.status,
    nonce: a.nonce,
    pendingNonce: a.pendingNonce,
    registeredAt: a.registeredAt,
  }
}

const accountSchema = {
  type: 'object',
  properties: {
    address: { type: 'string' },
    username: { type: 'string' },
    data: { type: 'string' },
    keyType: { type: 'string' },
    publicKey: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'final'] },
    nonce: { type: 'integer' },
    pendingNonce: { type: 'integer' },
    registeredAt: { type: ['integer', 'null'] },
  },
} as const

/** What POST /accounts answers: 202 for a client-made key, 201 with the key file for a node-made one. */
const registeredSchema = {
  type: 'object',
  required: ['address', 'username', 'status'],
  properties: {
    address: { type: 'string' },
    username: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'final'] },
  },
} as const
const madeKeySchema = {
  ...registeredSchema,
  required: [...registeredSchema.required, 'keyFile'],
  properties: {
    ...registeredSchema.properties,
    keyFile: {
      type: 'object',
      additionalProperties: true,
      description: 'the new account key file: keep it, the node keeps no copy',
    },
  },
} as const
const challengeSchema = {
  type: 'object',
  required: ['nonce', 'expiresAt'],
  properties: { nonce: { type: 'string' }, expiresAt: { type: 'string' } },
} as const

export function accountRoutes(app: FastifyInstance, node: ChainNode): void {
  const challenges = new Map<string, { address: string; expires: number }>()

  app.post(
    '/accounts',
    {
      schema: {
        body: { type: 'object' },
        response: {
          201: madeKeySchema,
          202: registeredSchema,
          '4xx': errorSchema,
          '5xx': errorSchema,
        },
      },
    },
    async (req, reply) => {
      const body = req.body as Record<string, unknown>
      if (body.publicKey === undefined && body.signature === undefined) {
        // the original design's flow: the node makes the key, and hands it back
        if (typeof body.username !== 'string')
          throw new ApiError(400, 'MALFORMED', 'username: must be a string')
        if (body.data !== undefined && typeof body.data !== 'string')
          throw new ApiError(400, 'MALFORMED', 'data: must be a string')
        const keyType = body.keyType === 'rsa' ? 'rsa' : 'ed25519'
        const signer = generateAccountKey(keyType)
        const reg = signAccount(signer, {
          chainId: node.chainId,
          username: body.username,
          data: (body.data as string) ?? '',
        })
        const result = await node.registerAccount(reg)
        if (!result.ok) return sendResult(reply, result)
        return reply.status(201).send({
          address: result.address,
          username: reg.username,
          status: result.status,
          keyFile: accountKeyFile(signer, reg.username),
        })
      }
      let reg: ReturnType<typeof accountFromJson>
      try {
        reg = accountFromJson(body, node.chainId)
      } catch (err) {
        if (err instanceof JsonFormError) throw new ApiError(400, 'MALFORMED', err.message)
        throw err
      }
      const result = await node.registerAccount(reg)
      if (!result.ok) return sendResult(reply, result)
      return reply
        .status(202)
        .send({ address: result.address, username: reg.username, status: result.status })
    },
  )

  app.get(
    '/accounts/:address',
    { schema: { params: ADDRESS_PARAM, response: { 200: accountSchema, '4xx': errorSchema } } },
    (req) => {
      const { address } = req.params as { address: string }
      const account = node.core.account(address)
      if (account == null) throw new ApiError(404, 'NOT_FOUND', `no account ${address}`)
      return accountJson(account)
    },
  )

  app.post(
    '/accounts/challenge',
    {
      schema: {
        body: {
          type: 'object',
          required: ['address'],
          properties: { address: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
        },
        response: { 200: challengeSchema, '4xx': errorSchema },
      },
    },
    (req) => {
      const { address } = req.body as { address: string }
      if (node.core.account(address) == null)
        throw new ApiError(404, 'NOT_FOUND', `no account ${address}`)
      const now = Date.now()
      for (const [n, c] of challenges)
        if (c.expires <= now || challenges.size >= MAX_CHALLENGES) challenges.delete(n)
      const nonce = randomBytes(32).toString('hex')
      const expires = now + CHALLENGE_TTL_MS
      challenges.set(nonce, { address, expires })
      return { nonce, expiresAt: new Date(expires).toISOString() }
    },
  )

  app.post(
    '/accounts/login',
    {
      schema: {
        body: {
          type: 'object',
          required: ['address', 'nonce', 'signature'],
          properties: {
            address: { type: 'string', pattern: '^[0-9a-f]{64}$' },
            nonce: { type: 'string', pattern: '^[0-9a-f]{64}$' },
            signature: { type: 'string', maxLength: 2048 },
          },
        },
        response: { 200: accountSchema, '4xx': errorSchema },
      },
    },
    (req) => {
      const { address, nonce, signature } = req.body as {
        address: string
        nonce: string
        signature: string
      }
      const challenge = challenges.get(nonce)
      // a challenge answers once, for the address it was made for, before it expires
      if (challenge == null || challenge.address !== address || challenge.expires <= Date.now()) {
        throw new ApiError(
          401,
          'UNAUTHORIZED',
          'unknown or expired challenge; ask POST /accounts/challenge again',
        )
      }
      challenges.delete(nonce)
      const account = node.core.account(address)
      if (account == null) throw new ApiError(404, 'NOT_FOUND', `no account ${address}`)
      const ok = verify(
        account.keyType,
        account.publicKey,
        node.chainId,
        SignKind.Login,
        fromHex(nonce),
        new Uint8Array(Buffer.from(signature, 'base64')),
      )
      if (!ok)
        throw new ApiError(401, 'UNAUTHORIZED', 'the signature does not match the account key')
      return accountJson(account)
    },
  )
}
