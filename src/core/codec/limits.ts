/**
 * Size limits of the wire format. A decoder refuses anything larger before
 * reading it, and repeated fields are bounded while decoding, so a peer can
 * never make a node allocate more than a small multiple of these.
 */
export const MAX_VALIDATORS_ON_WIRE = 256
export const MAX_TX_DATA_BYTES = 32 * 1024
export const MAX_TX_BYTES = MAX_TX_DATA_BYTES + 2 * 1024
export const MAX_ACCOUNT_DATA_BYTES = 4 * 1024
export const MAX_ACCOUNT_BYTES = MAX_ACCOUNT_DATA_BYTES + 4 * 1024
export const MAX_PUBLIC_KEY_BYTES = 600 // RSA-4096 SPKI DER (550)
export const MAX_SIGNATURE_BYTES = 512 // RSA-4096
export const MAX_BLOCK_TXS = 20_000
export const MAX_BLOCK_ACCOUNTS = 1_000
export const MAX_BLOCK_BYTES = 8 * 1024 * 1024
export const MAX_CERTIFICATE_BYTES = MAX_VALIDATORS_ON_WIRE * 120
export const MAX_GOSSIP_BYTES = MAX_BLOCK_BYTES + 64 * 1024
export const MAX_VOTE_BYTES = 512
/** Txs in one tx batch (one three-phase round), at most. */
export const MAX_BATCH_TXS = 2_048
/** Bytes of one TxBatch on the wire, at most (a batch closes before it would pass it). */
export const MAX_TX_BATCH_BYTES = 4 * 1024 * 1024
/** One batch vote: its rejected indexes and reasons, at most one of each per tx. */
export const MAX_BATCH_VOTE_BYTES = 512 + MAX_BATCH_TXS * 8
/** Votes one vote-protocol request may carry. */
export const MAX_VOTE_BATCH = 4_096
/** Batch votes one vote-protocol request may carry. */
export const MAX_BATCH_VOTES_PER_REQUEST = 256
export const MAX_STATUS_PEERS = 32
export const MAX_PEER_ADDRS = 8
export const MAX_ADDR_BYTES = 256
/** a libp2p signed peer record: its addresses, the key and the signature */
export const MAX_PEER_RECORD_BYTES = 2 * 1024
export const MAX_STATUS_BYTES = 96 * 1024
/** Blocks one history request may ask for. */
export const MAX_HISTORY_BLOCKS = 256
export const MAX_HISTORY_RESPONSE_BYTES = 64 * 1024 * 1024
export const MAX_CHAIN_ID_BYTES = 64

/** Committed txs kept under one key of the pool bucket (PoolTxs), at most. */
export const MAX_POOL_RECORD_TXS = 1_024
/** Bytes of one PoolTxs record, at most: MAX_POOL_RECORD_TXS small txs, or a few large ones. */
export const MAX_POOL_RECORD_BYTES = 4 * 1024 * 1024
