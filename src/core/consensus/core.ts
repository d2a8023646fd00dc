/**
 * The consensus core: one object per node, `step(event) → actions`. It owns
 * the ledger, the pool and the rounds; the shell (src/node) feeds it events
 * and carries out its actions, persisting before it sends what depends on
 * the writes. Deterministic: no clock, no randomness, no I/O.
 */

import type { Genesis } from '../chain/genesis.js'
import { keyTypeOf } from '../chain/signatures.js'
import { ValidatorSet } from '../chain/validator-set.js'
import type { AccountRegistration, Certificate, Tx } from '../codec/index.js'
import { Phase, TxCodec } from '../codec/index.js'
import type { Signer } from '../crypto/keys.js'
import type { PeerIdString } from '../crypto/peer-id.js'
import { DEFAULT_POOL_LIMITS, Mempool, type PoolLimits } from '../mempool/mempool.js'
import { LedgerState } from '../state/ledger.js'
import { AccountRegistry } from './accounts.js'
import { TxLog, type TxRecord } from './tx-log.js'
import { TxRounds } from './tx-rounds.js'
import type { CoreAction, CoreEvent } from './types.js'
import { signersOf } from './validation.js'

export interface CoreInit {
  genesis: Genesis
  self: PeerIdString
  signer: Signer
  poolLimits?: PoolLimits
}

/** What a restarted node finds in its store. */
export interface RestoredPool {
  committed: { hash: string; tx: Tx; commitCert: Certificate }[]
  pendingAccounts: { address: string; reg: AccountRegistration }[]
}

export interface AccountView {
  address: string
  username: string
  data: string
  keyType: 'ed25519' | 'rsa'
  publicKey: Uint8Array
  status: 'pending' | 'final'
  nonce: number
  pendingNonce: number
  registeredAt: number | null
}

export class Core {
  readonly chainId: string
  readonly validators: ValidatorSet
  readonly self: PeerIdString
  readonly isValidator: boolean
  readonly pool: Mempool
  readonly txLog = new TxLog()
  readonly txRounds: TxRounds
  readonly accounts: AccountRegistry
  ledger: LedgerState
  private out: CoreAction[] = []

  constructor(init: CoreInit) {
    this.chainId = init.genesis.chainId
    this.validators = new ValidatorSet(init.genesis.validators)
    this.self = init.self
    this.isValidator = this.validators.has(init.self)
    this.pool = new Mempool(init.poolLimits ?? DEFAULT_POOL_LIMITS)
    this.ledger = LedgerState.fromGenesis(init.genesis)
    const ledger = () => this.ledger
    this.txRounds = new TxRounds(
      {
        chainId: this.chainId,
        validators: this.validators,
        self: init.self,
        signer: init.signer,
        txRoundMs: init.genesis.timeouts.txRoundMs,
      },
      ledger,
      this.pool,
      this.txLog,
      this.out,
    )
    this.accounts = new AccountRegistry(this.chainId, ledger, this.pool, this.out)
  }

  /** Put back what the store kept: committed txs and pending registrations. */
  restore(saved: RestoredPool, now: number): void {
    for (const { hash, tx, commitCert } of saved.committed) {
      this.pool.add(hash, tx, TxCodec.encode(tx).length, now)
      this.pool.markCommitted(hash, commitCert)
      const record = this.txLog.touch(hash, now, tx)
      this.txLog.advance(record, 'committed')
    }
    for (const { address, reg } of saved.pendingAccounts) this.pool.addAccount(address, reg)
  }

  step(event: CoreEvent): CoreAction[] {
    switch (event.type) {
      case 'tick':
        this.txRounds.tick(event.now)
        break
      case 'client-tx':
        this.txRounds.submit(event.requestId, event.tx, event.now)
        break
      case 'client-account':
        this.accounts.submit(event.requestId, event.reg)
        break
      case 'pre-prepare':
        this.txRounds.onPrePrepare(event.msg, event.now)
        break
      case 'prepare':
        this.txRounds.onPrepare(event.msg, signersOf(event.msg.cert!), event.now)
        break
      case 'commit':
        this.txRounds.onCommit(
          event.msg.txHash,
          event.msg.cert!,
          signersOf(event.msg.cert!),
          event.from,
          event.now,
        )
        break
      case 'vote':
        if (event.vote.phase === Phase.PRE_PREPARE || event.vote.phase === Phase.PREPARE) {
          this.txRounds.onVote(event.vote, event.now)
        }
        break
      case 'account':
        this.accounts.onGossip(event.reg)
        break
      case 'tx-fetched':
        this.txRounds.onTxFetched(event.tx, event.now)
        break
    }
    return this.out.splice(0)
  }

  // ------------------------------------------------------------------ queries

  tx(hash: string): TxRecord | undefined {
    return this.txLog.get(hash)
  }

  txBody(hash: string): Tx | undefined {
    return this.txRounds.body(hash)
  }

  account(address: string): AccountView | undefined {
    const final = this.ledger.account(address)
    if (final) {
      return {
        address,
        username: final.username,
        data: final.data,
        keyType: final.keyType,
        publicKey: final.publicKey,
        status: 'final',
        nonce: final.nextNonce,
        pendingNonce: this.pool.nextNonce(address, final.nextNonce),
        registeredAt: final.registeredAt,
      }
    }
    const pending = this.pool.pendingAccount(address)
    if (pending == null) return undefined
    return {
      address,
      username: pending.username,
      data: pending.data,
      keyType: keyTypeOf(pending.keyType),
      publicKey: pending.publicKey,
      status: 'pending',
      nonce: 0,
      pendingNonce: this.pool.nextNonce(address, 0),
      registeredAt: null,
    }
  }
}
