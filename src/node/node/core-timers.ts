/**
 * The core's timers in the shell: `set-timer {key, at}` arms one, a second with the same key
 * replaces it, and when it fires the core gets `{type: 'timer', key, now}` with `now` never before
 * `at`. Node's timers may fire a millisecond before the wall clock reaches `at` (setTimeout's
 * delay and Date.now() round differently); a core that saw such a timer at `at − 1` would find its
 * deadline not yet passed (the leader's block interval did exactly that: no proposal, and the
 * round timed out three seconds later).
 */
export interface TimerClock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

const SYSTEM: TimerClock = {
  now: Date.now,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

export class CoreTimers {
  private readonly armed = new Map<string, unknown>()

  constructor(
    private readonly fire: (key: string, now: number) => void,
    private readonly clock: TimerClock = SYSTEM,
  ) {}

  set(key: string, at: number): void {
    this.clear(key)
    const handle = this.clock.setTimeout(
      () => {
        this.armed.delete(key)
        this.fire(key, Math.max(this.clock.now(), at))
      },
      Math.max(0, at - this.clock.now()),
    )
    this.armed.set(key, handle)
  }

  clear(key: string): void {
    const handle = this.armed.get(key)
    if (handle === undefined) return
    this.clock.clearTimeout(handle)
    this.armed.delete(key)
  }

  clearAll(): void {
    for (const handle of this.armed.values()) this.clock.clearTimeout(handle)
    this.armed.clear()
  }

  get size(): number {
    return this.armed.size
  }
}
