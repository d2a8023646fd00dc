// Repository<K, V>: typed reads over one bucket of the database. Writes go through a WriteBatch.

import type { Bucket } from './buckets.js'
import type { Database } from './database.js'
import { bucketKey, type Codec, toView } from './keys.js'

/** Bounds are inclusive and in key order (numeric for heights); `limit` counts entries returned. */
export interface RangeOptions<K> {
  gte?: K
  lte?: K
  reverse?: boolean
  limit?: number
}

export class Repository<K, V> {
  constructor(
    readonly db: Database,
    readonly bucket: Bucket,
    readonly keyCodec: Codec<K>,
    readonly valueCodec: Codec<V>,
  ) {}

  /** The key as stored: `[bucket] ++ keyCodec.encode(key)`. */
  encodeKey(key: K): Uint8Array {
    return bucketKey(this.bucket, this.keyCodec.encode(key))
  }

  encodeValue(value: V): Uint8Array {
    const bytes = this.valueCodec.encode(value)
    if (!(bytes instanceof Uint8Array)) throw new TypeError('encoded value is not a Uint8Array')
    return bytes
  }

  async get(key: K): Promise<V | undefined> {
    const bytes = await this.db.get(this.encodeKey(key))
    return bytes === undefined ? undefined : this.valueCodec.decode(toView(bytes))
  }

  async has(key: K): Promise<boolean> {
    return this.db.has(this.encodeKey(key))
  }

  async getMany(keys: K[]): Promise<(V | undefined)[]> {
    const values = await this.db.getMany(keys.map((k) => this.encodeKey(k)))
    return values.map((bytes) =>
      bytes === undefined ? undefined : this.valueCodec.decode(toView(bytes)),
    )
  }

  /** Entries of this bucket only, in key order (reversed on request). */
  async *entries(options: RangeOptions<K> = {}): AsyncGenerator<[K, V]> {
    for await (const [key, value] of this.db.iterator(this.range(options))) {
      yield [this.decodeKey(key), this.valueCodec.decode(toView(value))]
    }
  }

  async *values(options: RangeOptions<K> = {}): AsyncGenerator<V> {
    for await (const value of this.db.values(this.range(options))) {
      yield this.valueCodec.decode(toView(value))
    }
  }

  /** The highest key in the bucket, or undefined when it is empty. */
  async lastKey(): Promise<K | undefined> {
    for await (const key of this.db.keys(this.range({ reverse: true, limit: 1 }))) {
      return this.decodeKey(key)
    }
    return undefined
  }

  private decodeKey(stored: Uint8Array): K {
    return this.keyCodec.decode(toView(stored).subarray(1))
  }

  /** LevelDB bounds that never leave the bucket: from `[bucket]` up to, not including, `[bucket + 1]`. */
  private range(options: RangeOptions<K>) {
    const lower =
      options.gte === undefined ? Uint8Array.of(this.bucket) : this.encodeKey(options.gte)
    const upper =
      options.lte === undefined
        ? { lt: Uint8Array.of(this.bucket + 1) }
        : { lte: this.encodeKey(options.lte) }
    return {
      gte: lower,
      ...upper,
      reverse: options.reverse ?? false,
      ...(options.limit === undefined ? {} : { limit: options.limit }),
    }
  }
}
