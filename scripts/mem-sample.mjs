// Where a node process's memory is, over time: every 250 ms one JSON line of process.memoryUsage()
// in MB (rss, heapTotal, heapUsed, external, arrayBuffers), and, whenever the RSS reaches a new
// peak, V8's heap spaces ([size, used] in MB) besides. Cheap enough to leave on in a bench run
// (no pause: it reads counters). Load it into each node of a bench run:
//
//   BENCH_NODE_FLAGS="--import ./scripts/mem-sample.mjs" npm run bench:tps -- --rate 4000 --seconds 60
//
// Each process appends to MEM_SAMPLE_DIR (default: the system's temp dir)/<pid>.mem.jsonl. What is
// neither heap nor external (rss − heapTotal − external) is native: the binary and its code,
// LevelDB, socket buffers, malloc's arenas (docs/PERFORMANCE.md, fifteenth session).
import { appendFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import v8 from 'node:v8'

const file = join(process.env.MEM_SAMPLE_DIR ?? tmpdir(), `${process.pid}.mem.jsonl`)
const MB = 2 ** 20
const t0 = Date.now()
let peak = 0
const timer = setInterval(() => {
  const m = process.memoryUsage()
  const line = {
    t: Date.now() - t0,
    rss: Math.round(m.rss / MB),
    heapTotal: Math.round(m.heapTotal / MB),
    heapUsed: Math.round(m.heapUsed / MB),
    external: Math.round(m.external / MB),
    arrayBuffers: Math.round(m.arrayBuffers / MB),
  }
  // a new peak, by a megabyte or more
  if (m.rss >= peak + MB) {
    peak = m.rss
    line.spaces = Object.fromEntries(
      v8
        .getHeapSpaceStatistics()
        .map((s) => [
          s.space_name,
          [Math.round(s.space_size / MB), Math.round(s.space_used_size / MB)],
        ]),
    )
  }
  appendFileSync(file, `${JSON.stringify(line)}\n`)
}, 250)
timer.unref()
