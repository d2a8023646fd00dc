// Sampling allocation profile of a node process, garbage included: what a process allocates, not
// only what it keeps (V8's sampling heap profiler, through node:inspector). Load it into each
// node of a bench run:
//
//   BENCH_NODE_FLAGS="--import ./scripts/heap-sample.mjs" npm run bench:tps -- --rate 2000 --seconds 20
//
// Each process writes HEAP_SAMPLE_DIR (default: the system's temp dir)/<pid>.heapprofile when it
// exits; open it in Chrome DevTools (Memory tab, "Load") or read its JSON (head: a tree of call
// frames, each with the bytes sampled as allocated there, selfSize).
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const session = new Session()
session.connect()
session.post('HeapProfiler.enable')
session.post('HeapProfiler.startSampling', {
  samplingInterval: 16_384,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
})
let written = false
function write() {
  if (written) return
  written = true
  // a session on the process's own thread answers synchronously, so this works in 'exit' too
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (err) return
    const file = join(process.env.HEAP_SAMPLE_DIR ?? tmpdir(), `${process.pid}.heapprofile`)
    writeFileSync(file, JSON.stringify(result.profile))
  })
}
process.on('exit', write)
