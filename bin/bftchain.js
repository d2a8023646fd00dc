#!/usr/bin/env node
// The `bftchain` command: runs the compiled CLI (npm install builds it).
import { existsSync } from 'node:fs'

const main = new URL('../dist/src/cli/main.js', import.meta.url)
if (!existsSync(main)) {
  process.stderr.write(
    'error: bftchain is not built; run `npm install` (or `npm run build`) first\n',
  )
  process.exit(1)
}
const [major] = process.versions.node.split('.').map(Number)
if (major < 22) {
  process.stderr.write(
    `error: bftchain needs Node >= 22, this is ${process.version}; run it through npx or npm scripts, which use the Node 22 that npm install brought\n`,
  )
  process.exit(1)
}
await import(main.href)
