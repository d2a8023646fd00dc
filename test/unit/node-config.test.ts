/**
 * config.json (node/config/node-config.ts): the tx batch settings a target runs with, and a
 * clear error naming the file and the field for a bad value or an unknown field.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_BATCH_TXS } from '../../src/core/codec/limits.js'
import { readConfigFile } from '../../src/node/config/node-config.js'

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

async function configWith(fields: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bftchain-config-'))
  dirs.push(dir)
  const file = join(dir, 'config.json')
  await writeFile(file, JSON.stringify(fields))
  return file
}

describe('config.json', () => {
  it('takes batchTxs and batchWaitMs, and leaves them unset (the defaults) when absent', async () => {
    expect(await readConfigFile(await configWith({ batchTxs: 128, batchWaitMs: 5 }))).toMatchObject(
      { batchTxs: 128, batchWaitMs: 5 },
    )
    const plain = await readConfigFile(await configWith({}))
    expect(plain?.batchTxs).toBeUndefined()
    expect(plain?.batchWaitMs).toBeUndefined()
  })

  it.each([
    [{ batchTxs: 0 }, `batchTxs: must be a whole number from 1 to ${MAX_BATCH_TXS}`],
    [
      { batchTxs: MAX_BATCH_TXS + 1 },
      `batchTxs: must be a whole number from 1 to ${MAX_BATCH_TXS}`,
    ],
    [{ batchWaitMs: 1.5 }, 'batchWaitMs: must be a whole number from 1 to 1000'],
    [{ batchWaitMs: 5_000 }, 'batchWaitMs: must be a whole number from 1 to 1000'],
    [{ batchSize: 10 }, 'batchSize: unknown field'],
  ])('refuses %j: %s', async (fields, message) => {
    const file = await configWith(fields)
    await expect(readConfigFile(file)).rejects.toThrow(message)
    await expect(readConfigFile(file)).rejects.toThrow(file)
  })
})
