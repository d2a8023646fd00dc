/**
 * The explorer (GET /) in a real browser, Debian's chromium driven by
 * playwright-core, against a devnet of 4 node processes: the page loads
 * without console errors, shows the height rising, lists the four
 * validators with their activity, finds a tx by its hash through the search
 * box and shows its votes, opens a block and an account, goes back with the
 * back button, and says clearly what a malformed or unknown search is.
 *
 * Without /usr/bin/chromium the test is skipped with a line saying so, unless
 * BFTCHAIN_REQUIRE_BROWSER=1 (CI sets it when it installed chromium), where
 * it fails. BFTCHAIN_SCREENSHOT=1 writes docs/explorer.png.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { type AccountKey, BftchainClient, generateAccountKey } from 'bftchain/client'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { addressOf, toHex } from '../../src/core/crypto/index.js'
import { waitFor } from './helpers/net.js'
import { ensureBuilt, getJson, type NodeProcess, ProcessGroup, ROOT } from './helpers/processes.js'

const CHROMIUM = '/usr/bin/chromium'
const REQUIRED = process.env.BFTCHAIN_REQUIRE_BROWSER === '1'
const HAVE_CHROMIUM = existsSync(CHROMIUM)
if (!HAVE_CHROMIUM && !REQUIRED) {
  console.log(
    `SKIPPED test/integration/explorer-browser.test.ts: ${CHROMIUM} is not installed ` +
      '(apt-get install chromium to run it; CI installs it and sets BFTCHAIN_REQUIRE_BROWSER=1)',
  )
}

/** How long the page may take to show what the devnet did (a busy 2-core machine). */
const SEEN_MS = 60_000
const patiently = { timeout: SEEN_MS, interval: 250 }
/** Chromium logs a request that got a 404 as a console error: a search that misses makes some. */
const NOT_FOUND_LOG = /Failed to load resource: the server responded with a status of 404/

const group = new ProcessGroup()
let browser: Browser | null = null

beforeAll(() => ensureBuilt(), 120_000)
afterEach(async () => {
  await browser?.close()
  browser = null
  await group.cleanup()
})

async function devnet(): Promise<{ apis: string[]; ids: string[] }> {
  const net = await group.testnet(4, { prefix: 'bftchain-explorer-' })
  const nodes: NodeProcess[] = []
  for (const h of net.homes) nodes.push(await group.start(['--home', h.home, '--quiet']))
  const apis = nodes.map((n) => n.info.api!)
  await waitFor(
    'every node to see the other three',
    async () => {
      const all = await Promise.all(apis.map((a) => getJson<{ peers: number }>(a, '/status')))
      return all.every((s) => s != null && s.peers === 3)
    },
    SEEN_MS,
    250,
  )
  return { apis, ids: net.homes.map((h) => h.peerId) }
}

/** The number the page's "height" card shows. */
async function shownHeight(page: Page): Promise<number> {
  const text = await page.locator('#status [data-card="height"]').textContent()
  return Number((text ?? '').replace(/^height/, ''))
}

async function searchFor(page: Page, text: string): Promise<void> {
  await page.fill('#q', text)
  await page.press('#q', 'Enter')
}

describe.skipIf(!HAVE_CHROMIUM && !REQUIRED)('the explorer in a browser', () => {
  it('answers searches for a tx, a block and an account, lists the validators, and refuses garbage', async () => {
    expect(
      HAVE_CHROMIUM,
      `BFTCHAIN_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing (apt-get install chromium)`,
    ).toBe(true)
    const { apis, ids } = await devnet()
    const api = apis[0]!
    const client = new BftchainClient({ url: api })

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.setDefaultTimeout(SEEN_MS)
    const errors: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`)
    })
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`))
    // which request an error status came from (the console line does not say)
    page.on('response', (r) => {
      if (r.status() >= 400) errors.push(`response: ${r.status()} ${new URL(r.url()).pathname}`)
    })
    await page.goto(`${api}/`)
    await page.waitForSelector('#live.on')
    await page.waitForSelector('#status [data-card="height"]')
    const before = await shownHeight(page)

    // the validators panel lists all four, in genesis order
    await expect.poll(() => page.locator('#validators tr').count(), patiently).toBe(4)
    const listed = await page.$$eval('#validators tr', (rows) =>
      rows.map((r) => r.getAttribute('data-peer')),
    )
    expect(listed).toEqual(ids)

    // an account and a tx through the client library: blocks, and the page's height rises
    const signer = generateAccountKey('ed25519')
    const alice: AccountKey = {
      signer,
      username: 'alice',
      address: toHex(addressOf(signer.publicKey)),
    }
    await client.register(alice, 'alice')
    await waitFor(
      'alice final',
      async () => (await client.account(alice.address)).status === 'final',
      SEEN_MS,
      250,
    )
    const sent = await client.send(
      alice,
      { kind: 'data', data: 'hello explorer' },
      { wait: 'final', timeoutMs: SEEN_MS },
    )
    expect(sent.status).toBe('final')
    await expect.poll(() => shownHeight(page), patiently).toBeGreaterThan(before)

    // each validator's share of the commit certificates, once the panel has caught up
    const panel = () =>
      page.$$eval('#validators tr', (rows) =>
        rows.map((r) => ({
          last: r.children[2]?.textContent ?? '',
          share: r.children[3]?.textContent ?? '',
        })),
      )
    await expect
      .poll(async () => {
        const rows = await panel()
        return (
          rows.length === 4 &&
          rows.every((r) => /^\d+\/\d+$/.test(r.share)) &&
          rows.some((r) => /^\d+ \(/.test(r.last))
        )
      }, patiently)
      .toBe(true)
    expect(errors).toEqual([])
    // what the panel shows: GET /validators with each one's share of the commit certificates
    const view = await client.validators()
    const head = (await client.status()).height
    expect(view.validators.map((v) => v.peerId)).toEqual(ids)
    let signatures = 0
    for (const v of view.validators) {
      // a block may have become final between the two requests
      expect(v.recentWindow).toBeGreaterThanOrEqual(Math.min(100, head) - 1)
      expect(v.signedRecent).toBeLessThanOrEqual(v.recentWindow)
      expect(v.evidence).toBe(0)
      if (v.lastSignedHeight != null) expect(v.lastSignedHeight).toBeLessThanOrEqual(head)
      signatures += v.signedRecent
    }
    // every commit certificate holds a quorum (3 of 4)
    expect(signatures).toBeGreaterThanOrEqual(3 * view.validators[0]!.recentWindow)

    // the tx by its hash: its status, votes and receipt
    await searchFor(page, sent.hash)
    await page.waitForURL((u) => u.hash === `#/tx/${sent.hash}`)
    await page.waitForSelector('#detail h3:text("Receipt")')
    expect(await page.isHidden('#home')).toBe(true)
    const detail = (await page.textContent('#detail')) ?? ''
    expect(detail).toContain(sent.hash)
    expect(detail).toContain('final')
    expect(detail).toMatch(/pre-prepare: [34] permit, 0 reject; prepare: [34] permit, 0 reject/)
    const votes = await page.$$eval('#detail table:not(.fields) tr', (rows) =>
      rows.map((r) => [...r.children].map((c) => c.textContent)),
    )
    // at the target (node 0) the votes are every answer: q = 3 permits at least in each phase
    const permits = (col: number) => votes.filter((r) => r[col] === 'permit').length
    expect(permits(1)).toBeGreaterThanOrEqual(3)
    expect(permits(2)).toBeGreaterThanOrEqual(3)
    for (const r of votes.slice(1)) expect(ids).toContain(r[0])
    expect(detail).toMatch(/gas\s*\d+ used of \d+ offered/)

    // its block, by the link in the tx view: the commit certificate's signers and the tx
    const tx = await client.tx(sent.hash)
    const height = (tx.block as { height: number }).height
    await page.click(`#detail a[href="#/block/${height}"]`)
    await page.waitForURL((u) => u.hash === `#/block/${height}`)
    await page.waitForSelector('#detail h3:text("Commit certificate")')
    const block = (await page.textContent('#detail')) ?? ''
    expect(block).toMatch(/signed by [34] of 4 validators/)
    expect(block).toContain(sent.hash.slice(0, 16))

    // the back button: the tx view again, then the overview
    await page.goBack()
    await page.waitForURL((u) => u.hash === `#/tx/${sent.hash}`)
    await page.waitForSelector('#detail h3:text("Votes")')
    await page.goBack()
    await page.locator('#home').waitFor({ state: 'visible' })
    expect(page.url()).toBe(`${api}/`)

    // the account by its address, and a block by its height
    await searchFor(page, alice.address)
    await page.waitForURL((u) => u.hash === `#/account/${alice.address}`)
    await page.waitForSelector('#detail h3:text("Recent transactions")')
    const account = (await page.textContent('#detail')) ?? ''
    expect(account).toContain('Account alice')
    expect(account).toContain(sent.hash.slice(0, 16))
    await searchFor(page, String(height))
    await page.waitForURL((u) => u.hash === `#/block/${height}`)
    await page.waitForSelector('#detail h2:text("Block")')
    expect(errors).toEqual([])

    // garbage, refused by its shape without asking the node
    await searchFor(page, 'hello world!')
    await expect
      .poll(() => page.textContent('#searchmsg'), patiently)
      .toMatch(/^malformed: cannot read "hello world!"/)
    await searchFor(page, 'abc123')
    await expect
      .poll(() => page.textContent('#searchmsg'), patiently)
      .toContain('is 6 hex characters, but a tx hash or an account address has 64')
    expect(errors).toEqual([])

    // a well-formed hash that nothing has: the node's 404s (logged by chromium), and a clear answer
    const nothing = 'ab'.repeat(32)
    await searchFor(page, nothing)
    await expect
      .poll(() => page.textContent('#searchmsg'), patiently)
      .toContain(`no tx, account or block matches ${nothing}`)
    const probes = new RegExp(`^response: 404 /(transactions|accounts)/${nothing}(/balance)?$`)
    expect(errors.filter((e) => !NOT_FOUND_LOG.test(e) && !probes.test(e))).toEqual([])

    if (process.env.BFTCHAIN_SCREENSHOT === '1') {
      // half a minute of traffic for the charts to show, a tx at a time (each waits to be final)
      for (let i = 0; i < 40; i++)
        await client.send(alice, { kind: 'data', data: `load ${i}` }, { wait: 'final' })
      await page.fill('#q', '')
      await page.locator('#searchmsg').evaluate((m) => {
        m.textContent = ''
      })
      await page.click('h1 a')
      await page.locator('#home').waitFor({ state: 'visible' })
      // the panel caught up with the head the status card shows
      await expect
        .poll(
          async () => (await panel())[0]?.share.endsWith(`/${await shownHeight(page)}`),
          patiently,
        )
        .toBe(true)
      await page.screenshot({ path: join(ROOT, 'docs/explorer.png') })
      console.log('wrote docs/explorer.png')
    }
  })
})
