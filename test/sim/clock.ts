/**
 * Virtual time: a priority queue of scheduled work ordered by (time, order
 * of scheduling), so events at the same millisecond run in the order they
 * were scheduled and a run never depends on the machine's clock.
 */

export interface Scheduled {
  at: number
  seq: number
  /** the node it happens on, or -1 for the world (faults, clients) */
  node: number
  /** what it is, for the trace and its digest */
  label: string
  run: () => void
}

export class VirtualClock {
  now: number
  private readonly heap: Scheduled[] = []
  private seq = 0

  constructor(start: number) {
    this.now = start
  }

  get pending(): number {
    return this.heap.length
  }

  schedule(at: number, node: number, label: string, run: () => void): void {
    const item: Scheduled = { at: Math.max(at, this.now), seq: this.seq++, node, label, run }
    const h = this.heap
    h.push(item)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(h[i]!, h[parent]!)) break
      ;[h[i], h[parent]] = [h[parent]!, h[i]!]
      i = parent
    }
  }

  /** The next item, with the clock moved to its time; null when nothing is left. */
  pop(): Scheduled | null {
    const h = this.heap
    if (h.length === 0) return null
    const top = h[0]!
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && before(h[l]!, h[m]!)) m = l
        if (r < h.length && before(h[r]!, h[m]!)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m]!, h[i]!]
        i = m
      }
    }
    this.now = top.at
    return top
  }

  peekTime(): number | null {
    return this.heap[0]?.at ?? null
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}
