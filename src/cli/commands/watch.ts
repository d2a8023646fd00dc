/**
 * `bftchain watch`: the node's life as it happens, from its GET /events
 * stream. On a terminal: a view redrawn in place — status, peers, the latest
 * events. Piped, or with --json: one line per event. A node that cannot be
 * reached at first is an error; once connected, it reconnects when the node
 * goes away (and says so), until Ctrl-C or --count events.
 */
import type { Command } from 'commander'
import { EVENT_TYPES } from '../../api/events.js'
import { readEvents, type ServerEvent } from '../../client/sse.js'
import type { NodeStatus } from '../../node/node/chain-node.js'
import type { PeerView } from '../../node/p2p/peers.js'
import { apiRequest, DEFAULT_API_URL } from '../client.js'
import { CliError, print, table } from '../output.js'

interface WatchOptions {
  api: string
  json?: boolean
  types?: string
  count?: string
}

const RECENT = 12
const REDRAW_MS = 250
const PEERS_REFRESH_MS = 5_000
const RETRY_MAX_MS = 10_000

const short = (id: string | null | undefined): string => (id ? `…${id.slice(-6)}` : '-')
const clock = (): string => new Date().toISOString().slice(11, 19)

/** One event as a line of text. */
export function describeEvent(type: string, d: Record<string, unknown>): string {
  switch (type) {
    case 'status':
      return `connected to ${short(d.peerId as string)} (${d.role}) on ${d.chainId} at height ${d.height}`
    case 'block':
      return `block ${d.height} ${String(d.hash).slice(0, 16)} final (round ${d.round}, ${d.txs} txs${d.failed ? `, ${d.failed} failed` : ''}${d.accounts ? `, ${d.accounts} accounts` : ''})`
    case 'round':
      return `round ${d.height}/${d.round} ${d.leader ? `leader ${short(d.leader as string)}` : 'electing'}`
    case 'peer':
      return d.change === 'join'
        ? `peer ${short(d.peerId as string)} joined (${d.role}, height ${d.height})`
        : `peer ${short(d.peerId as string)} left`
    case 'tx':
      return `tx ${String(d.hash).slice(0, 16)} ${d.status}${d.reason ? ` (${(d.reason as { code: string }).code})` : ''}`
    case 'sync':
      return d.done
        ? `synced to ${d.current}`
        : `syncing ${d.current}/${d.to} (${d.blocksPerSec} blocks/s)`
    default:
      return `${type} ${JSON.stringify(d)}`
  }
}

/** The full-screen view on a terminal. */
class Screen {
  private status: NodeStatus | null = null
  private peers: PeerView[] = []
  private readonly recent: string[] = []
  /** the height the current block round is for */
  private roundHeight = 0
  private dirty = false
  private readonly timers: NodeJS.Timeout[] = []
  note = ''

  constructor(private readonly api: string) {}

  start(): void {
    this.timers.push(
      setInterval(() => {
        if (this.dirty) this.draw()
      }, REDRAW_MS),
    )
    const refresh = (): void => {
      apiRequest<PeerView[]>(this.api, 'peers').then(
        (p) => {
          this.peers = p
          this.dirty = true
        },
        () => {},
      )
    }
    refresh()
    this.timers.push(setInterval(refresh, PEERS_REFRESH_MS))
  }

  stop(): void {
    for (const t of this.timers.splice(0)) clearInterval(t)
    this.draw()
  }

  onEvent(type: string, d: Record<string, unknown>): void {
    if (type === 'status') this.status = d as unknown as NodeStatus
    else if (this.status) {
      if (type === 'block') {
        this.status.height = d.height as number
        this.status.headHash = d.hash as string
        // that height's rounds are over; the next one shows when it starts
        this.status.round = null
        this.status.leader = null
      } else if (type === 'round') {
        this.roundHeight = d.height as number
        this.status.round = d.round as number
        this.status.leader = (d.leader as string | null) ?? null
      } else if (type === 'peer') {
        this.status.peers += d.change === 'join' ? 1 : -1
      }
    }
    if (type !== 'status') this.recent.push(`${clock()}  ${describeEvent(type, d)}`)
    if (this.recent.length > RECENT) this.recent.shift()
    this.dirty = true
  }

  draw(): void {
    this.dirty = false
    const s = this.status
    const lines: string[] = [
      `bftchain watch  ${this.api}  ${clock()}${this.note ? `  ${this.note}` : ''}`,
      '',
    ]
    if (s) {
      lines.push(
        table([
          ['chain', s.chainId],
          ['peer id', `${s.peerId} (${s.role})`],
          ['height', `${s.height}  ${s.headHash.slice(0, 16)}`],
          [
            'round',
            s.round == null
              ? '-'
              : `${this.roundHeight}/${s.round}, leader ${s.leader ? short(s.leader) : 'electing'}`,
          ],
          ['peers', String(s.peers)],
        ]),
        '',
      )
    }
    if (this.peers.length > 0) {
      lines.push(
        table([
          ['peer', 'role', 'height', 'latency', 'score'],
          ...this.peers.map((p) => [
            short(p.peerId),
            p.validator ? 'validator' : (p.role ?? '?'),
            p.height == null ? '?' : String(p.height),
            p.latencyMs == null ? '-' : `${p.latencyMs}ms`,
            String(p.score),
          ]),
        ]),
        '',
      )
    }
    lines.push('recent events', ...this.recent)
    process.stdout.write(`\x1b[H\x1b[2J${lines.join('\n')}\n`)
  }
}

export function watchCommand(program: Command): void {
  program
    .command('watch')
    .description('a live view of status, peers and rounds, from the node event stream')
    .option('--api <url>', 'node API', DEFAULT_API_URL)
    .option('--json', 'one JSON line per event: {"type", ...the event}')
    .option('--types <list>', `only these events, comma-separated (${EVENT_TYPES.join(', ')})`)
    .option('--count <n>', 'exit after this many events (the first status not counted)')
    .addHelpText(
      'after',
      '\nOn a terminal the view is redrawn in place; piped, each event is one line.\n' +
        'The stream is GET /events (server-sent events). If the node goes away, watch\n' +
        'says so and reconnects. Ctrl-C stops.',
    )
    .action(async (opts: WatchOptions) => {
      const count = opts.count == null ? Number.POSITIVE_INFINITY : Number(opts.count)
      if (!Number.isSafeInteger(count) && count !== Number.POSITIVE_INFINITY)
        throw new CliError(`--count must be a whole number, got ${opts.count}`)
      if (count < 1) throw new CliError(`--count must be at least 1, got ${opts.count}`)
      let url: URL
      try {
        url = new URL('events', opts.api.endsWith('/') ? opts.api : `${opts.api}/`)
      } catch {
        throw new CliError(`--api ${opts.api} is not a URL (e.g. http://127.0.0.1:8080)`)
      }
      if (opts.types) url.searchParams.set('types', opts.types)
      const screen = !opts.json && process.stdout.isTTY ? new Screen(opts.api) : null
      screen?.start()
      const emit = (e: ServerEvent): void => {
        let data: Record<string, unknown>
        try {
          data = JSON.parse(e.data)
        } catch {
          return
        }
        if (opts.json) print(JSON.stringify({ type: e.type, ...data }))
        else if (screen) screen.onEvent(e.type, data)
        else print(`${clock()}  ${describeEvent(e.type, data)}`)
      }
      const say = (line: string): void => {
        if (screen) screen.note = line
        else process.stderr.write(`${line}\n`)
      }

      let seen = 0
      let retryMs = 1_000
      let connected = false
      for (;;) {
        let res: Response
        try {
          res = await fetch(url, { headers: { accept: 'text/event-stream' } })
        } catch (err) {
          const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name
          if (!connected)
            throw new CliError(
              `cannot reach the node API at ${url.origin} (${cause}); is the node running? (--api URL)`,
            )
          say(`cannot reach ${url.origin} (${cause}); retrying in ${retryMs / 1000} s`)
          await new Promise((r) => setTimeout(r, retryMs))
          retryMs = Math.min(RETRY_MAX_MS, retryMs * 2)
          continue
        }
        if (!res.ok) {
          const text = await res.text()
          let message = text
          try {
            message = (JSON.parse(text) as { error: { message: string } }).error.message
          } catch {}
          // a refusal (bad --types) will not change by retrying; a busy node might
          if (res.status !== 503) throw new CliError(`${url.origin}: ${res.status} ${message}`)
          say(`${url.origin} is busy (${message}); retrying in ${retryMs / 1000} s`)
          await new Promise((r) => setTimeout(r, retryMs))
          retryMs = Math.min(RETRY_MAX_MS, retryMs * 2)
          continue
        }
        retryMs = 1_000
        connected = true
        say('')
        try {
          let first = true
          for await (const e of readEvents(res.body!)) {
            emit(e)
            if (first && e.type === 'status') {
              first = false
              continue
            }
            if (++seen >= count) {
              screen?.stop()
              return
            }
          }
          say(`the node closed the stream; reconnecting`)
        } catch (err) {
          say(`the stream broke (${(err as Error).message}); reconnecting`)
        }
        await new Promise((r) => setTimeout(r, retryMs))
      }
    })
}
