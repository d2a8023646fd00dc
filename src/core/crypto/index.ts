export * from './hash.js'
export * from './keys.js'
export * from './peer-id.js'
export * from './signing.js'
