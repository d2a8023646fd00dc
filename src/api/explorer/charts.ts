/**
 * The explorer's live charts, a part of its script (script.ts): bounded rings
 * of samples over the last five minutes (final blocks with their time and
 * final txs; tx rounds running and waiting, from GET /status) and a small
 * line chart drawn as inline SVG. Elements are made with createElementNS and
 * their text set with textContent; nothing is loaded from elsewhere.
 */

export const CHARTS_JS = `
const CHART_WINDOW_MS = 5 * 60 * 1000
const CHART_BUCKET_MS = 10 * 1000
/** at most this many samples per ring (a block a second and a status every 2 s fit in 5 min) */
const MAX_SAMPLES = 600
const SVG_NS = 'http://www.w3.org/2000/svg'
/** final blocks: {height, t (block time, ms), final (txs with an ok receipt)}, ascending by height */
const blockSamples = []
/** the node's tx rounds: {t, running, waiting}, ascending by t */
const roundSamples = []

function trimSamples(ring, key) {
  const cut = Date.now() - CHART_WINDOW_MS - CHART_BUCKET_MS
  while (ring.length > MAX_SAMPLES || (ring.length > 0 && ring[0][key] < cut)) ring.shift()
}

function noteBlock(height, t, final) {
  if (blockSamples.some((s) => s.height === height)) return
  let i = blockSamples.length
  while (i > 0 && blockSamples[i - 1].height > height) i--
  blockSamples.splice(i, 0, { height, t, final })
  trimSamples(blockSamples, 't')
}

function noteRounds(rounds) {
  if (!rounds) return
  roundSamples.push({ t: Date.now(), running: rounds.running, waiting: rounds.waiting })
  trimSamples(roundSamples, 't')
}

function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG_NS, tag)
  for (const k of Object.keys(attrs)) e.setAttribute(k, String(attrs[k]))
  if (text != null) e.textContent = String(text)
  return e
}

/** The smallest of 1, 2, 5 × 10^k at or above v (the top of a chart's scale). */
function niceCeil(v) {
  if (!(v > 0)) return 1
  const mag = Math.pow(10, Math.floor(Math.log10(v)))
  for (const m of [1, 2, 5, 10]) if (m * mag >= v) return m * mag
  return 10 * mag
}

function fmtNum(v) {
  if (v >= 100) return String(Math.round(v))
  return String(Math.round(v * 10) / 10)
}

/**
 * Draw series ({label, points: [[t, value], …]}) over the last five minutes
 * into svg, replacing what it held.
 */
function lineChart(svg, series, unit, now) {
  const W = 360, H = 130, L = 34, R = 8, T = 16, B = 18
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H)
  svg.replaceChildren()
  const t0 = now - CHART_WINDOW_MS
  let max = 0
  for (const s of series) for (const p of s.points) if (p[0] >= t0 && p[1] > max) max = p[1]
  const top = niceCeil(max)
  const x = (t) => L + (Math.min(Math.max(t, t0), now) - t0) / CHART_WINDOW_MS * (W - L - R)
  const y = (v) => T + (1 - v / top) * (H - T - B)
  for (const v of [0, top / 2, top]) {
    svg.appendChild(svgEl('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: v === 0 ? 'axis' : 'grid' }))
    svg.appendChild(svgEl('text', { x: L - 4, y: y(v) + 3, 'text-anchor': 'end' }, fmtNum(v)))
  }
  const labels = [[t0, '-5 min', 'start'], [now - CHART_WINDOW_MS / 2, '-2.5 min', 'middle'], [now, 'now', 'end']]
  for (const [t, text, anchor] of labels)
    svg.appendChild(svgEl('text', { x: x(t), y: H - 4, 'text-anchor': anchor }, text))
  let legendX = L
  let drawn = 0
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => p[0] >= t0)
    const last = pts.length > 0 ? pts[pts.length - 1][1] : null
    const legend = svgEl('text', { x: legendX, y: 10, class: 's' + i },
      s.label + ': ' + (last == null ? '-' : fmtNum(last) + (unit ? ' ' + unit : '')))
    svg.appendChild(legend)
    legendX += 12 + 6 * legend.textContent.length
    if (pts.length === 0) return
    drawn++
    if (pts.length === 1) {
      svg.appendChild(svgEl('circle', { cx: x(pts[0][0]), cy: y(pts[0][1]), r: 2, class: 's' + i }))
      return
    }
    const d = pts.map((p) => x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1)).join(' ')
    svg.appendChild(svgEl('polyline', { points: d, class: 's' + i }))
  })
  if (drawn === 0)
    svg.appendChild(svgEl('text', { x: (L + W - R) / 2, y: (T + H - B) / 2, 'text-anchor': 'middle' }, 'no samples yet'))
}

/** Final txs per second in 10-second buckets (the current one over the time it has run). */
function rateSeries(now) {
  const first = Math.floor((now - CHART_WINDOW_MS) / CHART_BUCKET_MS)
  const last = Math.floor(now / CHART_BUCKET_MS)
  const sums = new Map()
  for (const s of blockSamples) {
    const k = Math.floor(s.t / CHART_BUCKET_MS)
    sums.set(k, (sums.get(k) || 0) + s.final)
  }
  const points = []
  for (let k = first + 1; k <= last; k++) {
    const start = k * CHART_BUCKET_MS
    const span = k === last ? Math.max(1000, now - start) : CHART_BUCKET_MS
    points.push([Math.min(start + span, now), (sums.get(k) || 0) / (span / 1000)])
  }
  return points
}

/** Seconds between each final block and the one before it (when both are sampled). */
function intervalSeries() {
  const points = []
  for (let i = 1; i < blockSamples.length; i++) {
    const a = blockSamples[i - 1], b = blockSamples[i]
    if (b.height === a.height + 1) points.push([b.t, Math.max(0, b.t - a.t) / 1000])
  }
  return points
}

function drawCharts() {
  const now = Date.now()
  lineChart($('chartrate'), [{ label: 'final tx/s', points: rateSeries(now) }], '', now)
  lineChart($('chartinterval'), [{ label: 'interval', points: intervalSeries() }], 's', now)
  lineChart($('chartrounds'), [
    { label: 'running', points: roundSamples.map((s) => [s.t, s.running]) },
    { label: 'waiting', points: roundSamples.map((s) => [s.t, s.waiting]) },
  ], '', now)
}
`
