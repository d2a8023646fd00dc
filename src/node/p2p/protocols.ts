/**
 * The three direct protocols of DESIGN §4, as descriptors.
 */
import {
  HistoryRequestCodec,
  HistoryResponseCodec,
  StatusCodec,
  VoteCodec,
  VoteReplyCodec,
} from '../../core/codec/index.js'
import type * as M from '../../core/codec/messages.js'
import type { ProtocolDescriptor } from './reqresp.js'

/** A vote (permit/reject) sent to the round's target or leader. */
export const VOTE_PROTOCOL: ProtocolDescriptor<M.Vote, M.VoteReply> = {
  protocol: '/bftchain/vote/1',
  request: VoteCodec,
  response: VoteReplyCodec,
  timeoutMs: 5_000,
  maxInboundStreams: 256,
  rateLimit: { burst: 2_000, perSecond: 5_000 },
}

/** On connect: chain id, genesis hash, height, head, role, and a few known peers. */
export const STATUS_PROTOCOL: ProtocolDescriptor<M.Status, M.Status> = {
  protocol: '/bftchain/status/1',
  request: StatusCodec,
  response: StatusCodec,
  timeoutMs: 5_000,
  maxInboundStreams: 4,
  rateLimit: { burst: 10, perSecond: 1 },
}

/** Blocks with their certificates by height range; or one tx by hash. */
export const HISTORY_PROTOCOL: ProtocolDescriptor<M.HistoryRequest, M.HistoryResponse> = {
  protocol: '/bftchain/history/1',
  request: HistoryRequestCodec,
  response: HistoryResponseCodec,
  timeoutMs: 30_000,
  maxInboundStreams: 8,
  rateLimit: { burst: 32, perSecond: 16 },
}
