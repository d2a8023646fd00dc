/**
 * The driver's event queue is bounded for what peers feed it: beyond the
 * bound a network event is dropped (counted, warned about now and then),
 * while client requests, timers, ticks and fetched blocks always get in.
 */
import { describe, expect, it } from 'vitest'
import type { Core } from '../../src/core/consensus/core.js'
import type { CoreAction, CoreEvent } from '../../src/core/consensus/types.js'
import type { LogFields, Logger } from '../../src/node/log.js'
import {
  CoreDriver,
  MAX_QUEUED_NETWORK_EVENTS,
  NETWORK_EVENT_TYPES,
} from '../../src/node/node/driver.js'

/** A core that records what it is stepped with and answers client requests. */
function fakeCore(): { core: Core; stepped: CoreEvent[] } {
  const stepped: CoreEvent[] = []
  const core = {
    step(event: CoreEvent): CoreAction[] {
      stepped.push(event)
      if (event.type === 'client-tx' || event.type === 'client-account')
        return [
          { type: 'client-result', requestId: event.requestId, result: { ok: true, status: 'x' } },
        ]
      return []
    },
  }
  return { core: core as unknown as Core, stepped }
}

function recordingLogger(): { log: Logger; warnings: LogFields[] } {
  const warnings: LogFields[] = []
  const log: Logger = {
    error: () => {},
    warn: (_msg, fields) => warnings.push(fields ?? {}),
    info: () => {},
    debug: () => {},
    isDebug: () => false,
    child: () => log,
  }
  return { log, warnings }
}

const effects = { persist: async () => {}, execute: () => {}, fatal: () => {} }
const from = 'peer-a'
const prepare = (i: number): CoreEvent =>
  ({ type: 'batch-prepare', now: i, msg: {} as never, from }) as CoreEvent

/** Let the driver's setImmediate cycles run until `check` holds. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !check(); i++) await new Promise((r) => setImmediate(r))
  expect(check()).toBe(true)
}

describe('CoreDriver event queue', () => {
  it('bounds network events at 50,000 by default', () => {
    expect(MAX_QUEUED_NETWORK_EVENTS).toBe(50_000)
    expect([...NETWORK_EVENT_TYPES].sort()).toEqual(
      [
        'account',
        'batch-commit',
        'batch-fetched',
        'batch-prepare',
        'batch-vote',
        'block-sync',
        'election',
        'height-claim',
        'peer-height',
        'tx-batch',
        'vote',
      ].sort(),
    )
  })

  it('drops network events beyond the bound and keeps everything else', async () => {
    const { core, stepped } = fakeCore()
    const { log, warnings } = recordingLogger()
    let now = 1_000
    const driver = new CoreDriver(core, effects, log, () => now, { maxQueuedNetworkEvents: 10 })

    // nothing steps until the event loop turns: the queue fills synchronously
    for (let i = 0; i < 25; i++) driver.push(prepare(i))
    expect(driver.queued).toBe(10)
    expect(driver.droppedNetworkEvents).toBe(15)
    // one warning for the burst, not fifteen
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ dropped: 1, total: 1, queued: 10, last: 'batch-prepare' })

    // every other network-fed kind is dropped too
    const others: CoreEvent[] = [
      { type: 'vote', now, vote: {} as never, from },
      { type: 'height-claim', now, validator: from, head: 3 },
      { type: 'peer-height', now, height: 9, from },
      { type: 'batch-fetched', now, batch: {} as never, from },
      { type: 'batch-vote', now, vote: {} as never, from },
    ]
    for (const e of others) driver.push(e)
    expect(driver.droppedNetworkEvents).toBe(20)

    // the node's own events and client requests always get in
    driver.push({ type: 'tick', now })
    driver.push({ type: 'timer', now, key: 'round' })
    driver.push({ type: 'block-fetched', now, block: {} as never, from })
    driver.push({ type: 'sync-done', now })
    const answer = driver.request((requestId, at) => ({
      type: 'client-tx',
      now: at,
      requestId,
      tx: {} as never,
    }))
    expect(driver.queued).toBe(15)
    expect(await answer).toEqual({ ok: true, status: 'x' })
    await until(() => stepped.length === 15)
    // consensus first (event-lanes.ts), then the tx lane in its order, the client's tx last
    expect(stepped.slice(0, 4).map((e) => e.type)).toEqual([
      'tick',
      'timer',
      'block-fetched',
      'sync-done',
    ])
    expect(stepped.slice(4, 14).map((e) => e.now)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(stepped[14]!.type).toBe('client-tx')

    // drained: network events are queued again
    driver.push(prepare(100))
    await until(() => stepped.length === 16)
    expect(driver.droppedNetworkEvents).toBe(20)

    // a later flood warns again, once the quiet interval has passed, with the count since
    for (let i = 0; i < 12; i++) driver.push(prepare(200 + i))
    expect(warnings).toHaveLength(1)
    now += 5_000
    driver.push(prepare(300))
    expect(warnings).toHaveLength(2)
    expect(warnings[1]).toMatchObject({ dropped: 22, total: 23 })
    driver.stop()
  })
})
