/**
 * Accounts and txs from the command line, end to end: a 4-validator testnet
 * of child processes; `account new` on node0, the account gossiped to every
 * node, `tx send` through node1 committed and seen on node0 and node3,
 * nonces taken from the node, `account login`, a forged login, an unknown
 * sender, a gas grant by the testnet's authority; then blocks: the grant in
 * alice's balance on every node, `tx send --wait final` spending gas, `tx
 * show` with its block, `block show` the same on two nodes.
 */
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  accountKeyFile,
  generateAccountKey,
  writeAccountKey,
} from '../../src/node/keys/account-key.js'
import { waitFor } from './helpers/net.js'
import { cli, ensureBuilt, type NodeProcess, ProcessGroup } from './helpers/processes.js'

const group = new ProcessGroup()

beforeAll(ensureBuilt, 120_000)
afterEach(() => group.cleanup())

interface SentTx {
  hash: string
  status: string
  reason?: { code: string; message: string }
  tx: {
    kind: string
    from: string
    nonce: number
    data?: string
    grant?: { to: string; amount: number }
  }
}

interface TxView {
  hash: string
  status: string
  reason: { code: string; message: string } | null
  tx: { from: string; nonce: number; data?: string }
  target: string | null
  votes: {
    prePrepare: { voter: string; result: string }[]
    prepare: { voter: string; result: string }[]
  }
}

/** A tx at least this far along (a later block round may already have made it final). */
const COMMITTED = ['committed', 'final']
const WAIT = ['--wait', 'committed', '--timeout-ms', '20000']

async function json<T>(args: string[]): Promise<{ code: number; stderr: string; value: T | null }> {
  const r = await cli([...args, '--json'])
  return {
    code: r.code,
    stderr: r.stderr,
    value: r.code === 0 ? (JSON.parse(r.stdout) as T) : null,
  }
}

async function txStatus(api: string, hash: string): Promise<TxView | null> {
  return (await json<TxView>(['tx', 'show', hash, '--api', api])).value
}

async function seesAllPeers(api: string): Promise<boolean> {
  const r = await json<{ topics: string[] }[]>(['peers', '--api', api])
  const peers = r.value ?? []
  const topics = ['tx', 'prepare', 'commit', 'accounts']
  return peers.length === 3 && peers.every((p) => topics.every((t) => p.topics.includes(t)))
}

describe('accounts and txs from the CLI', () => {
  it('account new/show/login, tx send/show with node nonces, a forged login, an unknown sender, a gas grant, balance, tx send --wait final, block show', async () => {
    const net = await group.testnet(4, { prefix: 'bftchain-cli-acc-' })
    const { dir } = net
    expect(net.homes).toHaveLength(4)

    const nodes: NodeProcess[] = []
    for (const h of net.homes) {
      nodes.push(await group.start(['--home', h.home, '--quiet']))
    }
    const apis = nodes.map((n) => n.info.api!)
    // every node connected to the other three and knowing their subscriptions,
    // so that a registration or a tx round published now reaches everyone
    await waitFor(
      'every node to see the other three on the tx and accounts topics',
      async () => (await Promise.all(apis.map(seesAllPeers))).every(Boolean),
      45_000,
      250,
    )

    // ---- account new on node0: address printed, key file 0600
    const aliceKey = join(dir, 'alice.key.json')
    const created = await cli([
      'account',
      'new',
      '--name',
      'alice',
      '--out',
      aliceKey,
      '--api',
      apis[0]!,
    ])
    expect(created.code, created.stderr).toBe(0)
    const m =
      /registered alice: address ([0-9a-f]{64}) \(pending until the next block\); key in (.+)$/m.exec(
        created.stdout,
      )
    expect(m, created.stdout).not.toBeNull()
    const alice = m![1]!
    expect(m![2]).toBe(aliceKey)
    expect((await stat(aliceKey)).mode & 0o777).toBe(0o600)
    const keyFile = JSON.parse(await readFile(aliceKey, 'utf8')) as {
      address: string
      username: string
    }
    expect(keyFile).toMatchObject({ address: alice, username: 'alice' })

    // an existing key file is never overwritten, and nothing is registered for it
    const again = await cli([
      'account',
      'new',
      '--name',
      'alice2',
      '--out',
      aliceKey,
      '--api',
      apis[0]!,
    ])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain(`error: ${aliceKey} already exists`)

    // ---- account show on node2 eventually has it (pending: no block yet); then on every node
    await waitFor(
      'node2 to show alice',
      async () => {
        const a = (
          await json<{ username: string; status: string }>([
            'account',
            'show',
            alice,
            '--api',
            apis[2]!,
          ])
        ).value
        return a !== null && a.username === 'alice' && ['pending', 'final'].includes(a.status)
      },
      20_000,
      250,
    )
    const shown = await cli(['account', 'show', alice, '--api', apis[2]!])
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.stdout).toMatch(/username\s+alice/)
    await waitFor(
      'every node to know alice',
      async () => {
        const found = await Promise.all(
          apis.map((api) => json(['account', 'show', alice, '--api', api])),
        )
        return found.every((r) => r.code === 0)
      },
      20_000,
      250,
    )

    // ---- tx send through node1, waiting for the commit
    const first = await json<SentTx>([
      'tx',
      'send',
      '--key',
      aliceKey,
      '--data',
      'hello',
      ...WAIT,
      '--api',
      apis[1]!,
    ])
    expect(first.code, first.stderr).toBe(0)
    const sent = first.value!
    expect(sent.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(COMMITTED).toContain(sent.status)
    expect(sent.tx).toMatchObject({ kind: 'data', from: alice, data: 'hello' })
    const firstNonce = sent.tx.nonce

    // tx show on node0 and node3: committed there too
    for (const api of [apis[0]!, apis[3]!]) {
      await waitFor(
        `tx ${sent.hash} committed on ${api}`,
        async () => COMMITTED.includes((await txStatus(api, sent.hash))?.status ?? ''),
        20_000,
        250,
      )
      const t = (await txStatus(api, sent.hash))!
      expect(t.reason).toBeNull()
      expect(t.tx).toMatchObject({ from: alice, nonce: firstNonce, data: 'hello' })
    }
    // the target (node1) counted a quorum (3 of 4) of permits in both phases
    const atTarget = (await txStatus(apis[1]!, sent.hash))!
    expect(atTarget.target).toBe(nodes[1]!.info.peerId)
    expect(
      atTarget.votes.prePrepare.filter((v) => v.result === 'permit').length,
    ).toBeGreaterThanOrEqual(3)
    expect(
      atTarget.votes.prepare.filter((v) => v.result === 'permit').length,
    ).toBeGreaterThanOrEqual(3)
    const human = await cli(['tx', 'show', sent.hash, '--api', apis[1]!])
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toMatch(/status\s+(committed|final)/)
    expect(human.stdout).toMatch(/votes: pre-prepare [34] permit/)

    // ---- three more in a row, without --nonce or --wait: the node's pendingNonce
    // counts the txs already in its pool, so each gets the next nonce
    const more: SentTx[] = []
    for (let i = 1; i <= 3; i++) {
      const r = await json<SentTx>([
        'tx',
        'send',
        '--key',
        aliceKey,
        '--data',
        `hello ${i}`,
        '--api',
        apis[1]!,
      ])
      expect(r.code, r.stderr).toBe(0)
      expect(r.value!.tx.nonce).toBe(firstNonce + i)
      more.push(r.value!)
    }
    for (const tx of more) {
      await waitFor(
        `tx ${tx.hash} (nonce ${tx.tx.nonce}) committed`,
        async () => COMMITTED.includes((await txStatus(apis[1]!, tx.hash))?.status ?? ''),
        20_000,
        250,
      )
    }

    // ---- login with alice's key works on any node
    const login = await cli(['account', 'login', '--key', aliceKey, '--api', apis[2]!])
    expect(login.code, login.stderr).toBe(0)
    expect(login.stdout).toContain(`logged in as alice (${alice})`)

    // ---- bob's key does not log in as alice
    const bobKey = join(dir, 'bob.key.json')
    const bob = await cli(['account', 'new', '--name', 'bob', '--out', bobKey, '--api', apis[3]!])
    expect(bob.code, bob.stderr).toBe(0)
    const forged = await cli([
      'account',
      'login',
      '--key',
      bobKey,
      '--address',
      alice,
      '--api',
      apis[0]!,
    ])
    expect(forged.code).toBe(1)
    expect(forged.stderr).toMatch(/^error: login refused \(UNAUTHORIZED\)/)
    expect(forged.stdout).toBe('')

    // ---- a key that was never registered cannot send
    const strangerKey = join(dir, 'stranger.key.json')
    await writeAccountKey(strangerKey, accountKeyFile(generateAccountKey('ed25519'), 'stranger'))
    const sendAsStranger = (...flags: string[]) =>
      cli(['tx', 'send', '--key', strangerKey, '--data', 'x', ...flags, '--api', apis[0]!])
    const unknown = await sendAsStranger()
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('UNKNOWN_SENDER')
    // …nor with a nonce of its own choosing: the node refuses it (400)
    const unknown2 = await sendAsStranger('--nonce', '0')
    expect(unknown2.code).toBe(1)
    expect(unknown2.stderr).toContain('UNKNOWN_SENDER')

    // ---- the testnet's authority grants alice 1000 gas
    const grant = await json<SentTx>([
      'gas',
      'grant',
      '--key',
      join(dir, 'authority.key.json'),
      '--to',
      alice,
      '--amount',
      '1000',
      ...WAIT,
      '--api',
      apis[2]!,
    ])
    expect(grant.code, grant.stderr).toBe(0)
    expect(COMMITTED).toContain(grant.value!.status)
    expect(grant.value!.tx).toMatchObject({ kind: 'gas-grant', grant: { to: alice, amount: 1000 } })

    // ---- blocks: the grant becomes final, alice's balance shows it on every node
    interface Balance {
      hasTransaction: boolean
      lastBlockIndex: number | null
      gasUsed: number
      balance: number
      pendingBalance: number
    }
    const balanceOn = async (api: string) =>
      (await json<Balance>(['balance', alice, '--api', api])).value
    await waitFor(
      'the grant to be final on every node',
      async () => (await Promise.all(apis.map(balanceOn))).every((b) => b?.balance === 1000),
      30_000,
      250,
    )
    expect(await balanceOn(apis[3]!)).toMatchObject({
      hasTransaction: true,
      gasUsed: 0,
      balance: 1000,
      pendingBalance: 1000,
    })

    // ---- tx send --wait final: in a block when it returns; it spends its gas
    const spent = await json<SentTx>([
      'tx',
      'send',
      '--key',
      aliceKey,
      '--data',
      'costly',
      '--gas',
      '10',
      '--wait',
      'final',
      '--timeout-ms',
      '30000',
      '--api',
      apis[2]!,
    ])
    expect(spent.code, spent.stderr).toBe(0)
    expect(spent.value!.status).toBe('final')
    const atTarget2 = (await json<TxView & { block: { height: number; index: number } | null }>([
      'tx',
      'show',
      spent.value!.hash,
      '--api',
      apis[2]!,
    ]))!.value!
    expect(atTarget2.status).toBe('final')
    expect(atTarget2.block).toEqual({ height: expect.any(Number), index: expect.any(Number) })
    const spentIn = atTarget2.block!.height
    const after = await balanceOn(apis[2]!)
    expect(after).toMatchObject({
      hasTransaction: true,
      lastBlockIndex: spentIn,
      gasUsed: 10,
      balance: 990,
    })
    const humanBalance = await cli(['balance', alice, '--api', apis[2]!])
    expect(humanBalance.code, humanBalance.stderr).toBe(0)
    expect(humanBalance.stdout).toMatch(/balance\s+990/)
    expect(humanBalance.stdout).toMatch(/gas used\s+10/)

    // ---- block show: the block that holds it, the same on another node once it has it
    await waitFor(
      `node0 to have block ${spentIn}`,
      async () => (await json(['block', 'show', String(spentIn), '--api', apis[0]!])).code === 0,
      20_000,
      250,
    )
    interface Block {
      height: number
      hash: string
      txs: { hash: string; status: string }[]
      certificate: { signers: string[] }
    }
    const onTarget = (await json<Block>(['block', 'show', String(spentIn), '--api', apis[2]!]))
      .value!
    const onNode0 = (await json<Block>(['block', 'show', String(spentIn), '--api', apis[0]!]))
      .value!
    // the same block; each node shows the q commit votes it counted itself (any q prove it)
    const { certificate: certOn0, ...blockOn0 } = onNode0
    const { certificate: certOnTarget, ...blockOnTarget } = onTarget
    expect(blockOn0).toEqual(blockOnTarget)
    for (const cert of [certOn0, certOnTarget]) {
      expect(cert.signers.length).toBeGreaterThanOrEqual(3)
      expect(new Set(cert.signers).size).toBe(cert.signers.length)
    }
    expect(onTarget.txs).toContainEqual(
      expect.objectContaining({ hash: spent.value!.hash, status: 'ok' }),
    )
    expect(onTarget.certificate.signers.length).toBeGreaterThanOrEqual(3)
    const latest = (await json<Block>(['block', 'show', 'latest', '--api', apis[2]!])).value!
    expect(latest.height).toBeGreaterThanOrEqual(spentIn)
    const humanBlock = await cli(['block', 'show', String(spentIn), '--api', apis[2]!])
    expect(humanBlock.code, humanBlock.stderr).toBe(0)
    expect(humanBlock.stdout).toContain(spent.value!.hash)
    expect(humanBlock.stdout).toMatch(/certificate: round \d+, [34] signers/)
    const missing = await cli(['block', 'show', String(latest.height + 1000), '--api', apis[2]!])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^error: NOT_FOUND: block \d+ is not final yet/)
    // some fifty CLI processes one after the other: over a minute on a loaded 2-core machine
  }, 360_000)

  it('bad arguments are one clear line and exit 1, before any request', async () => {
    const dir = await group.tempDir('bftchain-cli-args-')
    // port 9 (discard): nothing answers, and nothing should be asked
    const api = ['--api', 'http://127.0.0.1:9']
    const key = join(dir, 'k.json')
    await writeAccountKey(key, accountKeyFile(generateAccountKey('ed25519'), 'k'))
    const cases: [string[], RegExp][] = [
      [['account', 'show', 'xyz', ...api], /^error: ADDRESS must be 64 hex characters$/],
      [['balance', 'ab'.repeat(31), ...api], /^error: ADDRESS must be 64 hex characters$/],
      [['tx', 'show', 'not-a-hash', ...api], /^error: HASH must be 64 hex characters$/],
      [['block', 'show', 'tip', ...api], /^error: HEIGHT must be a block height/],
      [
        ['account', 'new', '--name', 'A!', '--out', join(dir, 'a.json'), ...api],
        /^error: --name "A!"/,
      ],
      [
        ['account', 'new', '--name', 'carol', '--out', key, ...api],
        /^error: .*k\.json already exists/,
      ],
      [
        ['gas', 'grant', '--key', key, '--to', 'zz', '--amount', '5', ...api],
        /^error: --to must be 64 hex characters$/,
      ],
      [
        ['gas', 'grant', '--key', key, '--to', 'ab'.repeat(32), '--amount', '0', ...api],
        /must be a positive integer/,
      ],
      [['tx', 'send', '--key', key, ...api], /^error: give the data to write/],
      [
        ['tx', 'send', '--key', key, '--data', 'x', '--wait', 'soon', ...api],
        /^error: --wait must be committed or final/,
      ],
      [
        ['tx', 'send', '--key', join(dir, 'missing.json'), '--data', 'x', ...api],
        /missing\.json: no such file$/,
      ],
    ]
    for (const [args, expected] of cases) {
      const r = await cli(args)
      expect(r.code, args.join(' ')).toBe(1)
      expect(r.stderr.split('\n')[0], args.join(' ')).toMatch(expected)
      expect(r.stderr, args.join(' ')).not.toMatch(/\n\s+at /)
    }
  })
})
