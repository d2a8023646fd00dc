/**
 * The explorer's search and detail views, a part of its script (script.ts).
 * The search box reads its input by shape: digits are a block height; 64 hex
 * characters are a block, tx or account that the latest blocks hold, or else
 * a tx hash or an account address the node knows (asked in that order);
 * anything else is refused with a message that says what it takes. A match
 * opens a view routed on location.hash (#/block/12, #/tx/<hash>,
 * #/account/<address>), so links, reloads and the back button work. Every
 * value goes into the page as text.
 */

export const SEARCH_JS = `
const HEX64 = /^[0-9a-f]{64}$/
let routeSeq = 0

function clip(s, n = 40) {
  s = String(s)
  return s.length > n ? s.slice(0, n) + '…' : s
}

function say(text, cls) {
  const m = $('searchmsg')
  m.textContent = text || ''
  m.className = cls || ''
}

/** What a search input is, by its shape: {height}, {hex}, {peer} or {error}. */
function classify(text) {
  const q = String(text).trim()
  if (q === '') return { error: 'type a block height, a tx hash or an account address' }
  if (/^[0-9]+$/.test(q) && q.length < 64) {
    const h = Number(q)
    if (!Number.isSafeInteger(h)) return { error: 'height ' + clip(q) + ' is beyond the largest height there can be' }
    return { height: h }
  }
  const hex = q.toLowerCase().replace(/^0x/, '')
  if (/^[0-9a-f]+$/.test(hex)) {
    if (hex.length === 64) return { hex }
    return { error: 'malformed: "' + clip(q) + '" is ' + hex.length + ' hex characters, but a tx hash or an account address has 64' }
  }
  if (/^(12D3KooW|Qm)[1-9A-HJ-NP-Za-km-z]{20,}$/.test(q)) return { peer: q }
  return { error: 'malformed: cannot read "' + clip(q) + '"; search for a block height (digits), a tx hash or an account address (64 hex characters)' }
}

function go(route) {
  if (location.hash === '#/' + route) showRoute()
  else location.hash = '#/' + route
}

/**
 * The view of a hash the latest blocks hold (a block, a tx, a sender, a grantee or a
 * registration), or null: asked first, it spares the node the lookups that would miss.
 */
function seenRecently(hex) {
  for (const b of recentBlocks.values()) {
    if (b.hash === hex) return 'block/' + b.height
    for (const t of b.txs) {
      if (t.hash === hex) return 'tx/' + hex
      if (t.from === hex || (t.grant && t.grant.to === hex)) return 'account/' + hex
    }
    for (const a of b.accounts) if (a.address === hex) return 'account/' + hex
  }
  return null
}

async function search(text) {
  const c = classify(text)
  if (c.error) return say(c.error, 'err')
  if (c.height != null) {
    say('')
    return go('block/' + c.height)
  }
  if (c.peer) {
    const known = validatorIds.includes(c.peer)
    say(clip(c.peer, 60) + (known ? ' is a validator of this chain: see the validators panel' : ' is a peer id, not a validator of this chain; search for a block height, a tx hash or an account address'), known ? '' : 'err')
    if (known) go('')
    return
  }
  const known = seenRecently(c.hex)
  if (known) {
    say('')
    return go(known)
  }
  say('searching for ' + clip(c.hex, 20) + '…', 'muted')
  try {
    if (await find('/transactions/' + c.hex)) {
      say('')
      return go('tx/' + c.hex)
    }
    const [account, balance] = await Promise.all([find('/accounts/' + c.hex), find('/accounts/' + c.hex + '/balance')])
    if (account || balance) {
      say('')
      return go('account/' + c.hex)
    }
    say('no tx, account or block matches ' + c.hex + ' (block hashes are matched among the latest ' + MAX_RECENT + ' blocks)', 'err')
  } catch (e) {
    say('search failed: ' + e.message, 'err')
  }
}

/** A table of [name, value] rows; a value may be a node (a link). */
function fields(rows) {
  const t = el('table', null, 'fields')
  const body = el('tbody')
  for (const [k, v] of rows) {
    const tr = el('tr')
    tr.appendChild(el('th', k))
    const td = el('td')
    if (v instanceof Node) td.appendChild(v)
    else td.textContent = v == null ? '-' : String(v)
    tr.appendChild(td)
    body.appendChild(tr)
  }
  t.appendChild(body)
  return t
}

function table(headers, rows) {
  const t = el('table')
  const head = el('thead')
  const tr = el('tr')
  for (const h of headers) tr.appendChild(el('th', h))
  head.appendChild(tr)
  const body = el('tbody')
  for (const r of rows) body.appendChild(r)
  t.append(head, body)
  return t
}

function text(...parts) {
  const span = el('span')
  for (const p of parts) span.append(p instanceof Node ? p : String(p))
  return span
}

function txData(tx) {
  if (!tx) return '-'
  if (tx.kind === 'gas-grant' && tx.grant) return text('grant ' + tx.grant.amount + ' gas to ', link(short(tx.grant.to, 16), 'account/' + tx.grant.to))
  if (tx.data != null) return clip(tx.data, 80)
  if (tx.dataBase64 != null) return 'base64 ' + clip(tx.dataBase64, 60)
  return '-'
}

/** Validators in genesis order, then anyone else named (a signer the set does not hold). */
function voterOrder(named) {
  const out = validatorIds.slice()
  for (const id of named) if (!out.includes(id)) out.push(id)
  return out
}

async function blockView(p) {
  if (!/^[0-9]{1,16}$/.test(p)) throw new Error('malformed: "' + clip(p) + '" is not a block height')
  const b = await get('/blocks/' + p)
  const h = b.header
  const out = [el('h2', 'Block ' + b.height)]
  const nav = el('div', null, 'nav')
  if (b.height > 1) nav.appendChild(link('← block ' + (b.height - 1), 'block/' + (b.height - 1)))
  if (status && b.height < status.height) nav.appendChild(link('block ' + (b.height + 1) + ' →', 'block/' + (b.height + 1)))
  out.push(nav)
  out.push(fields([
    ['hash', b.hash],
    ['time', new Date(h.timeMs).toLocaleString() + ' (' + h.time + ')'],
    ['round', h.round],
    ['proposer', h.proposer],
    ['parent', b.height > 1 ? link(h.parentHash, 'block/' + (b.height - 1)) : h.parentHash + ' (the genesis)'],
    ['tx root', h.txRoot],
    ['accounts root', h.accountsRoot],
    ['state root', h.stateRoot],
    ['chain', h.chainId],
  ]))
  const cert = b.certificate
  const signers = new Set(cert.signers)
  out.push(el('h3', 'Commit certificate'))
  out.push(el('p', cert.phase + ', round ' + cert.round + ': signed by ' + signers.size + ' of ' + validatorIds.length + ' validators'))
  out.push(table(['validator', 'signed'], voterOrder(cert.signers).map((id) =>
    row([id, signers.has(id) ? 'signed' : 'not in the certificate'], signers.has(id) ? 'permit' : 'muted'))))
  out.push(el('h3', 'Transactions (' + b.txs.length + ')'))
  if (b.txs.length === 0) out.push(el('p', 'none', 'muted'))
  else out.push(table(['#', 'tx', 'from', 'kind', 'nonce', 'gas', 'receipt', 'data'], b.txs.map((t, i) =>
    row([i, link(short(t.hash, 16), 'tx/' + t.hash), link(short(t.from, 12), 'account/' + t.from), t.kind, t.nonce, t.gas,
      t.status === 'ok' ? 'ok' : 'failed: ' + t.reason, txData(t)], t.status === 'ok' ? '' : 'failed'))))
  out.push(el('h3', 'Registrations (' + b.accounts.length + ')'))
  if (b.accounts.length === 0) out.push(el('p', 'none', 'muted'))
  else out.push(table(['account', 'username', 'receipt'], b.accounts.map((a) =>
    row([link(short(a.address, 16), 'account/' + a.address), a.username, a.status === 'ok' ? 'ok' : 'failed: ' + a.reason],
      a.status === 'ok' ? '' : 'failed'))))
  return out
}

function voteCell(v) {
  if (!v) return '-'
  return v.result === 'reject' ? 'reject' + (v.reason ? ' (' + v.reason + ')' : '') : 'permit'
}

function phaseSummary(name, votes) {
  const permits = votes.filter((v) => v.result === 'permit').length
  return name + ': ' + permits + ' permit, ' + (votes.length - permits) + ' reject'
}

async function txView(p) {
  if (!HEX64.test(p)) throw new Error('malformed: a tx hash is 64 lower-case hex characters, not "' + clip(p) + '"')
  const t = await get('/transactions/' + p)
  const tx = t.tx
  const out = [el('h2', 'Transaction ' + short(t.hash, 16))]
  const st = el('span', t.status, t.status === 'failed' ? 'failed' : t.status === 'final' ? 'final' : '')
  out.push(fields([
    ['hash', t.hash],
    ['status', st],
    ['reason', t.reason ? t.reason.code + ': ' + t.reason.message : null],
    ['kind', tx ? tx.kind : 'this node saw its certificates only, not its body'],
    ['from', tx ? link(tx.from, 'account/' + tx.from) : null],
    ['nonce', tx ? tx.nonce : null],
    ['gas', tx ? tx.gas : null],
    ['data', txData(tx)],
    ['target', t.target],
    ['block', t.block ? link('block ' + t.block.height + ', tx ' + t.block.index, 'block/' + t.block.height) : 'not in a final block yet'],
  ]))

  const pp = t.votes.prePrepare, pr = t.votes.prepare
  const committed = t.block != null || t.status === 'committed' || t.status === 'final'
  out.push(el('h3', 'Votes'))
  if (pp.length === 0 && pr.length === 0) {
    out.push(el('p', 'this node does not remember the votes of this tx\\'s round (it keeps those of recent txs)', 'muted'))
  } else {
    out.push(el('p', phaseSummary('pre-prepare', pp) + '; ' + phaseSummary('prepare', pr) +
      '; commit: ' + (committed ? pr.filter((v) => v.result === 'permit').length + ' in the prepare certificate' : 'not yet')))
    const byVoter = (list) => new Map(list.map((v) => [v.voter, v]))
    const a = byVoter(pp), b = byVoter(pr)
    out.push(table(['validator', 'pre-prepare', 'prepare', 'commit'], voterOrder([...a.keys(), ...b.keys()]).map((id) => {
      const prep = b.get(id)
      const r = row([id, voteCell(a.get(id)), voteCell(prep), committed && prep && prep.result === 'permit' ? 'permit' : '-'])
      const pv = a.get(id)
      if ((pv && pv.result === 'reject') || (prep && prep.result === 'reject')) r.className = 'reject'
      return r
    })))
    out.push(el('p', 'The commit phase is made of the prepare phase\\'s certificate: its votes are the prepare permits. At the target the lists hold every answer; elsewhere, the signers of the certificates this node saw.', 'muted'))
  }

  out.push(el('h3', 'Receipt'))
  if (t.block == null) {
    out.push(el('p', t.status === 'failed' ? 'failed before any block held it' : 'no receipt until a final block holds it', 'muted'))
    return out
  }
  const block = await find('/blocks/' + t.block.height)
  const receipt = block ? block.txs[t.block.index] : null
  const used = (t.draws || []).reduce((n, d) => n + d.useGas, 0)
  out.push(fields([
    ['block', link(String(t.block.height), 'block/' + t.block.height)],
    ['index in block', t.block.index],
    ['result', receipt ? (receipt.status === 'ok' ? 'ok' : 'failed') : t.status],
    ['reason', receipt && receipt.reason ? receipt.reason : t.reason ? t.reason.code : null],
    ['gas', used + ' used' + (tx ? ' of ' + tx.gas + ' offered' : '')],
    ['drawn from', (t.draws || []).length === 0 ? 'no gas lot' :
      text(...t.draws.flatMap((d, i) => [i > 0 ? ', ' : '', d.useGas + ' from the lot of ', d.blockIndex === 0 ? 'the genesis' : link('block ' + d.blockIndex, 'block/' + d.blockIndex)]))],
    ['block commit certificate', block ? block.certificate.signers.length + ' of ' + validatorIds.length + ' validators: ' + block.certificate.signers.map((s) => tail(s)).join(', ') : null],
  ]))
  return out
}

async function accountView(p) {
  if (!HEX64.test(p)) throw new Error('malformed: an account address is 64 lower-case hex characters, not "' + clip(p) + '"')
  const [a, bal] = await Promise.all([find('/accounts/' + p), find('/accounts/' + p + '/balance')])
  if (!a && !bal) throw new Error('no account ' + p + ', and no gas granted to it')
  const out = [el('h2', a ? 'Account ' + a.username : 'Address ' + short(p, 16))]
  if (a) {
    out.push(fields([
      ['address', a.address],
      ['username', a.username],
      ['status', a.status],
      ['registered', a.registeredAt == null ? 'pending: no block holds it yet' : a.registeredAt === 0 ? 'in the genesis' : link('block ' + a.registeredAt, 'block/' + a.registeredAt)],
      ['key', a.keyType + ' ' + clip(a.publicKey, 48)],
      ['nonce', a.nonce + ' final; next ' + a.pendingNonce],
      ['data', a.data === '' ? '(none)' : clip(a.data, 200)],
    ]))
  } else {
    out.push(el('p', 'no account holds this address; the gas granted to it waits for one', 'muted'))
  }
  if (bal) {
    out.push(el('h3', 'Gas'))
    out.push(fields([
      ['balance', bal.balance],
      ['net of pooled txs', bal.pendingBalance],
      ['used', bal.gasUsed],
      ['expired unspent', bal.expiredGas],
      ['last block', bal.lastBlockIndex == null ? null : bal.lastBlockIndex === 0 ? 'the genesis' : link(String(bal.lastBlockIndex), 'block/' + bal.lastBlockIndex)],
    ]))
    if (bal.lots.length === 0) out.push(el('p', 'no live gas lots', 'muted'))
    else out.push(table(['lot of block', 'granted', 'remaining', 'expires'], bal.lots.map((l) =>
      row([l.blockIndex === 0 ? 'genesis' : link(String(l.blockIndex), 'block/' + l.blockIndex), new Date(l.time).toLocaleString(), l.remaining,
        l.expiresAt == null ? 'never' : new Date(l.expiresAt).toLocaleString()]))))
  }
  await loadRecent()
  const mine = []
  const heights = [...recentBlocks.keys()].sort((x, y) => y - x)
  for (const h of heights) {
    const b = recentBlocks.get(h)
    b.txs.forEach((t, i) => {
      const sent = t.from === p, got = t.grant && t.grant.to === p
      if (sent || got) mine.push(row([link(short(t.hash, 16), 'tx/' + t.hash), link(String(h), 'block/' + h), sent ? 'sent' : 'received',
        t.kind, t.nonce, t.gas, t.status === 'ok' ? 'ok' : 'failed: ' + t.reason, txData(t)], t.status === 'ok' ? '' : 'failed'))
    })
  }
  const span = heights.length ? ' (blocks ' + heights[heights.length - 1] + '–' + heights[0] + ')' : ''
  out.push(el('h3', 'Recent transactions'))
  out.push(el('p', mine.length + ' in the latest ' + heights.length + ' blocks' + span, 'muted'))
  if (mine.length > 0) out.push(table(['tx', 'block', '', 'kind', 'nonce', 'gas', 'receipt', 'data'], mine))
  return out
}

const VIEWS = { block: blockView, tx: txView, account: accountView }

/** Show what location.hash names: the overview, or a block, tx or account. */
async function showRoute() {
  const m = location.hash.match(/^#\\/(block|tx|account)\\/(.+)$/)
  const detail = $('detail')
  const seq = ++routeSeq
  if (!m) {
    detail.hidden = true
    detail.replaceChildren()
    $('home').hidden = false
    document.title = 'bftchain explorer'
    return
  }
  $('home').hidden = true
  detail.hidden = false
  const back = el('div', null, 'nav')
  back.appendChild(link('← overview', ''))
  if (detail.dataset.route !== location.hash) detail.replaceChildren(back, el('p', 'loading…', 'muted'))
  detail.dataset.route = location.hash
  let arg = m[2]
  try { arg = decodeURIComponent(arg) } catch {}
  document.title = m[1] + ' ' + clip(arg, 16) + ' · bftchain explorer'
  try {
    const view = await VIEWS[m[1]](arg)
    if (seq === routeSeq) detail.replaceChildren(back, ...view)
  } catch (e) {
    if (seq === routeSeq) detail.replaceChildren(back, el('h2', 'Nothing to show'), el('p', e.message, 'err'))
  }
}

function setupSearch() {
  $('search').addEventListener('submit', (e) => {
    e.preventDefault()
    search($('q').value)
  })
  window.addEventListener('hashchange', showRoute)
}
`
