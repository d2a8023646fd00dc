/**
 * GET /events: the node's life as server-sent events (SPEC), for `bftchain
 * watch`, the explorer, and scripts.
 *
 *   event: status   the /status document, first, on connecting
 *   event: block    {height, hash, round, txs, failed, accounts}   a block became final
 *   event: round    {height, round, leader}                         a block round began or learnt its leader
 *   event: peer     {peerId, change: "join"|"leave", role?, height?}
 *   event: tx       {hash, status, reason}                          a tx this node follows changed status
 *   event: sync     {from, to, current, blocksPerSec, done}         catch-up progress
 *
 * `?types=block,round` keeps only those kinds (status always comes first).
 * Each event has an increasing `id`. A comment line every 15 s keeps
 * proxies from closing an idle stream. One hub listens to the node and fans
 * out to the streams; a stream whose reader falls more than 1 MiB behind is
 * closed (it reconnects and starts from a fresh status), so a slow client
 * costs the node bounded memory, and at most 32 streams are open at once.
 */
import type { ServerResponse } from 'node:http'
import type { ChainNode, NodeEvents } from '../node/node/chain-node.js'

export const EVENT_TYPES = ['block', 'round', 'peer', 'tx', 'sync'] as const
export type EventType = (typeof EVENT_TYPES)[number]

export const MAX_EVENT_STREAMS = 32
const MAX_BUFFERED_BYTES = 1024 * 1024
const KEEP_ALIVE_MS = 15_000

interface Stream {
  res: ServerResponse
  types: ReadonlySet<EventType>
}

export class EventHub {
  private readonly streams = new Set<Stream>()
  private nextId = 1
  private keepAlive: NodeJS.Timeout | null = null
  private readonly unsubscribe: (() => void)[] = []

  constructor(private readonly node: ChainNode) {}

  get size(): number {
    return this.streams.size
  }

  /** Parse `?types=`: the kinds asked for, or an error message. */
  static parseTypes(raw: string | undefined): Set<EventType> | string {
    if (raw == null || raw === '') return new Set(EVENT_TYPES)
    const types = new Set<EventType>()
    for (const t of raw.split(',')) {
      const name = t.trim()
      if (!(EVENT_TYPES as readonly string[]).includes(name))
        return `unknown event type "${name.slice(0, 40)}"; the types are ${EVENT_TYPES.join(', ')}`
      types.add(name as EventType)
    }
    return types
  }

  /** Start streaming to `res` (its headers not sent yet). */
  open(res: ServerResponse, types: Set<EventType>): void {
    if (this.streams.size === 0) this.listen()
    const stream: Stream = { res, types }
    this.streams.add(stream)
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    res.on('close', () => this.drop(stream))
    // a write racing the client's disconnect must not become an uncaught error
    res.on('error', () => this.drop(stream))
    this.write(stream, 'status', this.node.status())
  }

  /** End every stream (the server is closing). */
  closeAll(): void {
    for (const s of [...this.streams]) {
      s.res.end()
      this.drop(s)
    }
  }

  private subscribe<K extends keyof NodeEvents>(
    event: K,
    fn: (...args: NodeEvents[K]) => void,
  ): void {
    // node:events' typed emitter cannot relate K to its listener type: one cast, here
    this.node.on(event, fn as never)
    this.unsubscribe.push(() => this.node.off(event, fn as never))
  }

  private listen(): void {
    this.subscribe('block', (height, hash, info) =>
      this.broadcast('block', { height, hash, ...info }),
    )
    this.subscribe('round', (height, round, leader) =>
      this.broadcast('round', { height, round, leader }),
    )
    this.subscribe('peer:join', (peerId, s) =>
      this.broadcast('peer', { peerId, change: 'join', role: s.role, height: s.height }),
    )
    this.subscribe('peer:leave', (peerId) => this.broadcast('peer', { peerId, change: 'leave' }))
    this.subscribe('tx-status', (hash, status, reason) =>
      this.broadcast('tx', { hash, status, reason }),
    )
    this.subscribe('sync-progress', (p) => this.broadcast('sync', { ...p, done: false }))
    this.subscribe('sync-done', (p) => this.broadcast('sync', { ...p, done: true }))
    this.keepAlive = setInterval(() => {
      for (const s of this.streams) s.res.write(': keep-alive\n\n')
    }, KEEP_ALIVE_MS)
    this.keepAlive.unref()
  }

  private broadcast(type: EventType, data: object): void {
    for (const s of this.streams) if (s.types.has(type)) this.write(s, type, data)
  }

  private write(s: Stream, type: EventType | 'status', data: object): void {
    if (s.res.writableLength > MAX_BUFFERED_BYTES) {
      // the reader is not keeping up: let it reconnect rather than grow the buffer
      s.res.end()
      this.drop(s)
      return
    }
    s.res.write(`id: ${this.nextId++}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`)
  }

  private drop(s: Stream): void {
    if (!this.streams.delete(s)) return
    if (this.streams.size > 0) return
    for (const off of this.unsubscribe.splice(0)) off()
    if (this.keepAlive) clearInterval(this.keepAlive)
    this.keepAlive = null
  }
}
