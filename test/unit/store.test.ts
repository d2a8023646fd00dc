import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  Bucket,
  bucketKey,
  heightFromKey,
  heightKey,
  Store,
  StoreError,
  txLocationCodec,
} from '../../src/node/store/index.js'

// Cleanups run last in, first out: a store is closed before its directory is removed.
const cleanups: (() => Promise<void>)[] = []

afterEach(async () => {
  vi.restoreAllMocks()
  while (cleanups.length > 0) await cleanups.pop()!()
})

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bftchain-store-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function openStore(dir: string): Promise<Store> {
  const store = await Store.open(dir)
  cleanups.push(() => store.close())
  return store
}

const bytes = (...xs: number[]) => Uint8Array.from(xs)
const hash = (fill: number) => new Uint8Array(32).fill(fill)

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

async function keysOf<K, V>(it: AsyncIterable<[K, V]>): Promise<K[]> {
  return (await collect(it)).map(([k]) => k)
}

describe('keys', () => {
  it('encodes heights as 8-byte big-endian and back', () => {
    expect(heightKey(0)).toEqual(new Uint8Array(8))
    expect(heightKey(258)).toEqual(bytes(0, 0, 0, 0, 0, 0, 1, 2))
    expect(heightKey(2 ** 32 + 1)).toEqual(bytes(0, 0, 0, 1, 0, 0, 0, 1))
    for (const h of [0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      expect(heightFromKey(heightKey(h))).toBe(h)
    }
  })

  it('rejects heights that are not non-negative safe integers', () => {
    for (const h of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => heightKey(h)).toThrow(RangeError)
    }
  })

  it('reads a stored height of the wrong length as corruption', () => {
    expect(() => heightFromKey(bytes(1, 2, 3))).toThrow(StoreError)
    expect(() => txLocationCodec.decode(bytes(1))).toThrow(StoreError)
  })

  it('prefixes a key with its bucket byte', () => {
    expect(bucketKey(Bucket.accounts, bytes(9, 8))).toEqual(bytes(4, 9, 8))
  })
})

describe('Store', () => {
  it('iterates heights in numeric order, with reverse, limit and inclusive bounds', async () => {
    const store = await openStore(await tempDir())
    const heights = [65536, 10, 1, 256, 2]
    const batch = store.batch()
    for (const h of heights) batch.put(store.blocks, h, bytes(h % 251))
    await batch.write()

    const blocks = store.blocks
    expect(await keysOf(blocks.entries())).toEqual([1, 2, 10, 256, 65536])
    expect(await keysOf(blocks.entries({ reverse: true }))).toEqual([65536, 256, 10, 2, 1])
    expect(await keysOf(blocks.entries({ limit: 2 }))).toEqual([1, 2])
    expect(await keysOf(blocks.entries({ reverse: true, limit: 2 }))).toEqual([65536, 256])
    expect(await keysOf(blocks.entries({ gte: 2, lte: 256 }))).toEqual([2, 10, 256])
    expect(await keysOf(blocks.entries({ gte: 3, lte: 255 }))).toEqual([10])
    expect(await keysOf(blocks.entries({ gte: 11, reverse: true }))).toEqual([65536, 256])
    expect(await collect(blocks.values({ lte: 10 }))).toEqual([bytes(1), bytes(2), bytes(10)])
    expect(await blocks.lastKey()).toBe(65536)
  })

  it("never returns another bucket's entries when iterating a bucket", async () => {
    const store = await openStore(await tempDir())
    const batch = store.batch()
    batch.put(store.meta, 'head', bytes(0xee))
    batch.put(store.blocks, 1, bytes(1))
    batch.put(store.blocks, 2, bytes(2))
    batch.put(store.blockHashIndex, hash(0), 7)
    batch.put(store.accounts, bytes(), bytes(0xa0))
    batch.put(store.accounts, bytes(0xff, 0xff), bytes(0xa1))
    batch.put(store.state, bytes(0x00), bytes(0x50))
    await batch.write()

    expect(await collect(store.blocks.entries())).toEqual([
      [1, bytes(1)],
      [2, bytes(2)],
    ])
    expect(await collect(store.blocks.entries({ reverse: true }))).toEqual([
      [2, bytes(2)],
      [1, bytes(1)],
    ])
    expect(await collect(store.accounts.entries())).toEqual([
      [bytes(), bytes(0xa0)],
      [bytes(0xff, 0xff), bytes(0xa1)],
    ])
    expect(await collect(store.state.entries())).toEqual([[bytes(0x00), bytes(0x50)]])
    expect(await collect(store.meta.entries())).toEqual([['head', bytes(0xee)]])
    // Empty buckets between and after populated ones stay empty.
    expect(await collect(store.txIndex.entries())).toEqual([])
    expect(await collect(store.pool.entries({ reverse: true }))).toEqual([])
    expect(await store.blocks.lastKey()).toBe(2)
    expect(await store.accounts.lastKey()).toEqual(bytes(0xff, 0xff))
    expect(await store.txIndex.lastKey()).toBeUndefined()
    expect(await store.pool.lastKey()).toBeUndefined()
  })

  it('round-trips every repository', async () => {
    const store = await openStore(await tempDir())
    const block = bytes(1, 2, 3, 4)
    const batch = store.batch()
    batch.put(store.meta, 'head', bytes(0, 0, 0, 5))
    batch.put(store.meta, 'lock', bytes(9))
    batch.put(store.blocks, 5, block)
    batch.put(store.blockHashIndex, hash(1), 2 ** 40 + 3)
    batch.put(store.txIndex, hash(2), { height: 5, index: 2 ** 32 - 1 })
    batch.put(store.accounts, bytes(0xaa), bytes(1))
    batch.put(store.state, bytes(0xbb), bytes(2))
    batch.put(store.pool, bytes(0xcc), bytes(3))
    expect(batch.size).toBe(8)
    await batch.write()

    expect(await store.meta.get('head')).toEqual(bytes(0, 0, 0, 5))
    expect(await store.meta.get('lock')).toEqual(bytes(9))
    expect(await store.meta.get('nothing')).toBeUndefined()
    const got = await store.blocks.get(5)
    expect(got).toEqual(block)
    expect(got?.constructor).toBe(Uint8Array) // plain views, not LevelDB's Buffers
    expect(await store.blocks.get(6)).toBeUndefined()
    expect(await store.blockHashIndex.get(hash(1))).toBe(2 ** 40 + 3)
    expect(await store.txIndex.get(hash(2))).toEqual({ height: 5, index: 2 ** 32 - 1 })
    expect(await store.accounts.get(bytes(0xaa))).toEqual(bytes(1))
    expect(await store.state.get(bytes(0xbb))).toEqual(bytes(2))
    expect(await store.pool.get(bytes(0xcc))).toEqual(bytes(3))
    expect(await store.pool.has(bytes(0xcc))).toBe(true)
    expect(await store.pool.has(bytes(0xcd))).toBe(false)
    expect(await store.blocks.getMany([6, 5])).toEqual([undefined, block])

    await store.batch().del(store.pool, bytes(0xcc)).put(store.blocks, 6, bytes(6)).write()
    expect(await store.pool.has(bytes(0xcc))).toBe(false)
    expect(await store.blocks.get(6)).toEqual(bytes(6))
  })

  it('rejects hashes of the wrong length and tx indexes beyond uint32 when the batch is built', async () => {
    const store = await openStore(await tempDir())
    const batch = store.batch()
    expect(() => batch.put(store.blockHashIndex, new Uint8Array(31), 1)).toThrow(RangeError)
    expect(() => batch.put(store.txIndex, hash(1), { height: 1, index: 2 ** 32 })).toThrow(
      RangeError,
    )
    expect(() => batch.put(store.blocks, -1, bytes(1))).toThrow(RangeError)
    expect(batch.size).toBe(0)
  })

  describe('a store batch that fails writes nothing', () => {
    it('when the third put fails to encode its value', async () => {
      const dir = await tempDir()
      const store = await openStore(dir)
      const levelBatch = vi.spyOn(ClassicLevel.prototype, 'batch')

      const batch = store.batch()
      batch.put(store.blocks, 1, bytes(1))
      batch.put(store.blockHashIndex, hash(1), 1)
      // index -1 is not a uint32: txLocationCodec throws while encoding the value.
      expect(() => batch.put(store.txIndex, hash(3), { height: 1, index: -1 })).toThrow(RangeError)
      expect(batch.size).toBe(2)
      // A half-built batch refuses to write even if the caller carries on.
      await expect(batch.write()).rejects.toMatchObject({ code: 'BATCH_INCOMPLETE' })
      expect(levelBatch).not.toHaveBeenCalled()

      expect(await store.blocks.get(1)).toBeUndefined()
      expect(await store.blockHashIndex.get(hash(1))).toBeUndefined()
      await store.close()
      const reopened = await openStore(dir)
      expect(await collect(reopened.blocks.entries())).toEqual([])
      expect(await collect(reopened.blockHashIndex.entries())).toEqual([])
    })

    it('when LevelDB rejects the batch, and the database works after reopening', async () => {
      const dir = await tempDir()
      const store = await openStore(dir)
      const batch = store.batch()
      batch.put(store.blocks, 1, bytes(1))
      batch.put(store.accounts, bytes(0xaa), bytes(2))
      await store.close()

      const err = await batch.write().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(StoreError)
      expect(err).toMatchObject({
        code: 'WRITE_FAILED',
        cause: { code: 'LEVEL_DATABASE_NOT_OPEN' },
      })
      await expect(batch.write()).rejects.toMatchObject({ code: 'BATCH_WRITTEN' })

      const reopened = await openStore(dir)
      expect(await reopened.blocks.get(1)).toBeUndefined()
      expect(await reopened.accounts.get(bytes(0xaa))).toBeUndefined()
      await reopened.batch().put(reopened.blocks, 1, bytes(1)).write()
      expect(await reopened.blocks.get(1)).toEqual(bytes(1))
    })
  })

  it('writes a batch once: a second write or a later put throws', async () => {
    const store = await openStore(await tempDir())
    const batch = store.batch().put(store.blocks, 1, bytes(1))
    await batch.write()
    await expect(batch.write()).rejects.toMatchObject({ code: 'BATCH_WRITTEN' })
    expect(() => batch.put(store.blocks, 2, bytes(2))).toThrow(StoreError)
    expect(await keysOf(store.blocks.entries())).toEqual([1])
  })

  it('writes with sync: true', async () => {
    const store = await openStore(await tempDir())
    // the store writes through LevelDB's chained batch: what its write() is asked for
    const writes: unknown[] = []
    const chained = ClassicLevel.prototype.batch
    const levelBatch = vi
      .spyOn(ClassicLevel.prototype, 'batch')
      // biome-ignore lint/suspicious/noExplicitAny: wraps an overloaded method as it is
      .mockImplementation(function (this: ClassicLevel, ...args: any[]): any {
        const batch = (chained as (...a: unknown[]) => ReturnType<ClassicLevel['batch']>).apply(
          this,
          args,
        )
        const write = batch.write.bind(batch) as (options?: object) => Promise<void>
        batch.write = ((options?: object) => {
          writes.push(options)
          return write(options)
        }) as typeof batch.write
        return batch
      })
    await store.batch().put(store.meta, 'head', bytes(1)).write()
    expect(levelBatch).toHaveBeenCalledTimes(1)
    expect(writes).toEqual([{ sync: true }])
    expect(await store.meta.get('head')).toEqual(bytes(1))
  })

  it('keeps its data across close and reopen', async () => {
    const dir = join(await tempDir(), 'home', 'data') // created recursively
    const first = await Store.open(dir)
    await first
      .batch()
      .put(first.blocks, 1, bytes(1))
      .put(first.blocks, 300, bytes(3))
      .put(first.blockHashIndex, hash(7), 300)
      .put(first.txIndex, hash(8), { height: 300, index: 4 })
      .put(first.meta, 'head', heightKey(300))
      .write()
    await first.close()

    const second = await openStore(dir)
    expect(second.location).toBe(dir)
    expect(await keysOf(second.blocks.entries())).toEqual([1, 300])
    expect(await second.blocks.lastKey()).toBe(300)
    expect(await second.blockHashIndex.get(hash(7))).toBe(300)
    expect(await second.txIndex.get(hash(8))).toEqual({ height: 300, index: 4 })
    const head = await second.meta.get('head')
    expect(head && heightFromKey(head)).toBe(300)
  })

  it('refuses to open a directory another store holds, with StoreError LOCKED', async () => {
    const dir = await tempDir()
    const first = await Store.open(dir)
    cleanups.push(() => first.close())

    const err = await Store.open(dir).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StoreError)
    expect(err).toMatchObject({ code: 'LOCKED' })
    expect((err as Error).message).toBe(`${dir} is in use by another bftchain process`)

    await first.close()
    const second = await openStore(dir)
    expect(await second.blocks.lastKey()).toBeUndefined()
  })

  it('names the path in OPEN_FAILED when the directory cannot be made', async () => {
    const file = join(await tempDir(), 'not-a-dir')
    await writeFile(file, 'x')
    const dir = join(file, 'data')
    const err = await Store.open(dir).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StoreError)
    expect(err).toMatchObject({ code: 'OPEN_FAILED' })
    expect((err as Error).message).toContain(dir)
  })
})
