/**
 * Coalesced writes around the encryption (docs/PERFORMANCE.md, "Coalesced writes").
 *
 * yamux hands the encrypted connection one write per frame: every message, and a window
 * update for every data frame it receives. Noise turns each into a noise message (a 2-byte
 * length, the ciphertext of each piece, a tag) and the TCP connection writes every piece with
 * its own socket write: three or four system calls per frame, about 2,000 a second per node at
 * 200 tx/s against about 300 reads. Two wrappers (coalescingEncrypter):
 *
 * - above the encryption, the frames the muxer writes within one turn of the event loop go to
 *   noise as one write: one noise message per 64 KiB, one encryption;
 * - below it, what noise writes within the turn goes to the socket as one flat buffer: one
 *   system call. Measured: 2,000 → 600 writes a second per node at 200 tx/s; the raw gossip
 *   ceiling (bench:gossip) doubled.
 *
 * - Order is kept: while the connection is writable every write goes through the buffer.
 * - Backpressure is kept: once the connection answers that it is full, `send` answers false
 *   (the muxer pauses its streams) until the connection drains; the buffer is flushed then.
 * - Bound: at most FLUSH_BYTES wait; a write that reaches it is flushed at once. Nothing waits
 *   past the current turn of the event loop (setImmediate: after the I/O callbacks of the turn).
 * - Closing flushes first; an abort drops what waits, as the connection drops its own buffer.
 */
import type { ConnectionEncrypter, MessageStream, SecuredConnection } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'

/** bytes that may wait for the end of the turn; a write that reaches it is flushed at once */
export const FLUSH_BYTES = 256 * 1024

/** open for writing: AbstractMessageStream's writeStatus where it has one, else its status */
function writable(conn: MessageStream): boolean {
  const writeStatus = (conn as { writeStatus?: string }).writeStatus
  return conn.status === 'open' && (writeStatus == null || writeStatus === 'writable')
}

/** `conn`, with its writes gathered per turn of the microtask queue (see the file's header) */
export function coalesceWrites(
  conn: MessageStream,
  opts: { flatten?: boolean; flushBytes?: number } = {},
): MessageStream {
  const flushBytes = opts.flushBytes ?? FLUSH_BYTES
  const flatten = opts.flatten === true
  let pending: Uint8ArrayList | null = null
  let scheduled = false
  /** the connection answered false and has not drained since */
  let full = false

  const flush = (): void => {
    scheduled = false
    const data = pending
    if (data == null) return
    pending = null
    if (!writable(conn)) return // closed under us: dropped, as its own buffer is
    try {
      if (!conn.send(flatten ? data.subarray() : data)) full = true
    } catch (err) {
      // a write the muxer made earlier failed: the connection cannot go on in order
      conn.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }

  conn.addEventListener('drain', () => {
    full = false
    flush()
  })

  const send = (data: Uint8Array | Uint8ArrayList): boolean => {
    // not writable: the connection's own send throws the error the muxer expects
    if (!writable(conn)) return conn.send(data)
    if (pending == null) pending = new Uint8ArrayList()
    pending.append(data)
    if (pending.byteLength >= flushBytes) flush()
    else if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
    return !full
  }

  const overrides: Record<PropertyKey, unknown> = {
    send,
    close: async (options?: Parameters<MessageStream['close']>[0]) => {
      flush()
      return conn.close(options)
    },
    abort: (err: Error) => {
      pending = null
      conn.abort(err)
    },
  }
  const bound = new Map<PropertyKey, unknown>()
  return new Proxy(conn, {
    get(target, prop) {
      if (prop in overrides) return overrides[prop]
      if (prop === 'writeBufferLength') return target.writeBufferLength + (pending?.byteLength ?? 0)
      const value: unknown = Reflect.get(target, prop, target)
      // own values (its `log`, a function with properties) as they are; methods run on the
      // connection itself (its private fields), bound once
      if (typeof value !== 'function' || Object.hasOwn(target, prop)) return value
      let fn = bound.get(prop)
      if (fn == null) {
        fn = (value as (...args: unknown[]) => unknown).bind(target)
        bound.set(prop, fn)
      }
      return fn
    },
    set(target, prop, value) {
      return Reflect.set(target, prop, value, target)
    },
  })
}

/** An encrypter (noise()) whose secured connections coalesce their writes (coalesceWrites). */
export function coalescingEncrypter<C, E>(
  inner: (components: C) => ConnectionEncrypter<E>,
): (components: C) => ConnectionEncrypter<E> {
  return (components: C) => {
    const encrypter = inner(components)
    // above the encryption: the muxer's frames of one turn become one noise message (or a few);
    // below it: each noise message is a length, a ciphertext and a tag, which the TCP connection
    // would write one by one; flattened, the turn's messages are one socket write
    const above = (secured: SecuredConnection<E>): SecuredConnection<E> => ({
      ...secured,
      connection: coalesceWrites(secured.connection),
    })
    const below = (raw: MessageStream) => coalesceWrites(raw, { flatten: true })
    const wrapper: ConnectionEncrypter<E> = Object.create(encrypter)
    wrapper.secureOutbound = async (connection, options) =>
      above(await encrypter.secureOutbound(below(connection), options))
    wrapper.secureInbound = async (connection, options) =>
      above(await encrypter.secureInbound(below(connection), options))
    return wrapper
  }
}
