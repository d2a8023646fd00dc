/**
 * The three direct protocols of DESIGN §4, as descriptors.
 */
import {
  HistoryRequestCodec,
  HistoryResponseCodec,
  StatusCodec,
  VoteBatchCodec,
  VoteBatchReplyCodec,
} from '../../core/codec/index.js'
import type * as M from '../../core/codec/messages.js'
import type { ProtocolDescriptor } from './reqresp.js'

/**
 * Votes (permit/reject) sent to the round's target or leader, batched per target, on one
 * long-lived stream per target (a session): a request to each target at a time, in order.
 */
export const VOTE_PROTOCOL: ProtocolDescriptor<M.VoteBatch, M.VoteBatchReply> = {
  protocol: '/bftchain/vote/1',
  request: VoteBatchCodec,
  response: VoteBatchReplyCodec,
  timeoutMs: 5_000,
  maxInboundStreams: 64,
  maxOutboundStreams: 64,
  rateLimit: { burst: 200, perSecond: 500 },
  session: { idleMs: 30_000 },
}

/** On connect: chain id, genesis hash, height, head, role, and a few known peers. */
export const STATUS_PROTOCOL: ProtocolDescriptor<M.Status, M.Status> = {
  protocol: '/bftchain/status/1',
  request: StatusCodec,
  response: StatusCodec,
  timeoutMs: 5_000,
  maxInboundStreams: 4,
  maxOutboundStreams: 4,
  rateLimit: { burst: 10, perSecond: 1 },
}

/** Blocks with their certificates by height range; or one tx, or one tx batch, by hash. */
export const HISTORY_PROTOCOL: ProtocolDescriptor<M.HistoryRequest, M.HistoryResponse> = {
  protocol: '/bftchain/history/1',
  request: HistoryRequestCodec,
  response: HistoryResponseCodec,
  timeoutMs: 30_000,
  maxInboundStreams: 8,
  maxOutboundStreams: 16,
  rateLimit: { burst: 32, perSecond: 16 },
}
