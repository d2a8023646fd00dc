/** The head of the chain as the store keeps it: meta 'head' = 8-byte BE height ++ 32-byte hash. */
import type { Store } from '../store/index.js'

export interface ChainHead {
  height: number
  hash: Uint8Array
}

export const HEAD_KEY = 'head'

export function encodeHead(head: ChainHead): Uint8Array {
  const out = new Uint8Array(40)
  new DataView(out.buffer).setBigUint64(0, BigInt(head.height))
  out.set(head.hash, 8)
  return out
}

export function decodeHead(bytes: Uint8Array): ChainHead {
  if (bytes.length !== 40) throw new Error(`corrupt head record (${bytes.length} bytes)`)
  const height = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0))
  return { height, hash: bytes.slice(8) }
}

export async function readHead(store: Store): Promise<ChainHead | null> {
  const bytes = await store.meta.get(HEAD_KEY)
  return bytes == null ? null : decodeHead(bytes)
}
