/** The environment our launchers give a node process (src/cli/node-process-env.ts). */
import { describe, expect, it } from 'vitest'
import { NODE_MALLOC_ARENA_MAX, nodeProcessEnv } from '../../src/cli/node-process-env.js'

describe('nodeProcessEnv', () => {
  it("holds glibc's malloc to two arenas, keeping the rest of the caller's environment", () => {
    const env = nodeProcessEnv({ PATH: '/bin', HOME: '/home/a' })
    expect(env).toEqual({ PATH: '/bin', HOME: '/home/a', MALLOC_ARENA_MAX: NODE_MALLOC_ARENA_MAX })
    expect(NODE_MALLOC_ARENA_MAX).toBe('2')
  })

  it('leaves a value the caller chose, and does not change the environment it was given', () => {
    const base = { PATH: '/bin', MALLOC_ARENA_MAX: '8' }
    expect(nodeProcessEnv(base)).toEqual({ PATH: '/bin', MALLOC_ARENA_MAX: '8' })
    const bare: NodeJS.ProcessEnv = { PATH: '/bin' }
    nodeProcessEnv(bare)
    expect(bare).toEqual({ PATH: '/bin' })
  })
})
