export type DecodeErrorCode =
  /** more bytes than the message's limit */
  | 'TOO_LARGE'
  /** not protobuf of this message, or a repeated field over its bound */
  | 'MALFORMED'
  /** decodes, but re-encodes differently (unknown fields, non-minimal encoding) */
  | 'NON_CANONICAL'
  /** decodes, but a field is missing or out of shape */
  | 'INVALID_FIELD'

/** Bytes from outside that are not a valid message. Never crashes the node: the sender is penalised. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError'
  constructor(
    readonly code: DecodeErrorCode,
    readonly messageName: string,
    detail: string,
  ) {
    super(`${messageName}: ${code}: ${detail}`)
  }
}
