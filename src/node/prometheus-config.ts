/**
 * A Prometheus scrape configuration for a set of nodes: one job, `bftchain`,
 * scraping each node's `GET /metrics` every 5 s, each target labelled with
 * its node's name. `bftchain devnet --prometheus` writes it for the devnet;
 * deploy/prometheus/prometheus.yml is the one for a default devnet.
 */

export interface ScrapeTarget {
  /** the node's name (its home directory's name: node0, node1, …) */
  name: string
  /** its API address, host:port */
  api: string
}

const SAFE = /^[A-Za-z0-9._:[\]-]+$/

export function prometheusConfig(targets: ScrapeTarget[]): string {
  const lines = [
    '# Prometheus scrape configuration for a bftchain network (GET /metrics of each node).',
    '# Run: prometheus --config.file=prometheus.yml; the dashboard is deploy/grafana/bftchain.json.',
    'global:',
    '  scrape_interval: 5s',
    '  evaluation_interval: 5s',
    'scrape_configs:',
    '  - job_name: bftchain',
    '    metrics_path: /metrics',
    '    static_configs:',
  ]
  for (const t of targets) {
    if (!SAFE.test(t.api) || !SAFE.test(t.name))
      throw new Error(`cannot write a scrape target for ${JSON.stringify(t)}`)
    lines.push(`      - targets: ["${t.api}"]`, `        labels: { node: "${t.name}" }`)
  }
  return `${lines.join('\n')}\n`
}
