/** JSON schemas of the API's answers (fastify serialises with them, so nothing else leaks out). */
const nullable = (type: string) => ({ type: [type, 'null'] })

export const statusSchema = {
  type: 'object',
  properties: {
    chainId: { type: 'string' },
    genesisHash: { type: 'string' },
    peerId: { type: 'string' },
    role: { type: 'string', enum: ['validator', 'observer'] },
    height: { type: 'integer' },
    headHash: { type: 'string' },
    round: nullable('integer'),
    leader: nullable('string'),
    mempool: {
      type: 'object',
      properties: {
        pending: { type: 'integer' },
        committed: { type: 'integer' },
        accounts: { type: 'integer' },
      },
      required: ['pending', 'committed'],
    },
    txRounds: {
      type: 'object',
      properties: {
        running: { type: 'integer' },
        waiting: { type: 'integer' },
        window: { type: 'integer' },
      },
      required: ['running', 'waiting', 'window'],
    },
    peers: { type: 'integer' },
    syncing: {
      type: ['object', 'null'],
      properties: {
        from: { type: 'integer' },
        to: { type: 'integer' },
        current: { type: 'integer' },
        blocksPerSec: { type: 'number' },
      },
    },
    listen: { type: 'array', items: { type: 'string' } },
  },
  required: ['chainId', 'peerId', 'role', 'height', 'headHash', 'mempool', 'txRounds', 'peers'],
} as const

export const peersSchema = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      peerId: { type: 'string' },
      addrs: { type: 'array', items: { type: 'string' } },
      direction: { type: 'string', enum: ['inbound', 'outbound'] },
      validator: { type: 'boolean' },
      height: nullable('integer'),
      headHash: nullable('string'),
      role: { type: ['string', 'null'], enum: ['validator', 'observer', null] },
      latencyMs: nullable('number'),
      score: { type: 'number' },
      topics: { type: 'array', items: { type: 'string' } },
    },
    required: [
      'peerId',
      'addrs',
      'direction',
      'validator',
      'height',
      'latencyMs',
      'score',
      'topics',
    ],
  },
} as const

export const validatorsSchema = {
  type: 'object',
  properties: {
    chainId: { type: 'string' },
    quorum: { type: 'integer' },
    faultTolerance: { type: 'integer' },
    validators: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          peerId: { type: 'string' },
          connected: { type: 'boolean' },
          self: { type: 'boolean' },
          lastSignedHeight: nullable('integer'),
          signedRecent: { type: 'integer' },
          recentWindow: { type: 'integer' },
          evidence: { type: 'integer' },
        },
        required: [
          'peerId',
          'connected',
          'self',
          'lastSignedHeight',
          'signedRecent',
          'recentWindow',
          'evidence',
        ],
      },
    },
  },
  required: ['chainId', 'quorum', 'faultTolerance', 'validators'],
} as const
