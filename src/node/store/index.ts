// The node's storage: one LevelDB, typed repositories, atomic batches.

export { Bucket } from './buckets.js'
export { StoreError, type StoreErrorCode } from './errors.js'
export {
  bucketKey,
  bytesCodec,
  type Codec,
  fixedBytesCodec,
  HEIGHT_BYTES,
  heightCodec,
  heightFromKey,
  heightKey,
  type TxLocation,
  txLocationCodec,
  utf8Codec,
} from './keys.js'
export { type RangeOptions, Repository } from './repository.js'
export { Store } from './store.js'
export { WriteBatch } from './write-batch.js'
