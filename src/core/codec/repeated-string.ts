/**
 * The chain id, read once per decoded message and tx: every tx, batch and block names it, and
 * protons reads each into a new string (an array of char codes, a slice, the string: about 6 % of
 * what a validator allocated at saturation, all of it garbage at once). A string field whose
 * bytes are those of the last one read here is answered with that string, not made again.
 *
 * Only `messages.ts` calls it (scripts/gen-proto.mjs puts it in place of `reader.string()` for
 * the `chainId` fields). Bytes that differ, and strings longer than MAX_REMEMBERED_BYTES, are
 * read by protons as before; what is remembered is a copy, so no message's buffer is kept.
 */
import { MAX_CHAIN_ID_BYTES } from './limits.js'

/** What is read here of protons' reader: its position, its bounds and its own string read. */
export interface StringReader {
  buf: Uint8Array
  pos: number
  len: number
  uint32(): number
  string(): string
}

/** a longer string is not remembered (a valid chain id has at most MAX_CHAIN_ID_BYTES) */
export const MAX_REMEMBERED_BYTES = MAX_CHAIN_ID_BYTES

let lastBytes = new Uint8Array(0)
let lastString = ''

/** `reader.string()`, answered from the last string read here when its bytes are the same. */
export function readRepeatedString(reader: StringReader): string {
  const start = reader.pos
  const length = reader.uint32()
  const at = reader.pos
  if (
    length === lastBytes.length &&
    at + length <= reader.len &&
    sameAt(reader.buf, at, lastBytes)
  ) {
    reader.pos = at + length
    return lastString
  }
  reader.pos = start
  const value = reader.string()
  if (length <= MAX_REMEMBERED_BYTES) {
    lastBytes = reader.buf.slice(at, at + length)
    lastString = value
  }
  return value
}

function sameAt(buf: Uint8Array, at: number, bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (buf[at + i] !== bytes[i]) return false
  return true
}
