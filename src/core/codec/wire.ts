import { bytesEqual } from '../crypto/hash.js'
import { DecodeError } from './errors.js'

/** Repeated-field bounds in protons' `limits` option form. */
// biome-ignore lint/suspicious/noExplicitAny: mirrors protons' own untyped option
export type DecodeLimits = Record<string, any>

/** Checks the shape of a decoded message; throws FieldError. */
export type Check<T> = (m: T) => void

export class FieldError extends Error {}

/** A message type on the wire: encode, and a decode that never trusts its input. */
export interface WireCodec<T> {
  readonly name: string
  readonly maxBytes: number
  encode(message: T): Uint8Array
  /** Throws DecodeError for oversized, malformed, non-canonical or ill-shaped bytes. */
  decode(bytes: Uint8Array): T
  /** Shape check alone, for messages built in memory (e.g. from JSON). Throws DecodeError. */
  check(message: T): void
}

/** What protons generates for each message: `M.Tx.encode` / `M.Tx.decode`. */
export interface Protons<T> {
  encode(message: Partial<T>): Uint8Array
  decode(bytes: Uint8Array, opts?: { limits?: DecodeLimits }): T
}

export function wireCodec<T>(
  name: string,
  codec: Protons<T>,
  maxBytes: number,
  limits: DecodeLimits,
  check: Check<T>,
): WireCodec<T> {
  const runCheck = (m: T): void => {
    try {
      check(m)
    } catch (err) {
      if (err instanceof FieldError) throw new DecodeError('INVALID_FIELD', name, err.message)
      throw err
    }
  }
  return {
    name,
    maxBytes,
    encode(message: T): Uint8Array {
      return codec.encode(message)
    },
    decode(bytes: Uint8Array): T {
      if (bytes.length > maxBytes) {
        throw new DecodeError('TOO_LARGE', name, `${bytes.length} bytes > limit ${maxBytes}`)
      }
      let m: T
      try {
        m = codec.decode(bytes, { limits })
      } catch (err) {
        throw new DecodeError('MALFORMED', name, (err as Error).message)
      }
      if (!bytesEqual(codec.encode(m), bytes)) {
        throw new DecodeError('NON_CANONICAL', name, 'unknown fields or non-canonical encoding')
      }
      runCheck(m)
      return m
    },
    check: runCheck,
  }
}

// ------------------------------------------------------------------ field checks

export function need(cond: boolean, what: string): asserts cond {
  if (!cond) throw new FieldError(what)
}

export function needLength(bytes: Uint8Array, length: number, field: string): void {
  need(bytes.length === length, `${field} must have ${length} bytes, has ${bytes.length}`)
}

export function needMax(length: number, max: number, field: string): void {
  need(length <= max, `${field} has ${length}, more than ${max}`)
}

export function needPresent<V>(v: V | undefined, field: string): asserts v is V {
  need(v != null, `${field} is missing`)
}

// ------------------------------------------------------------------ spans

/**
 * The payloads of a length-delimited field (`field`: its number) at the top level of a message,
 * in wire order: for a repeated message field, the i-th is the encoding of the i-th element. For
 * bytes that decoded already (it throws on anything it cannot walk).
 */
export function fieldSpans(bytes: Uint8Array, field: number): Uint8Array[] {
  const spans: Uint8Array[] = []
  let pos = 0
  const varint = (): number => {
    let value = 0
    for (let shift = 0; shift < 50; shift += 7) {
      if (pos >= bytes.length) throw new RangeError('varint past the end')
      const b = bytes[pos++]!
      value += (b & 0x7f) * 2 ** shift
      if (b < 0x80) return value
    }
    throw new RangeError('varint too long')
  }
  while (pos < bytes.length) {
    const tag = varint()
    switch (tag & 7) {
      case 0:
        varint()
        break
      case 1:
        pos += 8
        break
      case 2: {
        const length = varint()
        if (pos + length > bytes.length) throw new RangeError('field past the end')
        if (Math.floor(tag / 8) === field) spans.push(bytes.subarray(pos, pos + length))
        pos += length
        break
      }
      case 5:
        pos += 4
        break
      default:
        throw new RangeError(`wire type ${tag & 7}`)
    }
  }
  if (pos !== bytes.length) throw new RangeError('field past the end')
  return spans
}
