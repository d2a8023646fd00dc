/** The CLI's server-sent event reader (src/cli/sse.ts), fed chunk by chunk. */
import { describe, expect, it } from 'vitest'
import { readEvents, type ServerEvent } from '../../src/client/sse.js'

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const utf8 = new TextEncoder()
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(utf8.encode(c))
      controller.close()
    },
  })
}

async function all(chunks: string[]): Promise<ServerEvent[]> {
  const out: ServerEvent[] = []
  for await (const e of readEvents(streamOf(chunks))) out.push(e)
  return out
}

describe('readEvents', () => {
  it('reads typed events with ids, whatever the chunking, skipping comments', async () => {
    const text =
      'id: 1\nevent: status\ndata: {"height":3}\n\n: keep-alive\n\nid: 2\nevent: block\ndata: {"height":4}\n\n'
    const want = [
      { type: 'status', id: '1', data: '{"height":3}' },
      { type: 'block', id: '2', data: '{"height":4}' },
    ]
    expect(await all([text])).toEqual(want)
    // one byte at a time, and split inside a multi-byte character
    expect(await all([...text])).toEqual(want)
    const euro = 'event: tx\ndata: €\n\n'
    const bytes = new TextEncoder().encode(euro)
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.slice(0, 17))
        c.enqueue(bytes.slice(17))
        c.close()
      },
    })
    const got: ServerEvent[] = []
    for await (const e of readEvents(stream)) got.push(e)
    expect(got).toEqual([{ type: 'tx', id: null, data: '€' }])
  })

  it('joins data lines, takes CRLF, and defaults the type to message', async () => {
    expect(await all(['data: a\r\ndata: b\r\n\r\n'])).toEqual([
      { type: 'message', id: null, data: 'a\nb' },
    ])
  })

  it('drops an event the stream never finishes, and refuses one over 1 MiB', async () => {
    expect(await all(['event: block\ndata: {"height"'])).toEqual([])
    await expect(all([`data: ${'x'.repeat(1024 * 1024 + 1)}`])).rejects.toThrow(/over 1 MiB/)
  })
})
