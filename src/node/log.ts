/**
 * Structured logs: one line per event, `time level module message key=value…`
 * (or one JSON object per line). Quiet by default: `info` tells what a user
 * must know (started, listening, peers, errors); `debug` (--verbose) tells the
 * story of each round.
 */
import { createWriteStream, type WriteStream } from 'node:fs'

export type LogLevel = 'error' | 'warn' | 'info' | 'debug'
export type LogFormat = 'text' | 'json'
export type LogFields = Record<string, unknown>

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 }

export interface Logger {
  error(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  debug(msg: string, fields?: LogFields): void
  isDebug(): boolean
  child(module: string): Logger
}

export interface LogSink {
  write(line: string): void
}

export interface LoggerOptions {
  level: LogLevel
  format: LogFormat
  sinks: LogSink[]
  /** clock for timestamps; injectable for tests */
  now?: () => Date
}

function formatValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message)
  if (typeof v === 'string') return /^[\w.:/@…+-]+$/.test(v) ? v : JSON.stringify(v)
  if (typeof v === 'bigint') return v.toString()
  return JSON.stringify(v) ?? 'undefined'
}

class StructuredLogger implements Logger {
  constructor(
    private readonly opts: LoggerOptions,
    private readonly module: string,
  ) {}

  private log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (RANK[level] > RANK[this.opts.level]) return
    const time = (this.opts.now?.() ?? new Date()).toISOString()
    let line: string
    if (this.opts.format === 'json') {
      const rec: LogFields = { time, level, module: this.module, msg }
      for (const [k, v] of Object.entries(fields ?? {})) {
        rec[k] = v instanceof Error ? v.message : typeof v === 'bigint' ? v.toString() : v
      }
      line = JSON.stringify(rec)
    } else {
      const kv = Object.entries(fields ?? {})
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => ` ${k}=${formatValue(v)}`)
        .join('')
      line = `${time} ${level.toUpperCase().padEnd(5)} ${this.module.padEnd(9)} ${msg}${kv}`
    }
    for (const sink of this.opts.sinks) sink.write(`${line}\n`)
  }

  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields)
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields)
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields)
  }
  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields)
  }
  isDebug(): boolean {
    return this.opts.level === 'debug'
  }
  child(module: string): Logger {
    return new StructuredLogger(this.opts, module)
  }
}

export function createLogger(opts: LoggerOptions, module = 'node'): Logger {
  return new StructuredLogger(opts, module)
}

/** A logger that drops everything: for tests and library use. */
export const silentLogger: Logger = createLogger({ level: 'error', format: 'text', sinks: [] })

/** Append to a log file (`<home>/node.log`). */
export function fileSink(path: string): LogSink & { close(): Promise<void> } {
  const stream: WriteStream = createWriteStream(path, { flags: 'a' })
  stream.on('error', () => {}) // a full disk must not crash the node through its log
  return {
    write: (line) => {
      stream.write(line)
    },
    close: () => new Promise((res) => stream.end(res)),
  }
}

export const stderrSink: LogSink = { write: (line) => process.stderr.write(line) }
