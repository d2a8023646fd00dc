/**
 * Make the files of a local test network: N validator homes (node key and
 * config.json each), genesis.json naming them, a gas authority key and the
 * bootstrap list. What `testnet` writes and `devnet` starts.
 */
import { randomBytes } from 'node:crypto'
import { access, mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Genesis } from '../core/chain/genesis.js'
import { parseGenesis } from '../core/chain/genesis.js'
import { CONFIG_FILE, type ConfigFile } from './config/node-config.js'
import { FileError, writeJsonFile } from './files.js'
import { accountKeyFile, generateAccountKey, writeAccountKey } from './keys/account-key.js'
import { createNodeKey, nodeKeyPath } from './keys/node-key.js'

/**
 * A chain id no other network has: signatures bind the chain id, so two test networks that
 * shared one would accept each other's txs and registrations.
 */
export function newChainId(prefix = 'bftchain-devnet'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`
}

export interface TestnetOptions {
  validators: number
  out: string
  basePort?: number
  apiBasePort?: number
  chainId?: string
  host?: string
  /** gas credited to the authority at genesis */
  authorityGrant?: number
  /** genesis time; default: now */
  genesisTime?: string
}

export interface TestnetHome {
  name: string
  home: string
  peerId: string
  listen: string
  api: string
}

export interface Testnet {
  dir: string
  genesisFile: string
  genesis: Genesis
  bootstrapFile: string
  authorityKeyFile: string
  homes: TestnetHome[]
}

export const DEFAULT_BASE_PORT = 26600
export const DEFAULT_API_BASE_PORT = 8080
export const TESTNET_GENESIS = 'genesis.json'
export const TESTNET_BOOTSTRAP = 'bootstrap-peers.json'
export const TESTNET_AUTHORITY = 'authority.key.json'

export async function createTestnet(opts: TestnetOptions): Promise<Testnet> {
  const n = opts.validators
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new FileError('--validators', 'must be 1..64')
  const dir = resolve(opts.out)
  const basePort = opts.basePort ?? DEFAULT_BASE_PORT
  const apiBasePort = opts.apiBasePort ?? DEFAULT_API_BASE_PORT
  for (const [flag, port] of [
    ['--base-port', basePort],
    ['--api-base-port', apiBasePort],
  ] as const) {
    if (!Number.isInteger(port) || port < 1 || port + n - 1 > 65535) {
      throw new FileError(flag, `must leave room for ${n} ports below 65536`)
    }
  }
  const host = opts.host ?? '127.0.0.1'
  const genesisFile = join(dir, TESTNET_GENESIS)
  if (
    await access(genesisFile).then(
      () => true,
      () => false,
    )
  ) {
    throw new FileError(genesisFile, 'already exists; not overwriting a chain (use another --out)')
  }
  await mkdir(dir, { recursive: true })

  const homes: TestnetHome[] = []
  for (let i = 0; i < n; i++) {
    const name = `node${i}`
    const home = join(dir, name)
    const id = await createNodeKey(nodeKeyPath(home))
    homes.push({
      name,
      home,
      peerId: id.peerId,
      listen: `/ip4/${host}/tcp/${basePort + i}`,
      api: `127.0.0.1:${apiBasePort + i}`,
    })
  }

  const authority = generateAccountKey('ed25519')
  const authorityFile = accountKeyFile(authority, 'authority')
  const authorityKeyFile = join(dir, TESTNET_AUTHORITY)
  await writeAccountKey(authorityKeyFile, authorityFile)

  const genesis = parseGenesis({
    chainId: opts.chainId ?? newChainId(),
    genesisTime: opts.genesisTime ?? new Date().toISOString(),
    validators: homes.map((h) => h.peerId),
    authorities: [
      {
        address: authorityFile.address,
        keyType: authorityFile.keyType,
        publicKey: authorityFile.publicKey,
        grant: opts.authorityGrant ?? 1_000_000_000,
      },
    ],
    gasWindowMs: 0,
  })
  await writeJsonFile(genesisFile, genesis)

  const bootstrapFile = join(dir, TESTNET_BOOTSTRAP)
  await writeJsonFile(bootstrapFile, { peers: homes.map((h) => `${h.listen}/p2p/${h.peerId}`) })

  for (const h of homes) {
    const config: ConfigFile = {
      genesis: `../${TESTNET_GENESIS}`,
      listen: [h.listen],
      bootstrapFile: `../${TESTNET_BOOTSTRAP}`,
      api: h.api,
    }
    await writeJsonFile(join(h.home, CONFIG_FILE), config)
  }
  return { dir, genesisFile, genesis, bootstrapFile, authorityKeyFile, homes }
}
