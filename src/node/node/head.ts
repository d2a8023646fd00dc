/**
 * The head of the chain as the store keeps it: meta 'head' =
 * height (8, BE) ‖ block hash (32) ‖ block time (8, BE) ‖ state root (32).
 */
import type { Store } from '../store/index.js'

export interface ChainHead {
  height: number
  hash: Uint8Array
  time: number
  stateRoot: Uint8Array
}

export const HEAD_KEY = 'head'
const HEAD_BYTES = 80

export function encodeHead(head: ChainHead): Uint8Array {
  const out = new Uint8Array(HEAD_BYTES)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt(head.height))
  out.set(head.hash, 8)
  view.setBigUint64(40, BigInt(head.time))
  out.set(head.stateRoot, 48)
  return out
}

export function decodeHead(bytes: Uint8Array): ChainHead {
  if (bytes.length !== HEAD_BYTES) throw new Error(`corrupt head record (${bytes.length} bytes)`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return {
    height: Number(view.getBigUint64(0)),
    hash: bytes.slice(8, 40),
    time: Number(view.getBigUint64(40)),
    stateRoot: bytes.slice(48, 80),
  }
}

export async function readHead(store: Store): Promise<ChainHead | null> {
  const bytes = await store.meta.get(HEAD_KEY)
  return bytes == null ? null : decodeHead(bytes)
}
