/**
 * Direct request/response protocols as descriptors (Lodestar packages/reqresp):
 * length-prefixed requests and responses, each with its size limit, a deadline
 * for the whole exchange, a per-connection inbound stream limit and a per-peer
 * rate limit. Bad bytes cost the sender reputation.
 *
 * Most protocols open one stream per exchange. A protocol with a `session`
 * (votes) keeps one stream per peer open and sends its requests on it one
 * after another: opening a stream costs protocol negotiation, a peer-store
 * update on both sides and an abort timer, and votes go out hundreds of times a
 * second. The server side reads requests until the client closes the stream,
 * so a one-shot client is served as before.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type LengthPrefixedStream, lpStream } from '@libp2p/utils'
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
  /**
   * Keep one stream per peer and send requests on it in sequence. The client closes a session
   * after `idleMs` without a request; the server waits twice that for the next one, so it is
   * the client that ends an idle session and never writes into one the server has dropped.
   */
  session?: { idleMs: number }
}

/** A client's open stream to one peer for one protocol. */
interface Session {
  stream: Stream
  lp: LengthPrefixedStream<Stream>
  /** closes the session when no request used it for the protocol's idleMs */
  idle: NodeJS.Timeout
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
  /** open sessions, by protocol and peer */
  private readonly sessions = new Map<string, Session>()
  /** the last request queued on each session */
  private readonly queues = new Map<string, Promise<void>>()

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
    const lp = lpStream(stream, framing(desc.request.maxBytes))
    try {
      for (let n = 0; ; n++) {
        // the first request is due at once; on a session the next may come after a pause
        const wait = n === 0 ? desc.timeoutMs : 2 * (desc.session?.idleMs ?? 0)
        let bytes: Uint8Array
        try {
          bytes = (await lp.read({ signal: AbortSignal.timeout(wait) })).subarray()
        } catch (err) {
          // the client ended its session between two requests
          if (n > 0 && isEndOfStream(err)) break
          throw err
        }
        if (!limiter.take(peerId)) {
          this.reputation.penalize(peerId, PENALTY.rateLimited, `${desc.protocol} rate limit`)
          stream.abort(new Error('rate limited'))
          return
        }
        let request: Req
        try {
          request = desc.request.decode(bytes)
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err
          this.reputation.penalize(peerId, PENALTY.malformedRequest, err.message)
          this.log.debug('malformed request', { protocol: desc.protocol, peer: peerId, err })
          stream.abort(err)
          return
        }
        const response = await handler(request, peerId)
        await lp.write(desc.response.encode(response), {
          signal: AbortSignal.timeout(desc.timeoutMs),
        })
        if (desc.session == null) break
      }
      await stream.close({ signal: AbortSignal.timeout(desc.timeoutMs) })
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
    if (desc.session != null) return this.requestOnSession(peerId, desc, request, options)
    const timeout = AbortSignal.timeout(desc.timeoutMs)
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout
    const stream = await this.dial(peerId, desc, signal, timeout)
    try {
      const lp = lpStream(stream, framing(desc.response.maxBytes))
      const response = await this.exchange(lp, peerId, desc, request, signal)
      await stream.close({ signal }).catch(() => stream.abort(new Error('close failed')))
      return response
    } catch (err) {
      stream.abort(err as Error)
      throw failure(err, timeout, desc.protocol)
    }
  }

  private async dial(
    peerId: string,
    desc: ProtocolDescriptor<unknown, unknown>,
    signal: AbortSignal,
    timeout: AbortSignal,
  ): Promise<Stream> {
    try {
      return await this.libp2p.dialProtocol(peerIdFromString(peerId), desc.protocol, { signal })
    } catch (err) {
      throw new RequestError(
        timeout.aborted ? 'TIMEOUT' : 'DIAL_FAILED',
        desc.protocol,
        (err as Error).message,
      )
    }
  }

  /** Write one request and read its response; a response that does not decode costs the peer. */
  private async exchange<Req, Res>(
    lp: LengthPrefixedStream<Stream>,
    peerId: string,
    desc: ProtocolDescriptor<Req, Res>,
    request: Req,
    signal: AbortSignal,
  ): Promise<Res> {
    await lp.write(desc.request.encode(request), { signal })
    const bytes = await lp.read({ signal })
    try {
      return desc.response.decode(bytes.subarray())
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err
      this.reputation.penalize(peerId, PENALTY.badResponse, err.message)
      throw new RequestError('BAD_RESPONSE', desc.protocol, err.message)
    }
  }

  /**
   * Requests on a session, in the order they were made: each waits for the one before it. Both
   * maps hold an entry per peer we have a session with (bounded by our connections); an entry
   * leaves when its stream closes or the queue empties.
   */
  private requestOnSession<Req, Res>(
    peerId: string,
    desc: ProtocolDescriptor<Req, Res>,
    request: Req,
    options: { signal?: AbortSignal },
  ): Promise<Res> {
    const key = `${desc.protocol} ${peerId}`
    const before = this.queues.get(key)
    const run =
      before == null
        ? this.exchangeOnSession(key, peerId, desc, request, options)
        : before.then(() => this.exchangeOnSession(key, peerId, desc, request, options))
    const tail = run.then(
      () => {},
      () => {},
    )
    this.queues.set(key, tail)
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key)
    })
    return run
  }

  private async exchangeOnSession<Req, Res>(
    key: string,
    peerId: string,
    desc: ProtocolDescriptor<Req, Res>,
    request: Req,
    options: { signal?: AbortSignal },
  ): Promise<Res> {
    const timeout = AbortSignal.timeout(desc.timeoutMs)
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout
    let session = this.sessions.get(key)
    if (session != null && !isWritable(session.stream)) {
      this.endSession(key, session)
      session = undefined
    }
    if (session == null) {
      const stream = await this.dial(peerId, desc, signal, timeout)
      const idleMs = desc.session?.idleMs ?? desc.timeoutMs
      const opened: Session = {
        stream,
        lp: lpStream(stream, framing(desc.response.maxBytes)),
        idle: setTimeout(() => {
          this.endSession(key, opened)
          stream.close().catch(() => stream.abort(new Error('close failed')))
        }, idleMs),
      }
      opened.idle.unref()
      stream.addEventListener('close', () => this.endSession(key, opened), { once: true })
      this.sessions.set(key, opened)
      session = opened
    }
    session.idle.refresh()
    const { stream, lp } = session
    try {
      return await this.exchange(lp, peerId, desc, request, signal)
    } catch (err) {
      // a stream that failed once is not trusted with the next request
      this.endSession(key, session)
      stream.abort(err as Error)
      throw failure(err, timeout, desc.protocol)
    }
  }

  private endSession(key: string, session: Session): void {
    clearTimeout(session.idle)
    if (this.sessions.get(key) === session) this.sessions.delete(key)
  }
}

/** What a failed exchange was: our deadline, or a broken stream (a RequestError stays itself). */
function failure(err: unknown, timeout: AbortSignal, protocol: string): RequestError {
  if (err instanceof RequestError) return err
  return new RequestError(
    timeout.aborted ? 'TIMEOUT' : 'STREAM_ERROR',
    protocol,
    (err as Error).message,
  )
}

function isWritable(stream: Stream): boolean {
  return (
    stream.status === 'open' &&
    stream.writeStatus === 'writable' &&
    stream.remoteReadStatus !== 'closing' &&
    stream.remoteReadStatus !== 'closed'
  )
}

/** The stream ended at a message boundary: lpStream reports it as an unexpected end. */
function isEndOfStream(err: unknown): boolean {
  return err instanceof Error && err.name === 'UnexpectedEOFError'
}
