/**
 * `bftchain start`: load the files, start the node and its API, and stop
 * both cleanly on SIGINT/SIGTERM.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { type ApiServer, startApi } from '../api/server.js'
import { loadGenesis } from './config/genesis-file.js'
import type { NodeConfig } from './config/node-config.js'
import { loadOrCreateNodeKey } from './keys/node-key.js'
import {
  createLogger,
  fileSink,
  type LogFormat,
  type Logger,
  type LogLevel,
  stderrSink,
} from './log.js'
import { ChainNode } from './node/chain-node.js'

export interface RunOptions {
  level: LogLevel
  format: LogFormat
  /** also write logs to stderr (the file is always written) */
  stderr: boolean
}

export interface RunningNode {
  node: ChainNode
  api: ApiServer | null
  log: Logger
  stop(): Promise<void>
}

export class StartError extends Error {}

function listenError(err: unknown, listen: string[]): Error {
  const text = `${(err as Error)?.message ?? err} ${(err as { cause?: Error })?.cause?.message ?? ''}`
  if (/EADDRINUSE/.test(text))
    return new StartError(`listen address ${listen.join(', ')} is already in use (--listen)`)
  if (/EADDRNOTAVAIL/.test(text))
    return new StartError(`listen address ${listen.join(', ')} is not an address of this machine`)
  return err as Error
}

export async function runNode(config: NodeConfig, opts: RunOptions): Promise<RunningNode> {
  await mkdir(config.home, { recursive: true })
  const file = fileSink(join(config.home, 'node.log'))
  const log = createLogger({
    level: opts.level,
    format: opts.format,
    sinks: opts.stderr ? [file, stderrSink] : [file],
  })
  try {
    const genesis = await loadGenesis(config.genesisFile)
    const { identity, created } = await loadOrCreateNodeKey(config.home)
    if (created)
      log.info('made a node key', {
        file: join(config.home, 'node-key.json'),
        peerId: identity.peerId,
      })
    const node = await ChainNode.create({
      home: config.home,
      genesis,
      identity,
      listen: config.listen,
      bootstrap: config.bootstrap,
      syncThreshold: config.syncThreshold,
      batchTxs: config.batchTxs,
      batchWaitMs: config.batchWaitMs,
      log,
      p2pMetrics: true,
    })
    try {
      await node.start()
    } catch (err) {
      await node.stop().catch(() => {})
      throw listenError(err, config.listen)
    }
    let api: ApiServer | null = null
    if (config.api) {
      try {
        api = await startApi(node, config.api, log.child('api'))
      } catch (err) {
        await node.stop().catch(() => {})
        throw err
      }
      log.info('API listening', { url: api.url })
    }
    let stopping: Promise<void> | null = null
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        await api?.close().catch((err) => log.warn('API close failed', { err }))
        await node.stop()
        await file.close()
      })()
      return stopping
    }
    return { node, api, log, stop }
  } catch (err) {
    // the CLI prints the error on stderr; the log file keeps it too
    createLogger({ level: 'error', format: opts.format, sinks: [file] }).error('start failed', {
      err,
    })
    await file.close()
    throw err
  }
}
