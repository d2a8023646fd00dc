/**
 * The explorer page (GET /, SPEC): the node's status, its peers, the latest
 * blocks and txs, kept live by GET /events. One HTML page and one script
 * (GET /explorer.js), nothing from elsewhere (the page works without the
 * internet), every value put into the page as text, never as HTML.
 */

export const EXPLORER_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bftchain explorer</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2433; background: #f7f8fa; }
  h1 { font-size: 1.3rem; margin: 0 0 .2rem; }
  h2 { font-size: 1rem; margin: 1.4rem 0 .4rem; }
  #live { font-size: .85rem; padding: .1rem .5rem; border-radius: .6rem; background: #ddd; }
  #live.on { background: #c8f0d0; } #live.off { background: #f6d0d0; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: .5rem; }
  .card { background: #fff; border: 1px solid #e2e5ea; border-radius: .4rem; padding: .5rem .7rem; }
  .card b { display: block; font-size: .75rem; color: #5b6475; font-weight: 500; }
  table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #e2e5ea; }
  th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #eef0f3; white-space: nowrap; }
  th { font-size: .75rem; color: #5b6475; font-weight: 500; }
  code, .mono { font-family: ui-monospace, monospace; font-size: .85rem; }
  .failed { color: #b3261e; } .final { color: #1b7a35; }
</style>
</head>
<body>
<h1>bftchain explorer <span id="live">connecting</span></h1>
<div class="mono" id="who"></div>
<h2>Status</h2>
<div class="grid" id="status"></div>
<h2>Peers</h2>
<table><thead><tr><th>peer</th><th>role</th><th>height</th><th>latency</th><th>score</th><th>address</th></tr></thead>
<tbody id="peers"></tbody></table>
<h2>Latest blocks</h2>
<table><thead><tr><th>height</th><th>time</th><th>round</th><th>proposer</th><th>txs</th><th>accounts</th><th>hash</th></tr></thead>
<tbody id="blocks"></tbody></table>
<h2>Latest transactions</h2>
<table><thead><tr><th>tx</th><th>status</th><th>reason</th><th>seen</th></tr></thead>
<tbody id="txs"></tbody></table>
<script src="/explorer.js"></script>
</body>
</html>
`

export const EXPLORER_JS = `'use strict'
const KEEP = 20
const $ = (id) => document.getElementById(id)
const short = (s, n = 12) => (s ? String(s).slice(0, n) + '…' : '-')
const tail = (s) => (s ? '…' + String(s).slice(-6) : '-')
const clock = () => new Date().toLocaleTimeString()
let status = null
let roundHeight = null

function row(cells, cls) {
  const tr = document.createElement('tr')
  for (const c of cells) {
    const td = document.createElement('td')
    td.textContent = c == null ? '-' : String(c)
    tr.appendChild(td)
  }
  if (cls) tr.className = cls
  return tr
}

function keep(tbody, tr, first) {
  if (first) tbody.insertBefore(tr, tbody.firstChild)
  else tbody.appendChild(tr)
  while (tbody.children.length > KEEP) tbody.removeChild(tbody.lastChild)
}

function drawStatus() {
  if (!status) return
  $('who').textContent = status.peerId + ' (' + status.role + ') on ' + status.chainId
  const cards = [
    ['height', status.height],
    ['head', short(status.headHash, 16)],
    ['round', status.round == null ? 'idle' : (roundHeight ?? status.height + 1) + '/' + status.round],
    ['leader', status.round == null ? '-' : status.leader ? tail(status.leader) : 'electing'],
    ['peers', status.peers],
    ['pool', status.mempool.pending + ' pending, ' + status.mempool.committed + ' committed'],
    ['tx rounds', status.txRounds ? status.txRounds.running + ' running, ' + status.txRounds.waiting + ' waiting' : '-'],
    ['syncing', status.syncing ? status.syncing.current + '/' + status.syncing.to : 'no'],
  ]
  const grid = $('status')
  grid.replaceChildren()
  for (const [k, v] of cards) {
    const d = document.createElement('div')
    d.className = 'card'
    const b = document.createElement('b')
    b.textContent = k
    d.appendChild(b)
    d.appendChild(document.createTextNode(String(v)))
    grid.appendChild(d)
  }
}

async function get(path) {
  const res = await fetch(path)
  if (!res.ok) throw new Error(path + ': ' + res.status)
  return res.json()
}

async function refreshPeers() {
  try {
    const peers = await get('/peers')
    const body = $('peers')
    body.replaceChildren()
    for (const p of peers)
      body.appendChild(row([tail(p.peerId), p.validator ? 'validator' : p.role, p.height,
        p.latencyMs == null ? '-' : p.latencyMs + ' ms', p.score, p.addrs[0]]))
  } catch {}
}

function blockRow(b) {
  const h = b.header || {}
  return row([b.height, h.time ? new Date(h.time).toLocaleTimeString() : '-', h.round,
    tail(h.proposer), b.txs.length, b.accounts.length, short(b.hash, 16)])
}

async function loadBlocks() {
  try {
    const blocks = await get('/blocks')
    const body = $('blocks')
    body.replaceChildren()
    $('txs').replaceChildren()
    for (const b of blocks.slice(-KEEP).reverse()) {
      body.appendChild(blockRow(b))
      for (const t of b.txs) keep($('txs'), row([short(t.hash, 16), t.status === 'ok' ? 'final' : 'failed', t.reason, 'block ' + b.height], t.status === 'ok' ? 'final' : 'failed'), false)
    }
  } catch {}
}

function connect() {
  const es = new EventSource('/events')
  es.onopen = () => { $('live').textContent = 'live'; $('live').className = 'on' }
  es.onerror = () => { $('live').textContent = 'reconnecting'; $('live').className = 'off' }
  es.addEventListener('status', (e) => { status = JSON.parse(e.data); drawStatus(); refreshPeers(); loadBlocks() })
  es.addEventListener('round', (e) => {
    const r = JSON.parse(e.data)
    if (!status) return
    roundHeight = r.height
    status.round = r.round
    status.leader = r.leader
    drawStatus()
  })
  es.addEventListener('block', async (e) => {
    const b = JSON.parse(e.data)
    if (status) { status.height = b.height; status.headHash = b.hash; status.round = null; drawStatus() }
    try { keep($('blocks'), blockRow(await get('/blocks/' + b.height)), true) } catch {}
  })
  es.addEventListener('tx', (e) => {
    const t = JSON.parse(e.data)
    keep($('txs'), row([short(t.hash, 16), t.status, t.reason ? t.reason.code : null, clock()], t.status), true)
  })
  es.addEventListener('peer', (e) => {
    const p = JSON.parse(e.data)
    if (status) { status.peers += p.change === 'join' ? 1 : -1; drawStatus() }
    refreshPeers()
  })
  es.addEventListener('sync', (e) => {
    const s = JSON.parse(e.data)
    if (status) { status.syncing = s.done ? null : s; status.height = s.current; drawStatus() }
  })
}

setInterval(refreshPeers, 5000)
setInterval(async () => { try { status = await get('/status'); drawStatus() } catch {} }, 10000)
connect()
`
