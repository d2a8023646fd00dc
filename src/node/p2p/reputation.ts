/**
 * The node's own opinion of each peer, beside gossipsub's score: bad bytes on
 * a direct protocol, forged votes or a wrong chain lower it; under the ban
 * threshold the peer is disconnected and refused for a while. It feeds
 * gossipsub's application-specific score, so gossip routing agrees with it.
 */
export const BAN_THRESHOLD = -100
/**
 * Peers with a score or a ban, at most: anyone can make identities, and a
 * PrePrepare's target is penalised by its id. Beyond, the entry touched
 * longest ago goes (a ban outlives a score: scores go first).
 */
export const MAX_REPUTATION_ENTRIES = 10_000
export const BAN_MS = 10 * 60_000
/** Penalties decay toward 0 by this fraction per minute. */
const DECAY_PER_MINUTE = 0.1

export interface PenaltyEvent {
  peerId: string
  amount: number
  reason: string
  score: number
  banned: boolean
}

export class Reputation {
  private readonly scores = new Map<string, { score: number; at: number }>()
  private readonly bans = new Map<string, number>()

  constructor(
    /** called when a penalty bans a peer: the owner cuts it off */
    private readonly onBan: (peerId: string, reason: string) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  score(peerId: string): number {
    const s = this.scores.get(peerId)
    if (s == null) return 0
    const minutes = (this.now() - s.at) / 60_000
    return s.score * (1 - DECAY_PER_MINUTE) ** minutes
  }

  /** Lower a peer's score; true when this penalty bans it. */
  penalize(peerId: string, amount: number, reason: string): PenaltyEvent {
    const score = this.score(peerId) - Math.abs(amount)
    this.scores.delete(peerId)
    this.scores.set(peerId, { score, at: this.now() })
    if (this.scores.size > MAX_REPUTATION_ENTRIES) {
      const oldest = this.scores.keys().next().value
      if (oldest !== undefined) this.scores.delete(oldest)
    }
    const banned = score <= BAN_THRESHOLD && !this.isBanned(peerId)
    if (banned) {
      this.ban(peerId)
      this.onBan(peerId, reason)
    }
    return { peerId, amount, reason, score, banned }
  }

  ban(peerId: string, ms = BAN_MS): void {
    this.bans.delete(peerId)
    this.bans.set(peerId, this.now() + ms)
    if (this.bans.size > MAX_REPUTATION_ENTRIES) {
      const oldest = this.bans.keys().next().value
      if (oldest !== undefined) this.bans.delete(oldest)
    }
  }

  isBanned(peerId: string): boolean {
    const until = this.bans.get(peerId)
    if (until == null) return false
    if (until > this.now()) return true
    this.bans.delete(peerId)
    this.scores.delete(peerId)
    return false
  }
}
