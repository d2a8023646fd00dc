/**
 * What each validator has done lately (GET /validators, the explorer's
 * validators panel): the last height whose commit certificate it signed,
 * how many of the last min(100, height) commit certificates it signed, and
 * how many equivocation evidence records the node holds against it.
 *
 * `validatorActivity` is the pure count over a window of certificates' signers.
 * `ValidatorActivityTracker` keeps that window by head height: a request at
 * an unchanged head reads nothing, a new head reads only the blocks after the
 * last one it read, and no call ever reads more than ACTIVITY_WINDOW blocks.
 */

/** Commit certificates counted: the last 100 (fewer while the chain is shorter). */
export const ACTIVITY_WINDOW = 100

/** Who signed the commit certificate of the final block at `height` (peer ids as text). */
export interface CommitSigners {
  height: number
  signers: readonly string[]
}

export interface ValidatorActivity {
  /** the last height in the window whose commit certificate it signed; null: none of them */
  lastSignedHeight: number | null
  /** commit certificates of the window it signed */
  signedRecent: number
  /** commit certificates in the window: min(ACTIVITY_WINDOW, height) */
  recentWindow: number
  /** equivocation evidence records held against it */
  evidence: number
}

/**
 * Each validator's activity over `window` (the commit signers of the latest
 * blocks, any order) and `offenders` (the offender of each evidence record).
 * Signers that are not in `validators` are not counted.
 */
export function validatorActivity(
  validators: readonly string[],
  window: readonly CommitSigners[],
  offenders: Iterable<string>,
): Map<string, ValidatorActivity> {
  const out = new Map<string, ValidatorActivity>()
  for (const id of validators)
    out.set(id, {
      lastSignedHeight: null,
      signedRecent: 0,
      recentWindow: window.length,
      evidence: 0,
    })
  for (const { height, signers } of window) {
    // a certificate names each signer once; a set keeps a malformed one from counting twice
    for (const id of new Set(signers)) {
      const a = out.get(id)
      if (a == null) continue
      a.signedRecent++
      if (a.lastSignedHeight == null || height > a.lastSignedHeight) a.lastSignedHeight = height
    }
  }
  for (const id of offenders) {
    const a = out.get(id)
    if (a != null) a.evidence++
  }
  return out
}

/** Reads the commit signers of the final blocks in [from, to], ascending (at most 100 blocks). */
export type ReadCommitSigners = (from: number, to: number) => Promise<CommitSigners[]>

/**
 * The window of the latest commit certificates, kept up to the head it was
 * last asked at. Concurrent calls at one head share one read.
 */
export class ValidatorActivityTracker {
  /** ascending by height, at most `size`, ending at `head` */
  private window: CommitSigners[] = []
  private head = 0
  private reading: Promise<void> | null = null

  constructor(
    private readonly read: ReadCommitSigners,
    private readonly size = ACTIVITY_WINDOW,
  ) {}

  /** Each validator's activity at `head` (the height of the last final block on disk). */
  async activity(
    head: number,
    validators: readonly string[],
    offenders: Iterable<string>,
  ): Promise<Map<string, ValidatorActivity>> {
    await this.advance(head)
    return validatorActivity(validators, this.window, offenders)
  }

  /** The heights the window holds now (for tests and logs). */
  heights(): number[] {
    return this.window.map((c) => c.height)
  }

  // the final chain only grows: a head below the one read is a request that raced a block, and
  // gets the newer window
  private async advance(head: number): Promise<void> {
    while (this.head < head) {
      if (this.reading == null) {
        this.reading = this.readTo(head).finally(() => {
          this.reading = null
        })
      }
      await this.reading
    }
  }

  private async readTo(head: number): Promise<void> {
    const oldest = Math.max(1, head - this.size + 1)
    const from = Math.max(oldest, this.head + 1)
    const fresh = await this.read(from, head)
    const kept = this.window.filter((c) => c.height >= oldest && c.height < from)
    this.window = [...kept, ...fresh.filter((c) => c.height >= from && c.height <= head)]
    this.head = head
  }
}
