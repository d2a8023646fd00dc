/**
 * Validation errors carry their verdict (Lodestar gossipValidation.ts): one
 * adapter maps them to gossipsub's result, and penalties follow from them.
 */
export enum GossipAction {
  /** not forwarded, no penalty: duplicates, stale rounds, not for us */
  IGNORE = 'ignore',
  /** not forwarded, the sender's score drops: malformed, badly signed, forged */
  REJECT = 'reject',
}

export class GossipValidationError extends Error {
  override readonly name = 'GossipValidationError'
  constructor(
    readonly action: GossipAction,
    readonly code: string,
    detail?: string,
  ) {
    super(detail ? `${code}: ${detail}` : code)
  }
}

export type RequestErrorCode =
  /** the peer could not be reached or does not speak the protocol */
  | 'DIAL_FAILED'
  /** no complete response before the deadline */
  | 'TIMEOUT'
  /** the response did not decode */
  | 'BAD_RESPONSE'
  /** the stream broke */
  | 'STREAM_ERROR'

export class RequestError extends Error {
  override readonly name = 'RequestError'
  constructor(
    readonly code: RequestErrorCode,
    readonly protocol: string,
    detail: string,
  ) {
    super(`${protocol}: ${code}: ${detail}`)
  }
}
