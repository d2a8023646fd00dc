/**
 * The Grafana dashboard (deploy/grafana/bftchain.json) queries only series a
 * running node exports, and the Prometheus config in deploy/ is the one
 * `bftchain devnet --prometheus` writes for a default devnet.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { prometheusConfig } from '../../src/node/prometheus-config.js'
import { waitFor } from './helpers/net.js'
import { ensureBuilt, getJson, ProcessGroup, ROOT } from './helpers/processes.js'

const group = new ProcessGroup()
beforeAll(() => ensureBuilt())
afterEach(() => group.cleanup())

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[]
}

/** The metric names a PromQL expression reads (ours, Node's and libp2p's all have a prefix). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:bftchain|process|nodejs|libp2p)_[a-z0-9_]+)\b/g)].map(
    (m) => m[1]!,
  )
}

/** A histogram's series name (`x_bucket`, `x_sum`, `x_count`) as the family it belongs to. */
function family(name: string, types: Map<string, string>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length)
    if (name.endsWith(suffix) && types.get(base) === 'histogram') return base
  }
  return name
}

describe('dashboards', () => {
  it('every series a dashboard panel queries is in /metrics of a running node', async () => {
    const dashboard = JSON.parse(
      readFileSync(join(ROOT, 'deploy/grafana/bftchain.json'), 'utf8'),
    ) as Dashboard
    expect(dashboard.panels.length).toBeGreaterThan(10)

    const net = await group.testnet(1, { prefix: 'bftchain-dash-' })
    const node = await group.start(['--home', net.homes[0]!.home, '--quiet'])
    const api = node.info.api!
    await waitFor('the API', async () => (await getJson(api, '/status')) != null, 30_000, 200)
    const text = await (await fetch(`${api}/metrics`)).text()
    const types = new Map(
      [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const),
    )
    expect(types.get('bftchain_height')).toBe('gauge')

    const missing: string[] = []
    let queried = 0
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        const names = metricNames(target.expr)
        if (names.length === 0) missing.push(`${panel.title}: "${target.expr}" reads no series`)
        for (const name of names) {
          queried++
          if (!types.has(family(name, types))) missing.push(`${panel.title}: ${name}`)
        }
      }
    }
    expect(missing).toEqual([])
    expect(queried).toBeGreaterThan(20)
  })

  it('deploy/prometheus/prometheus.yml is the scrape config of a default devnet', () => {
    const expected = prometheusConfig(
      [0, 1, 2, 3].map((i) => ({ name: `node${i}`, api: `127.0.0.1:${8080 + i}` })),
    )
    expect(readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')).toBe(expected)
    expect(expected).toMatch(/job_name: bftchain/)
    expect(expected).toMatch(/- targets: \["127\.0\.0\.1:8083"\]\n {8}labels: \{ node: "node3" \}/)
    expect(() => prometheusConfig([{ name: 'x', api: "a'b" }])).toThrow(/cannot write/)
  })
})
