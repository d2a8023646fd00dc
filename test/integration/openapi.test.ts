/**
 * The API describes itself: GET /openapi.json is a valid OpenAPI 3.1
 * document made from the route schemas, it names every route the server
 * registers (the documentation page's own routes aside), each with a
 * response schema; /docs serves a browsable page of it from the package.
 */
import { Validator } from '@seriousme/openapi-schema-validator'
import type { FastifyInstance, RouteOptions } from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { buildApi } from '../../src/api/server.js'
import { silentLogger } from '../../src/node/log.js'
import type { ChainNode } from '../../src/node/node/chain-node.js'
import { identity, makeGenesis, TestNet } from './helpers/net.js'

const net = new TestNet()
let node: ChainNode
let app: FastifyInstance
let registered: RouteOptions[]

beforeEach(async () => {
  const id = await identity('openapi-0')
  node = await net.startNode({ genesis: makeGenesis([id]), identity: id })
  app = buildApi(node, silentLogger)
  registered = []
  app.addHook('onRoute', (route) => {
    registered.push(route)
  })
  await app.ready()
})
afterEach(async () => {
  await app.close()
  await net.stopAll()
})

/** A fastify path as OpenAPI writes it: `/blocks/:height` → `/blocks/{height}`. */
const openapiPath = (url: string): string => url.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}')

type Doc = {
  openapi: string
  info: { version: string }
  paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>
}

describe('OpenAPI', () => {
  it('GET /openapi.json is a valid OpenAPI 3.1 document', async () => {
    const res = await app.inject('/openapi.json')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/application\/json/)
    const doc = res.json() as Doc
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/)
    const validator = new Validator()
    const result = await validator.validate(doc as never)
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    expect(validator.version).toBe('3.1')
  })

  it('names every route the server registers, each with its responses', async () => {
    const doc = (await app.inject('/openapi.json')).json() as Doc
    // the documentation page's own routes are hidden from the document they show
    const routes = registered.filter((r) => !r.url.startsWith('/docs'))
    expect(routes.length).toBeGreaterThan(15)
    const missing: string[] = []
    for (const route of routes) {
      const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter(
        (m) => m !== 'HEAD',
      )
      for (const method of methods) {
        const op = doc.paths[openapiPath(route.url)]?.[method.toLowerCase()]
        if (op == null) missing.push(`${method} ${route.url}`)
        else if (!Object.keys(op.responses ?? {}).some((code) => /^2\d\d$/.test(code)))
          missing.push(`${method} ${route.url}: no success response`)
        else if (route.schema?.response == null) missing.push(`${method} ${route.url}: no schema`)
      }
    }
    expect(missing).toEqual([])
    // and nothing in the document that the server does not serve
    const served = new Set(routes.map((r) => openapiPath(r.url)))
    expect(Object.keys(doc.paths).filter((p) => !served.has(p))).toEqual([])
  })

  it('/docs is a page served from the package, with its own assets and no CDN', async () => {
    const page = await app.inject('/docs/')
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toMatch(/text\/html/)
    expect(page.body).not.toMatch(/https?:\/\/(?!127\.0\.0\.1|localhost)[^"']*\.(js|css)/)
    for (const asset of page.body.matchAll(/(?:src|href)="\.\/([^"]+\.(?:js|css))"/g)) {
      const res = await app.inject(`/docs/${asset[1]}`)
      expect(res.statusCode, asset[1]).toBe(200)
    }
    const init = await app.inject('/docs/static/swagger-initializer.js')
    expect(init.statusCode).toBe(200)
    expect((await app.inject('/docs/json')).json().openapi).toBe('3.1.0')
  })

  it('the explorer, metrics and event routes still answer as before', async () => {
    const page = await app.inject('/')
    expect(page.headers['content-type']).toMatch(/text\/html/)
    expect(page.body).toMatch(/<html/i)
    const metrics = await app.inject('/metrics')
    expect(metrics.statusCode).toBe(200)
    expect(metrics.body).toMatch(/^bftchain_height /m)
    const script = await app.inject('/explorer.js')
    expect(script.headers['content-type']).toMatch(/javascript/)
    expect(script.body.startsWith('"')).toBe(false) // sent as it is, not JSON-encoded
  })
})
