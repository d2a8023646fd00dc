/** Errors of the direct request/response protocols. */
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
