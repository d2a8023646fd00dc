/**
 * Direct request/response protocols as descriptors (Lodestar packages/reqresp):
 * one length-prefixed request and one response per stream, each with its
 * size limit, a deadline for the whole exchange, a per-connection inbound
 * stream limit and a per-peer rate limit. Bad bytes cost the sender reputation.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { DecodeError, type WireCodec } from '../../core/codec/index.js'
import type { Logger } from '../log.js'
import { RequestError } from './errors.js'
import { TokenBuckets } from './rate-limiter.js'
import type { Reputation } from './reputation.js'

export interface ProtocolDescriptor<Req, Res> {
  protocol: string
  request: WireCodec<Req>
  response: WireCodec<Res>
  /** deadline of one exchange, dial included */
  timeoutMs: number
  /** concurrent streams per connection, each way */
  maxInboundStreams: number
  maxOutboundStreams: number
  /** requests a peer may make at once, and per second after that */
  rateLimit: { burst: number; perSecond: number }
}

export type RequestHandler<Req, Res> = (request: Req, peerId: string) => Promise<Res> | Res

/** Penalties, by what the peer did. */
export const PENALTY = {
  malformedRequest: 20,
  rateLimited: 5,
  badResponse: 20,
} as const

/**
 * Length-prefixed framing for messages of up to `maxBytes`. The read buffer must hold a whole
 * message: left at its default (4 MiB), a larger answer (a history of big blocks, up to
 * MAX_HISTORY_RESPONSE_BYTES) overflowed it, the exchange failed on our side, and the syncer
 * blamed the honest server for it.
 */
function framing(maxBytes: number): { maxDataLength: number; maxBufferSize: number } {
  return { maxDataLength: maxBytes, maxBufferSize: maxBytes + 16 }
}

export class ReqResp {
  private readonly limiters = new Map<string, TokenBuckets>()

  constructor(
    private readonly libp2p: Libp2p,
    private readonly reputation: Reputation,
    private readonly log: Logger,
  ) {}

  async handle<Req, Res>(
    desc: ProtocolDescriptor<Req, Res>,
    handler: RequestHandler<Req, Res>,
  ): Promise<void> {
    const limiter = new TokenBuckets(desc.rateLimit.burst, desc.rateLimit.perSecond)
    this.limiters.set(desc.protocol, limiter)
    await this.libp2p.handle(
      desc.protocol,
      (stream, connection) => {
        const peerId = connection.remotePeer.toString()
        // not awaited: the registrar must not wait on one peer's exchange
        void this.serve(desc, handler, limiter, stream, peerId)
      },
      {
        maxInboundStreams: desc.maxInboundStreams,
        maxOutboundStreams: desc.maxOutboundStreams,
        runOnLimitedConnection: false,
      },
    )
  }

  private async serve<Req, Res>(
    desc: ProtocolDescriptor<Req, Res>,
    handler: RequestHandler<Req, Res>,
    limiter: TokenBuckets,
    stream: Stream,
    peerId: string,
  ): Promise<void> {
    if (!limiter.take(peerId)) {
      this.reputation.penalize(peerId, PENALTY.rateLimited, `${desc.protocol} rate limit`)
      stream.abort(new Error('rate limited'))
      return
    }
    const signal = AbortSignal.timeout(desc.timeoutMs)
    try {
      const lp = lpStream(stream, framing(desc.request.maxBytes))
      const bytes = await lp.read({ signal })
      let request: Req
      try {
        request = desc.request.decode(bytes.subarray())
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err
        this.reputation.penalize(peerId, PENALTY.malformedRequest, err.message)
        this.log.debug('malformed request', { protocol: desc.protocol, peer: peerId, err })
        stream.abort(err)
        return
      }
      const response = await handler(request, peerId)
      await lp.write(desc.response.encode(response), { signal })
      await stream.close({ signal })
    } catch (err) {
      this.log.debug('inbound exchange failed', { protocol: desc.protocol, peer: peerId, err })
      stream.abort(err as Error)
    }
  }

  /** One exchange with a peer. Throws RequestError. */
  async request<Req, Res>(
    peerId: string,
    desc: ProtocolDescriptor<Req, Res>,
    request: Req,
    options: { signal?: AbortSignal } = {},
  ): Promise<Res> {
    const timeout = AbortSignal.timeout(desc.timeoutMs)
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout
    let stream: Stream
    try {
      stream = await this.libp2p.dialProtocol(peerIdFromString(peerId), desc.protocol, { signal })
    } catch (err) {
      throw new RequestError(
        timeout.aborted ? 'TIMEOUT' : 'DIAL_FAILED',
        desc.protocol,
        (err as Error).message,
      )
    }
    try {
      const lp = lpStream(stream, framing(desc.response.maxBytes))
      await lp.write(desc.request.encode(request), { signal })
      const bytes = await lp.read({ signal })
      let response: Res
      try {
        response = desc.response.decode(bytes.subarray())
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err
        this.reputation.penalize(peerId, PENALTY.badResponse, err.message)
        throw new RequestError('BAD_RESPONSE', desc.protocol, err.message)
      }
      await stream.close({ signal }).catch(() => stream.abort(new Error('close failed')))
      return response
    } catch (err) {
      stream.abort(err as Error)
      if (err instanceof RequestError) throw err
      throw new RequestError(
        timeout.aborted ? 'TIMEOUT' : 'STREAM_ERROR',
        desc.protocol,
        (err as Error).message,
      )
    }
  }
}
