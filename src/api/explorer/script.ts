/**
 * The explorer's script (GET /explorer.js): the page's helpers and its live
 * overview — status, charts, validators, peers, the latest blocks and txs,
 * kept live by GET /events and a few polls — with the charts (charts.ts) and
 * the search and detail views (search.ts) put together into one script.
 * Values go into the page as text (textContent, createElement), never as HTML.
 */
import { CHARTS_JS } from './charts.js'
import { SEARCH_JS } from './search.js'

const HELPERS_JS = `'use strict'
const KEEP = 20
/** blocks kept for the account view's recent txs and the block-hash search: one GET /blocks page */
const MAX_RECENT = 100
const $ = (id) => document.getElementById(id)
const short = (s, n = 12) => (s ? String(s).slice(0, n) + '…' : '-')
const tail = (s) => (s ? '…' + String(s).slice(-6) : '-')
const clock = () => new Date().toLocaleTimeString()
let status = null
let roundHeight = null
/** the validator set, in genesis order (GET /validators) */
let validatorIds = []
/** the latest final blocks by height, as GET /blocks answers them */
const recentBlocks = new Map()

class ApiError extends Error {
  constructor(status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

/** GET path as JSON; an error status throws an ApiError with the API's own message. */
async function get(path) {
  const res = await fetch(path)
  if (res.ok) return res.json()
  let code = 'HTTP_' + res.status
  let message = path + ': HTTP ' + res.status
  try {
    const body = await res.json()
    if (body && body.error) {
      code = body.error.code
      message = body.error.message
    }
  } catch {}
  throw new ApiError(res.status, code, message)
}

/**
 * get for a poll, or null when the node did not answer (it may be restarting: the next poll
 * tries again). Only the request is forgiven: a fault in drawing the answer is a page error.
 */
async function poll(path) {
  try {
    return await get(path)
  } catch {
    return null
  }
}

/** get, or null for a 404. */
async function find(path) {
  try {
    return await get(path)
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null
    throw e
  }
}

function el(tag, text, cls) {
  const e = document.createElement(tag)
  if (text != null) e.textContent = String(text)
  if (cls) e.className = cls
  return e
}

/** A link to a view of the page (#/block/12, #/tx/<hash>, …). */
function link(text, route) {
  const a = el('a', text)
  a.href = '#/' + route
  return a
}

/** A table row; a cell is text, or a node (a link). */
function row(cells, cls) {
  const tr = document.createElement('tr')
  for (const c of cells) {
    const td = document.createElement('td')
    if (c instanceof Node) td.appendChild(c)
    else td.textContent = c == null ? '-' : String(c)
    tr.appendChild(td)
  }
  if (cls) tr.className = cls
  return tr
}
`

const LIVE_JS = `
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
    const d = el('div', null, 'card')
    d.dataset.card = k
    d.appendChild(el('b', k))
    d.appendChild(document.createTextNode(String(v)))
    grid.appendChild(d)
  }
}

async function refreshStatus() {
  const s = await poll('/status')
  if (s == null) return
  status = s
  noteRounds(status.txRounds)
  drawStatus()
  drawCharts()
}

async function refreshPeers() {
  const peers = await poll('/peers')
  if (peers == null) return
  const body = $('peers')
  body.replaceChildren()
  for (const p of peers)
    body.appendChild(row([tail(p.peerId), p.validator ? 'validator' : p.role, p.height,
      p.latencyMs == null ? '-' : p.latencyMs + ' ms', p.score, p.addrs[0]]))
}

function ago(blocks) {
  return blocks === 0 ? 'the head' : blocks === 1 ? '1 block ago' : blocks + ' blocks ago'
}

let validatorsBusy = false
async function refreshValidators() {
  if (validatorsBusy) return
  validatorsBusy = true
  let v
  try {
    v = await poll('/validators')
  } finally {
    validatorsBusy = false
  }
  if (v == null) return
  validatorIds = v.validators.map((x) => x.peerId)
  $('quorum').textContent = v.validators.length + ' validators, quorum ' + v.quorum + ', tolerates ' + v.faultTolerance + ' faulty'
  // every commit certificate holds a quorum of them: the highest last-signed height is the
  // head this answer was made at (status.height may be a block ahead by now)
  const signed = v.validators.map((x) => x.lastSignedHeight).filter((h) => h != null)
  const head = signed.length > 0 ? Math.max(...signed) : null
  const body = $('validators')
  body.replaceChildren()
  for (const x of v.validators) {
    const since = x.lastSignedHeight != null && head != null && head >= x.lastSignedHeight
      ? ' (' + ago(head - x.lastSignedHeight) + ')' : ''
    const last = x.lastSignedHeight == null
      ? (x.recentWindow === 0 ? 'no block yet' : 'none of the last ' + x.recentWindow)
      : text(link(String(x.lastSignedHeight), 'block/' + x.lastSignedHeight), since)
    const tr = row([x.peerId, x.self ? 'this node' : x.connected ? 'connected' : 'not connected', last,
      x.recentWindow === 0 ? '-' : x.signedRecent + '/' + x.recentWindow, x.evidence])
    tr.dataset.peer = x.peerId
    if (x.evidence > 0) tr.lastChild.className = 'warn'
    if (x.recentWindow > 0 && x.signedRecent * 2 < x.recentWindow) tr.children[3].className = 'warn'
    body.appendChild(tr)
  }
}

function blockRow(b) {
  const h = b.header || {}
  return row([link(String(b.height), 'block/' + b.height), h.time ? new Date(h.time).toLocaleTimeString() : '-', h.round,
    tail(h.proposer), b.txs.length, b.accounts.length, short(b.hash, 16)])
}

function txRow(hash, st, reason, seen) {
  return row([link(short(hash, 16), 'tx/' + hash), st, reason, seen], st)
}

function remember(b) {
  recentBlocks.set(b.height, b)
  noteBlock(b.height, b.header.timeMs, b.txs.filter((t) => t.status === 'ok').length)
  if (recentBlocks.size > MAX_RECENT) {
    const heights = [...recentBlocks.keys()].sort((x, y) => x - y)
    for (const h of heights.slice(0, heights.length - MAX_RECENT)) recentBlocks.delete(h)
  }
}

/** The latest blocks (one GET /blocks page) into recentBlocks; returns them, ascending. */
async function loadRecent() {
  const blocks = await get('/blocks')
  for (const b of blocks) remember(b)
  return blocks
}

async function loadBlocks() {
  const blocks = await poll('/blocks')
  if (blocks == null) return
  for (const b of blocks) remember(b)
  const body = $('blocks')
  body.replaceChildren()
  $('txs').replaceChildren()
  for (const b of blocks.slice(-KEEP).reverse()) {
    body.appendChild(blockRow(b))
    for (const t of b.txs) keep($('txs'), txRow(t.hash, t.status === 'ok' ? 'final' : 'failed', t.reason, 'block ' + b.height), false)
  }
  drawCharts()
}

let validatorsTimer = null
/** Refresh the validators panel soon (blocks can come many a second: at most once a second). */
function validatorsSoon() {
  if (validatorsTimer) return
  validatorsTimer = setTimeout(() => {
    validatorsTimer = null
    refreshValidators()
  }, 1000)
}

function connect() {
  const es = new EventSource('/events')
  es.onopen = () => { $('live').textContent = 'live'; $('live').className = 'on' }
  es.onerror = () => { $('live').textContent = 'reconnecting'; $('live').className = 'off' }
  es.addEventListener('status', (e) => {
    status = JSON.parse(e.data)
    noteRounds(status.txRounds)
    drawStatus()
    refreshPeers()
    refreshValidators()
    loadBlocks()
  })
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
    validatorsSoon()
    const full = await poll('/blocks/' + b.height)
    if (full == null) return
    remember(full)
    keep($('blocks'), blockRow(full), true)
    drawCharts()
  })
  es.addEventListener('tx', (e) => {
    const t = JSON.parse(e.data)
    keep($('txs'), txRow(t.hash, t.status, t.reason ? t.reason.code : null, clock()), true)
    // an open view of this tx follows its status
    if (location.hash === '#/tx/' + t.hash) showRoute()
  })
  es.addEventListener('peer', (e) => {
    const p = JSON.parse(e.data)
    if (status) { status.peers += p.change === 'join' ? 1 : -1; drawStatus() }
    refreshPeers()
    validatorsSoon()
  })
  es.addEventListener('sync', (e) => {
    const s = JSON.parse(e.data)
    if (status) { status.syncing = s.done ? null : s; status.height = s.current; drawStatus() }
  })
}

setupSearch()
showRoute()
drawCharts()
setInterval(refreshPeers, 5000)
setInterval(refreshValidators, 5000)
setInterval(refreshStatus, 2000)
connect()
`

export const EXPLORER_JS = [HELPERS_JS, CHARTS_JS, SEARCH_JS, LIVE_JS].join('\n')
