/**
 * How many tx rounds a target runs at once: a congestion window, as TCP's.
 *
 * Every round costs every validator signature checks and votes, so a target
 * that starts every tx it is given at once can saturate the network's CPUs:
 * all the rounds slow down together and all miss their deadline (a burst of
 * 2,000 txs on four validators sharing two cores failed every one of them).
 * The target therefore runs at most `size` rounds and queues the rest in
 * arrival order. The window grows by one round per window of rounds that
 * end well within their deadline (additive increase) and halves when a
 * round ends late or times out (multiplicative decrease), at most once per
 * `coolDownMs`, so one slow burst is one halving, not hundreds. Until the
 * first sign of congestion it grows by one per round that ends in time (slow
 * start: it doubles per window), so a fast network is not held back long.
 *
 * Pure: time comes in as `now`.
 */

export interface RoundWindowOptions {
  /** rounds at first */
  initial: number
  min: number
  max: number
  /** a round that took longer than this is late (a congestion sign) */
  lateMs: number
  /** after a halving, the next one waits this long */
  coolDownMs: number
}

export const DEFAULT_MAX_TX_ROUNDS = 4_096

export function roundWindowOptions(
  txRoundMs: number,
  maxRounds = DEFAULT_MAX_TX_ROUNDS,
): RoundWindowOptions {
  return {
    initial: Math.min(64, maxRounds),
    min: Math.min(4, maxRounds),
    max: maxRounds,
    lateMs: txRoundMs / 3,
    coolDownMs: txRoundMs / 4,
  }
}

export class RoundWindow {
  private window: number
  /** rounds ended in time since the window last grew */
  private onTime = 0
  private lastCut = Number.NEGATIVE_INFINITY
  private slowStart = true

  constructor(readonly opts: RoundWindowOptions) {
    this.window = opts.initial
  }

  /** how many rounds may run at once now */
  get size(): number {
    return this.window
  }

  /** A round ended with its certificate after `tookMs`. */
  onEnd(tookMs: number, now: number): void {
    if (tookMs > this.opts.lateMs) {
      this.cut(now)
      return
    }
    this.onTime++
    if (this.slowStart || this.onTime >= this.window) {
      this.onTime = 0
      this.window = Math.min(this.opts.max, this.window + 1)
    }
  }

  /** A round reached its deadline without a certificate. */
  onTimeout(now: number): void {
    this.cut(now)
  }

  private cut(now: number): void {
    if (now - this.lastCut < this.opts.coolDownMs) return
    this.lastCut = now
    this.slowStart = false
    this.onTime = 0
    this.window = Math.max(this.opts.min, Math.floor(this.window / 2))
  }
}
