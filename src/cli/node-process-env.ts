/**
 * The environment our launchers (the devnet, the benchmarks) start a node process with: the
 * caller's, with glibc's malloc held to MALLOC_ARENA_MAX = 2 arenas unless the caller set it.
 *
 * By default glibc gives each thread that allocates an arena of its own, up to eight per core, and
 * a node has several such threads: the main one, libuv's four (LevelDB's writes and reads) and
 * V8's helpers. Under load the native memory those arenas hold apart is about 15–20 MB per node
 * (docs/PERFORMANCE.md). glibc reads the variable when a process starts, so a launcher sets it for
 * the child; to run `bftchain start` yourself, set it in its environment (docs/OPERATIONS.md).
 * Elsewhere than glibc it means nothing and does no harm.
 */
export const NODE_MALLOC_ARENA_MAX = '2'

export function nodeProcessEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (base.MALLOC_ARENA_MAX != null) return base
  return { ...base, MALLOC_ARENA_MAX: NODE_MALLOC_ARENA_MAX }
}
