import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'

/** Parse a listen address: a TCP multiaddr such as /ip4/0.0.0.0/tcp/26600. Throws Error with the reason. */
export function parseListenAddr(text: string): Multiaddr {
  const ma = parse(text)
  const protos = ma.getComponents().map((c) => c.name)
  if (!protos.includes('tcp')) throw new Error(`"${text}" is not a TCP address (/ip4/…/tcp/PORT)`)
  return ma
}

/** Parse a bootstrap address: it must name the peer, /ip4/…/tcp/…/p2p/<peerId>. */
export function parseBootstrapAddr(text: string): Multiaddr {
  const ma = parse(text)
  if (ma.getComponents().find((c) => c.name === 'p2p')?.value == null) {
    throw new Error(`"${text}" does not end with /p2p/<peerId>`)
  }
  return ma
}

function parse(text: string): Multiaddr {
  if (typeof text !== 'string' || text.length === 0) throw new Error('must be a multiaddr string')
  try {
    return multiaddr(text)
  } catch (err) {
    throw new Error(`"${text}" is not a multiaddr (${(err as Error).message})`)
  }
}

/** The peer id a bootstrap multiaddr names. */
export function peerIdOfAddr(ma: Multiaddr): string | undefined {
  return ma.getComponents().find((c) => c.name === 'p2p')?.value
}
