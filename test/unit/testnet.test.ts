/**
 * `bftchain testnet` names each network it makes with a chain id of its own: signatures bind the
 * chain id, so two networks that shared one would take each other's txs and registrations.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { signTx, verifyTx } from '../../src/core/chain/signatures.js'
import { RejectReason, TxKind } from '../../src/core/codec/index.js'
import { admitTx } from '../../src/core/consensus/admission.js'
import { addressOf } from '../../src/core/crypto/keys.js'
import { Mempool } from '../../src/core/mempool/mempool.js'
import { LedgerState } from '../../src/core/state/ledger.js'
import { generateAccountKey } from '../../src/node/keys/account-key.js'
import { createTestnet, newChainId } from '../../src/node/testnet.js'

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

describe('testnet chain ids', () => {
  it('are unique per network unless one is asked for', async () => {
    expect(newChainId()).toMatch(/^bftchain-devnet-[0-9a-f]{8}$/)
    const made = []
    for (let i = 0; i < 2; i++) {
      const out = await mkdtemp(join(tmpdir(), 'bftchain-testnet-'))
      dirs.push(out)
      made.push(await createTestnet({ validators: 1, out }))
    }
    expect(made[0]!.genesis.chainId).not.toBe(made[1]!.genesis.chainId)
    const out = await mkdtemp(join(tmpdir(), 'bftchain-testnet-'))
    dirs.push(out)
    expect((await createTestnet({ validators: 1, out, chainId: 'mine' })).genesis.chainId).toBe(
      'mine',
    )
  })

  it('so a tx signed for one network is refused by the other', async () => {
    const key = generateAccountKey('ed25519')
    const a = newChainId()
    const b = newChainId()
    const tx = signTx(key, {
      chainId: a,
      kind: TxKind.DATA,
      from: addressOf(key.publicKey),
      nonce: 0,
      gas: 0,
      data: new Uint8Array(),
    })
    expect(verifyTx(tx, 'ed25519', key.publicKey)).toBe(true)
    // replayed on b: another chain id, and the signature covers the chain id
    const replayed = { ...tx, chainId: b }
    expect(verifyTx(replayed, 'ed25519', key.publicKey)).toBe(false)
    const verdict = admitTx(
      { chainId: b, ledger: new LedgerState(0, new Set()), pool: new Mempool(), now: 0 },
      tx,
      'hash',
      100,
    )
    expect(verdict).toMatchObject({ ok: false, reason: RejectReason.WRONG_CHAIN })
  })
})
