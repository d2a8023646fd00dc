// The key prefix of every repository in the node's one LevelDB (DESIGN §9).

/**
 * First byte of every key, naming the repository it belongs to.
 * Values are never reused or renumbered, even after a bucket is retired:
 * a reused prefix would read old data as the new kind. Add new buckets at the end.
 */
export enum Bucket {
  meta = 0,
  blocks = 1,
  blockHashIndex = 2,
  txIndex = 3,
  accounts = 4,
  state = 5,
  pool = 6,
  receipts = 7,
  evidence = 8,
}
