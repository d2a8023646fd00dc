/**
 * The gossip topics' handlers: decode with the codec (its size limit and
 * shape checks), validate with the core's rules (consensus/validation.ts),
 * and hand accepted messages to the node's event bus.
 */

import { TxBatchWire } from '../../core/chain/tx-batch.js'
import {
  type AccountRegistration,
  AccountRegistrationCodec,
  type BatchCommit,
  BatchCommitCodec,
  type BatchPrepare,
  BatchPrepareCodec,
  type BlockSyncMessage,
  BlockSyncMessageCodec,
  type ElectionMessage,
  ElectionMessageCodec,
  type TxBatch,
} from '../../core/codec/index.js'
import type { CoreEvent } from '../../core/consensus/types.js'
import {
  type ValidationContext,
  validateAccount,
  validateBatchCommit,
  validateBatchPrepare,
  validateBlockSync,
  validateElection,
  validateTxBatch,
} from '../../core/consensus/validation.js'
import type { GossipHandler } from '../p2p/gossip.js'
import type { TopicName } from '../p2p/topics.js'

/** An accepted gossip message, as the node's event bus carries it. */
export type GossipEvent =
  | { topic: 'tx'; message: TxBatch; from: string }
  | { topic: 'prepare'; message: BatchPrepare; from: string }
  | { topic: 'commit'; message: BatchCommit; from: string }
  | { topic: 'block-sync'; message: BlockSyncMessage; from: string }
  | { topic: 'accounts'; message: AccountRegistration; from: string }
  | { topic: 'election'; message: ElectionMessage; from: string }

export type TopicHandlers = {
  [K in TopicName]: GossipHandler<Extract<GossipEvent, { topic: K }>['message']>
}

export function ingressHandlers(
  ctx: ValidationContext,
  deliver: (event: GossipEvent) => void,
): TopicHandlers {
  return {
    tx: {
      codec: TxBatchWire,
      validate: (m) => validateTxBatch(ctx, m),
      handle: (message, from) => deliver({ topic: 'tx', message, from }),
    },
    prepare: {
      codec: BatchPrepareCodec,
      validate: (m) => validateBatchPrepare(ctx, m),
      handle: (message, from) => deliver({ topic: 'prepare', message, from }),
    },
    commit: {
      codec: BatchCommitCodec,
      validate: (m) => validateBatchCommit(ctx, m),
      handle: (message, from) => deliver({ topic: 'commit', message, from }),
    },
    'block-sync': {
      codec: BlockSyncMessageCodec,
      validate: (m) => validateBlockSync(ctx, m),
      handle: (message, from) => deliver({ topic: 'block-sync', message, from }),
    },
    accounts: {
      codec: AccountRegistrationCodec,
      validate: (m) => validateAccount(ctx, m),
      handle: (message, from) => deliver({ topic: 'accounts', message, from }),
    },
    election: {
      codec: ElectionMessageCodec,
      validate: (m) => validateElection(ctx, m),
      handle: (message, from) => deliver({ topic: 'election', message, from }),
    },
  }
}

/** An accepted gossip message as the core's event. */
export function coreEventOf(event: GossipEvent, now: number): CoreEvent {
  const from = event.from
  switch (event.topic) {
    case 'tx':
      return { type: 'tx-batch', now, batch: event.message, from }
    case 'prepare':
      return { type: 'batch-prepare', now, msg: event.message, from }
    case 'commit':
      return { type: 'batch-commit', now, msg: event.message, from }
    case 'accounts':
      return { type: 'account', now, reg: event.message, from }
    case 'election':
      return { type: 'election', now, msg: event.message, from }
    case 'block-sync':
      return { type: 'block-sync', now, msg: event.message, from }
  }
}
