// Key layout ([bucket byte] ++ key bytes) and the small codecs repositories are built from.

import type { Bucket } from './buckets.js'
import { StoreError } from './errors.js'

/** Turns a repository's keys or values into bytes and back. */
export interface Codec<T> {
  encode(value: T): Uint8Array
  decode(bytes: Uint8Array): T
}

export const HEIGHT_BYTES = 8
const TWO_POW_32 = 2 ** 32

/** `[bucket] ++ key`: the key as stored in LevelDB. */
export function bucketKey(bucket: Bucket, key: Uint8Array): Uint8Array {
  if (!(key instanceof Uint8Array)) throw new TypeError('encoded key is not a Uint8Array')
  const out = new Uint8Array(1 + key.length)
  out[0] = bucket
  out.set(key, 1)
  return out
}

/** A plain Uint8Array over the same memory (LevelDB hands out Buffers). */
export function toView(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** A height as 8 bytes big-endian, so LevelDB's byte order is numeric order. */
export function heightKey(height: number): Uint8Array {
  if (!Number.isSafeInteger(height) || height < 0) {
    throw new RangeError(`height must be a non-negative safe integer, got ${height}`)
  }
  const out = new Uint8Array(HEIGHT_BYTES)
  const view = new DataView(out.buffer)
  view.setUint32(0, Math.floor(height / TWO_POW_32))
  view.setUint32(4, height % TWO_POW_32)
  return out
}

export function heightFromKey(bytes: Uint8Array): number {
  if (bytes.length !== HEIGHT_BYTES) {
    throw new StoreError('CORRUPT', `height is ${bytes.length} bytes, expected ${HEIGHT_BYTES}`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const height = view.getUint32(0) * TWO_POW_32 + view.getUint32(4)
  if (!Number.isSafeInteger(height)) {
    throw new StoreError('CORRUPT', 'height is beyond Number.MAX_SAFE_INTEGER')
  }
  return height
}

/** Raw bytes, stored as given. */
export const bytesCodec: Codec<Uint8Array> = {
  encode(value) {
    if (!(value instanceof Uint8Array)) throw new TypeError('expected a Uint8Array')
    return value
  },
  decode: toView,
}

/** Bytes of one fixed length (hashes); any other length is a bug on write and corruption on read. */
export function fixedBytesCodec(length: number): Codec<Uint8Array> {
  return {
    encode(value) {
      if (!(value instanceof Uint8Array) || value.length !== length) {
        throw new RangeError(`expected ${length} bytes`)
      }
      return value
    },
    decode(bytes) {
      if (bytes.length !== length) {
        throw new StoreError('CORRUPT', `${bytes.length} bytes where ${length} were expected`)
      }
      return toView(bytes)
    },
  }
}

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

export const utf8Codec: Codec<string> = {
  encode: (value) => utf8Encoder.encode(value),
  decode: (bytes) => utf8Decoder.decode(bytes),
}

export const heightCodec: Codec<number> = { encode: heightKey, decode: heightFromKey }

/** Where a transaction sits: its block's height and its index in that block. */
export interface TxLocation {
  height: number
  index: number
}

const TX_LOCATION_BYTES = HEIGHT_BYTES + 4

/** 8-byte big-endian height ++ 4-byte big-endian index. */
export const txLocationCodec: Codec<TxLocation> = {
  encode({ height, index }) {
    if (!Number.isInteger(index) || index < 0 || index >= TWO_POW_32) {
      throw new RangeError(`tx index must be a uint32, got ${index}`)
    }
    if (!Number.isSafeInteger(height) || height < 0) {
      throw new RangeError(`height must be a non-negative safe integer, got ${height}`)
    }
    // one array and one view (every tx of every final block has one)
    const out = new Uint8Array(TX_LOCATION_BYTES)
    const view = new DataView(out.buffer)
    view.setUint32(0, Math.floor(height / TWO_POW_32))
    view.setUint32(4, height % TWO_POW_32)
    view.setUint32(HEIGHT_BYTES, index)
    return out
  },
  decode(bytes) {
    if (bytes.length !== TX_LOCATION_BYTES) {
      throw new StoreError('CORRUPT', `tx location is ${bytes.length} bytes`)
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    return {
      height: heightFromKey(bytes.subarray(0, HEIGHT_BYTES)),
      index: view.getUint32(HEIGHT_BYTES),
    }
  },
}
