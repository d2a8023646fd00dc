/**
 * Catching up (DESIGN §4, "a node that missed messages catches up through
 * /bftchain/history/1"): when the core says the chain is ahead, ask a peer
 * that has the blocks for the next range, hand them to the core in height
 * order (it checks each certificate and block before appending), and go on
 * until the head reaches the target. A peer that fails or serves blocks that
 * do not append is passed over for the next one.
 */
import type { FinalizedBlock } from '../../core/codec/index.js'
import { shortPeerId } from '../../core/crypto/peer-id.js'
import type { Logger } from '../log.js'
import { HISTORY_PROTOCOL } from '../p2p/protocols.js'
import type { Reputation } from '../p2p/reputation.js'
import type { ReqResp } from '../p2p/reqresp.js'

export interface CatchUpDeps {
  reqresp: ReqResp
  reputation: Reputation
  log: Logger
  /** our head height now */
  height(): number
  /** chain peers with the height each last reported */
  peers(): { peerId: string; height: number }[]
  /** hand a fetched block to the core; resolves when the head passed `height` or after `timeoutMs` */
  apply(blocks: FinalizedBlock[], from: string): Promise<void>
}

const RANGE = 64
const USELESS_PEER_PENALTY = 20

export class CatchUp {
  private target = 0
  private running = false
  private stopped = false

  constructor(private readonly deps: CatchUpDeps) {}

  /** The chain is at least `height` high; `hint` probably has it. */
  request(height: number, hint: string | null): void {
    if (height <= this.target && this.running) return
    this.target = Math.max(this.target, height)
    if (!this.running) void this.run(hint)
  }

  stop(): void {
    this.stopped = true
  }

  get syncing(): { from: number; to: number } | null {
    return this.running ? { from: this.deps.height(), to: this.target } : null
  }

  private pickPeer(from: number, hint: string | null, skip: Set<string>): string | null {
    const peers = this.deps.peers().filter((p) => !skip.has(p.peerId))
    if (hint && !skip.has(hint) && peers.some((p) => p.peerId === hint)) return hint
    const able = peers.filter((p) => p.height >= from).sort((a, b) => b.height - a.height)
    return able[0]?.peerId ?? peers[0]?.peerId ?? null
  }

  private async run(hint: string | null): Promise<void> {
    this.running = true
    const skip = new Set<string>()
    try {
      let idle = 0
      while (!this.stopped && this.deps.height() < this.target && idle < 5) {
        const from = this.deps.height() + 1
        const to = Math.min(this.target, from + RANGE - 1)
        const peer = this.pickPeer(from, hint, skip)
        if (peer == null) {
          idle++
          skip.clear()
          await new Promise((r) => setTimeout(r, 500))
          continue
        }
        let blocks: FinalizedBlock[] = []
        try {
          const res = await this.deps.reqresp.request(peer, HISTORY_PROTOCOL, {
            fromHeight: from,
            toHeight: to,
          })
          blocks = res.blocks
        } catch (err) {
          this.deps.log.debug('history request failed', { peer: shortPeerId(peer), from, to, err })
        }
        const before = this.deps.height()
        if (blocks.length > 0) await this.deps.apply(blocks, peer)
        if (this.deps.height() > before) {
          idle = 0
          this.deps.log.debug('caught up', {
            from,
            to: this.deps.height(),
            peer: shortPeerId(peer),
          })
          continue
        }
        // nothing usable from this peer: the next one
        if (blocks.length > 0)
          this.deps.reputation.penalize(
            peer,
            USELESS_PEER_PENALTY,
            'history blocks that do not append',
          )
        skip.add(peer)
        hint = null
        idle++
      }
    } finally {
      this.running = false
    }
  }
}
