/**
 * The HTTP API (fastify): JSON in and out, a schema on every route, errors in
 * the SPEC format. Binds to loopback unless told otherwise.
 */
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify'
import fastifyPlugin from 'fastify-plugin'
import type { Logger } from '../node/log.js'
import type { ChainNode } from '../node/node/chain-node.js'
import { VERSION } from '../version.js'
import { ApiError, errorBody, errorSchema } from './errors.js'
import { EventHub, MAX_EVENT_STREAMS } from './events.js'
import { EXPLORER_HTML, EXPLORER_ICON } from './explorer/page.js'
import { EXPLORER_JS } from './explorer/script.js'
import { accountRoutes } from './routes/accounts.js'
import { chainRoutes } from './routes/chain.js'
import { evidenceRoutes } from './routes/evidence.js'
import { type TransactionRoutesOptions, transactionRoutes } from './routes/transactions.js'
import { peersSchema, statusSchema, validatorsSchema } from './schemas.js'
import type { TxWaiters } from './tx-waiters.js'

/** What the API serves: a running node. */
export type ApiNode = ChainNode

export interface ApiServer {
  url: string
  close(): Promise<void>
}

export class ApiListenError extends Error {}

export type ApiOptions = TransactionRoutesOptions

declare module 'fastify' {
  interface FastifyInstance {
    /** the requests POST /transactions?wait= holds */
    txWaiters: TxWaiters
  }
}

export function buildApi(node: ApiNode, log: Logger, options: ApiOptions = {}): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 })

  app.setErrorHandler((err: FastifyError, _req, reply) => {
    if (err instanceof ApiError)
      return reply.status(err.statusCode).send(errorBody(err.code, err.message))
    if (err.validation != null) {
      return reply.status(400).send(errorBody('MALFORMED', err.message))
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return reply.status(413).send(errorBody('TOO_LARGE', err.message))
    if (err.code?.startsWith('FST_ERR_CTP'))
      return reply.status(err.statusCode ?? 400).send(errorBody('MALFORMED', err.message))
    const status = err.statusCode ?? 500
    if (status >= 400 && status < 500) {
      return reply.status(status).send(errorBody(err.code ?? 'BAD_REQUEST', err.message))
    }
    log.error('API handler failed', { err })
    return reply.status(500).send(errorBody('INTERNAL', 'internal error'))
  })
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send(errorBody('NOT_FOUND', `no route ${req.method} ${req.url}`)),
  )

  // the OpenAPI document, made from the route schemas (every route is declared after it, in the
  // plugin below, so its onRoute hook sees them all), and a browsable page of it: served from the
  // package, nothing from a CDN
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'bftchain node API',
        version: VERSION,
        description:
          'The HTTP API of a bftchain node: chain, accounts, transactions, events, evidence, metrics. Errors are `{"error": {"code", "message"}}`; docs/API.md describes every route.',
      },
    },
  })
  app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
  app.register(fastifyPlugin(async (api) => routes(api, node, options)))
  return app
}

function routes(app: FastifyInstance, node: ApiNode, options: ApiOptions): void {
  const errors = { '4xx': errorSchema, '5xx': errorSchema }
  const text = (description: string) => ({ 200: { description, type: 'string' }, ...errors })
  app.get(
    '/openapi.json',
    {
      schema: {
        summary: 'this API as an OpenAPI 3.1 document',
        response: { 200: { type: 'object', additionalProperties: true }, ...errors },
      },
    },
    () => app.swagger(),
  )
  app.get('/status', { schema: { response: { 200: statusSchema, ...errors } } }, () =>
    node.status(),
  )
  app.get('/peers', { schema: { response: { 200: peersSchema, ...errors } } }, () =>
    node.peerViews(),
  )
  app.get('/validators', { schema: { response: { 200: validatorsSchema, ...errors } } }, () =>
    node.validatorsView(),
  )

  const hub = new EventHub(node)
  app.get(
    '/events',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { types: { type: 'string', maxLength: 200 } },
          additionalProperties: false,
        },
        produces: ['text/event-stream'],
        response: text('server-sent events: status, round, tx, block, evidence (docs/API.md)'),
      },
    },
    (req, reply) => {
      const types = EventHub.parseTypes((req.query as { types?: string }).types)
      if (typeof types === 'string') throw new ApiError(400, 'MALFORMED', types)
      if (hub.size >= MAX_EVENT_STREAMS)
        throw new ApiError(
          503,
          'TOO_MANY_STREAMS',
          `${MAX_EVENT_STREAMS} event streams are open already; try again later`,
        )
      reply.hijack()
      hub.open(reply.raw, types)
    },
  )
  // open streams would hold the server's close forever: end them first
  app.addHook('preClose', (done) => {
    hub.closeAll()
    done()
  })

  // the explorer: a page, its script and its icon, nothing loaded from elsewhere
  const EXPLORER_CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'"
  app.get(
    '/',
    { schema: { produces: ['text/html'], response: text('the explorer') } },
    (_req, reply) =>
      reply
        .header('content-security-policy', EXPLORER_CSP)
        .type('text/html; charset=utf-8')
        .send(EXPLORER_HTML),
  )
  app.get(
    '/explorer.js',
    { schema: { produces: ['text/javascript'], response: text("the explorer's script") } },
    (_req, reply) => reply.type('text/javascript; charset=utf-8').send(EXPLORER_JS),
  )
  app.get(
    '/explorer.svg',
    { schema: { produces: ['image/svg+xml'], response: text("the explorer's icon") } },
    (_req, reply) => reply.type('image/svg+xml').send(EXPLORER_ICON),
  )

  app.get(
    '/metrics',
    {
      schema: {
        produces: ['text/plain'],
        response: text('Prometheus metrics (docs/OPERATIONS.md)'),
      },
    },
    async (_req, reply) => {
      const { registry } = node.metrics
      reply.type(registry.contentType)
      return registry.metrics()
    },
  )

  accountRoutes(app, node)
  app.decorate('txWaiters', transactionRoutes(app, node, options))
  chainRoutes(app, node)
  evidenceRoutes(app, node)
}

export async function startApi(
  node: ApiNode,
  address: { host: string; port: number },
  log: Logger,
  options: ApiOptions = {},
): Promise<ApiServer> {
  const app = buildApi(node, log, options)
  try {
    await app.listen({ host: address.host, port: address.port })
  } catch (err) {
    await app.close()
    const code = (err as NodeJS.ErrnoException).code
    const where = `${address.host}:${address.port}`
    if (code === 'EADDRINUSE')
      throw new ApiListenError(`API address ${where} is already in use (--api HOST:PORT)`)
    if (code === 'EADDRNOTAVAIL')
      throw new ApiListenError(`API address ${where} is not an address of this machine`)
    throw new ApiListenError(`cannot listen on ${where}: ${(err as Error).message}`)
  }
  const bound = app.server.address()
  const port = typeof bound === 'object' && bound != null ? bound.port : address.port
  const host = address.host.includes(':') ? `[${address.host}]` : address.host
  return { url: `http://${host}:${port}`, close: () => app.close() }
}
