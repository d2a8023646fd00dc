/**
 * What a node runs with: `<home>/config.json` when present, flags over it,
 * defaults under both (SPEC "start"). Paths in config.json are relative to
 * the home directory; paths given as flags are relative to the working
 * directory. Every mistake is a FileError naming the file and the field.
 */
import { access } from 'node:fs/promises'
import { isAbsolute, join, resolve } from 'node:path'
import { MAX_BATCH_TXS } from '../../core/codec/limits.js'
import { FileError, readJsonFile } from '../files.js'
import { parseBootstrapAddr, parseListenAddr } from './multiaddrs.js'

export const CONFIG_FILE = 'config.json'
export const DEFAULT_LISTEN = '/ip4/127.0.0.1/tcp/26600'
export const DEFAULT_API = '127.0.0.1:8080'

export const DEFAULT_BOOTSTRAP_FILE = './bootstrap-peers.json'

/** config.json as written by `testnet` and read by `start`. */
export interface ConfigFile {
  genesis?: string
  listen?: string[]
  bootstrap?: string[]
  bootstrapFile?: string
  /** HOST:PORT, or "off" */
  api?: string
  /** a validator this many blocks behind leaves consensus to catch up first */
  syncThreshold?: number
  /** txs in one batch this node runs as a target, at most (1..2048; default 512) */
  batchTxs?: number
  /** a waiting tx goes in a batch this long after it came, at the latest, ms (1..1000; default 25) */
  batchWaitMs?: number
}

/** Flags of `start`; each one overrides config.json. */
export interface StartFlags {
  genesis?: string
  listen?: string[]
  bootstrap?: string[]
  bootstrapFile?: string
  api?: string
  syncThreshold?: number
}

export interface ApiAddress {
  host: string
  port: number
}

export interface NodeConfig {
  home: string
  genesisFile: string
  listen: string[]
  /** --bootstrap and config's bootstrap, then the bootstrap file's, without duplicates */
  bootstrap: string[]
  bootstrapFile: string | null
  api: ApiAddress | null
  syncThreshold: number
  /** unset: the core's defaults (tx-target.ts DEFAULT_BATCH_TXS, DEFAULT_BATCH_WAIT_MS) */
  batchTxs?: number
  batchWaitMs?: number
}

export const DEFAULT_SYNC_THRESHOLD = 8

export function parseApiAddress(text: string, where: string): ApiAddress | null {
  if (text === 'off') return null
  const m = /^(.+):(\d{1,5})$/.exec(text)
  const port = m ? Number(m[2]) : Number.NaN
  if (m == null || port > 65535) throw new FileError(where, `"${text}" is not HOST:PORT (or "off")`)
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port }
}

function stringList(v: unknown, file: string, field: string): string[] | undefined {
  if (v === undefined) return undefined
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
    throw new FileError(file, `${field}: must be an array of strings`)
  }
  return v
}

function optionalString(v: unknown, file: string, field: string): string | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'string' || v.length === 0)
    throw new FileError(file, `${field}: must be a string`)
  return v
}

function optionalCount(
  v: unknown,
  file: string,
  field: string,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max) {
    throw new FileError(
      file,
      max === Number.MAX_SAFE_INTEGER
        ? `${field}: must be a whole number >= 1`
        : `${field}: must be a whole number from 1 to ${max}`,
    )
  }
  return v
}

/** The fields config.json may hold. */
const CONFIG_FIELDS = [
  'genesis',
  'listen',
  'bootstrap',
  'bootstrapFile',
  'api',
  'syncThreshold',
  'batchTxs',
  'batchWaitMs',
]

export async function readConfigFile(file: string): Promise<ConfigFile | null> {
  try {
    await access(file)
  } catch {
    return null
  }
  const json = await readJsonFile(file)
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new FileError(file, 'must be a JSON object')
  }
  const c = json as Record<string, unknown>
  for (const k of Object.keys(c)) {
    if (!CONFIG_FIELDS.includes(k)) {
      throw new FileError(file, `${k}: unknown field`)
    }
  }
  return {
    genesis: optionalString(c.genesis, file, 'genesis'),
    listen: stringList(c.listen, file, 'listen'),
    bootstrap: stringList(c.bootstrap, file, 'bootstrap'),
    bootstrapFile: optionalString(c.bootstrapFile, file, 'bootstrapFile'),
    api: optionalString(c.api, file, 'api'),
    syncThreshold: optionalCount(c.syncThreshold, file, 'syncThreshold'),
    batchTxs: optionalCount(c.batchTxs, file, 'batchTxs', MAX_BATCH_TXS),
    batchWaitMs: optionalCount(c.batchWaitMs, file, 'batchWaitMs', 1_000),
  }
}

/** `{"peers": [multiaddr…]}`; FileError naming the entry that is wrong. */
export async function readBootstrapFile(file: string): Promise<string[]> {
  const json = await readJsonFile(file)
  const peers = (json as { peers?: unknown } | null)?.peers
  if (!Array.isArray(peers)) throw new FileError(file, 'peers: must be an array of multiaddrs')
  return peers.map((p, i) => {
    try {
      return parseBootstrapAddr(p as string).toString()
    } catch (err) {
      throw new FileError(file, `peers[${i}]: ${(err as Error).message}`)
    }
  })
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file)
    return true
  } catch {
    return false
  }
}

export async function resolveNodeConfig(home: string, flags: StartFlags): Promise<NodeConfig> {
  const homeDir = resolve(home)
  const configPath = join(homeDir, CONFIG_FILE)
  const file = (await readConfigFile(configPath)) ?? {}
  const fromHome = (p: string): string => (isAbsolute(p) ? p : resolve(homeDir, p))

  const genesisFile = flags.genesis
    ? resolve(flags.genesis)
    : file.genesis
      ? fromHome(file.genesis)
      : join(homeDir, 'genesis.json')

  const listen = flags.listen ?? file.listen ?? [DEFAULT_LISTEN]
  const listenWhere = flags.listen ? '--listen' : file.listen ? configPath : 'default'
  listen.forEach((a, i) => {
    try {
      parseListenAddr(a)
    } catch (err) {
      throw new FileError(listenWhere, `listen[${i}]: ${(err as Error).message}`)
    }
  })

  const explicit = [...(flags.bootstrap ?? []), ...(file.bootstrap ?? [])]
  explicit.forEach((a, i) => {
    try {
      parseBootstrapAddr(a)
    } catch (err) {
      throw new FileError(
        flags.bootstrap ? '--bootstrap' : configPath,
        `bootstrap[${i}]: ${(err as Error).message}`,
      )
    }
  })

  // An explicitly named bootstrap file must exist; the default one may not.
  let bootstrapFile: string | null = flags.bootstrapFile
    ? resolve(flags.bootstrapFile)
    : file.bootstrapFile
      ? fromHome(file.bootstrapFile)
      : resolve(DEFAULT_BOOTSTRAP_FILE)
  const explicitFile = flags.bootstrapFile != null || file.bootstrapFile != null
  if (!explicitFile && !(await exists(bootstrapFile))) bootstrapFile = null
  const fromFile = bootstrapFile ? await readBootstrapFile(bootstrapFile) : []

  const api =
    flags.api != null
      ? parseApiAddress(flags.api, '--api')
      : parseApiAddress(file.api ?? DEFAULT_API, file.api ? configPath : 'default')

  return {
    home: homeDir,
    genesisFile,
    listen,
    bootstrap: [...new Set([...explicit, ...fromFile])],
    bootstrapFile,
    api,
    syncThreshold: flags.syncThreshold ?? file.syncThreshold ?? DEFAULT_SYNC_THRESHOLD,
    batchTxs: file.batchTxs,
    batchWaitMs: file.batchWaitMs,
  }
}
