/**
 * How far V8 lets the heap grow past its live set before a full collection.
 *
 * By default V8 sets the next full collection at up to 4× the heap that survived the last one
 * (less when collections are slow). A validator under load promotes every tx's objects (a tx
 * lives about a second, longer than a young collection), so its old space fills with garbage
 * and V8 lets it: at 2,000 tx/s one validator's heap climbed to 270–330 MB between full
 * collections that left 100–160 MB live (peak RSS 350–630 MB over three minutes). A growing
 * factor of 1.5 holds the heap nearer its live set (peak RSS 310–375 MB) for about 1 % more
 * CPU; 1.25 holds it lower still (290–335 MB) but costs 4–5 % more CPU, which a saturated
 * machine pays in latency (docs/PERFORMANCE.md).
 *
 * V8 reads this flag each time it sets the next limit, so setting it once the process runs takes
 * effect at the next collection. Node does not accept it in NODE_OPTIONS, so `bftchain start`
 * sets it (--heap-growth); a flag given to node itself (`node --heap-growing-percent=N`) wins.
 */
import { setFlagsFromString } from 'node:v8'

/** Percent the heap may grow past its live set before a full collection (`start --heap-growth`). */
export const DEFAULT_HEAP_GROWTH_PERCENT = 50

const FLAG = '--heap-growing-percent'

/**
 * The flag to set for `percent`, or null when there is nothing to set: 0 keeps V8's own growth,
 * and a `--heap-growing-percent` in node's own arguments is the operator's choice.
 */
export function heapGrowthFlag(percent: number, execArgv: readonly string[]): string | null {
  if (!Number.isSafeInteger(percent) || percent < 0 || percent > 1_000)
    throw new RangeError(`heap growth must be a whole percent from 0 to 1000, not ${percent}`)
  if (percent === 0) return null
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) return null
  return `${FLAG}=${percent}`
}

/** Set V8's heap growing factor for this process (see heapGrowthFlag); returns the flag set. */
export function applyHeapGrowth(percent: number): string | null {
  const flag = heapGrowthFlag(percent, process.execArgv)
  if (flag) setFlagsFromString(flag)
  return flag
}
