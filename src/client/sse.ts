/**
 * A reader of server-sent events (the node's GET /events): the byte stream
 * of a fetch Response in, one {type, id, data} per event out. Comments
 * (": keep-alive") are skipped; data lines are joined with newlines, as the
 * EventSource standard says; a line may arrive split across chunks.
 */

export interface ServerEvent {
  type: string
  id: string | null
  data: string
}

/** At most this much of one event is buffered: a stream that never ends an event is broken. */
const MAX_EVENT_CHARS = 1024 * 1024

export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerEvent> {
  const decoder = new TextDecoder()
  let buffer = ''
  let type = 'message'
  let id: string | null = null
  let data: string[] = []
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true })
    if (buffer.length > MAX_EVENT_CHARS)
      throw new Error('an event of over 1 MiB: not an event stream')
    let nl = buffer.indexOf('\n')
    while (nl >= 0) {
      const line = buffer.slice(0, nl).replace(/\r$/, '')
      buffer = buffer.slice(nl + 1)
      nl = buffer.indexOf('\n')
      if (line === '') {
        if (data.length > 0) yield { type, id, data: data.join('\n') }
        type = 'message'
        data = []
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
      if (field === 'event') type = value
      else if (field === 'data') data.push(value)
      else if (field === 'id') id = value
    }
  }
}
