/** The shape every byte codec returns (pure, never throws on wire input): events, the unconsumed tail, counted errors. */

export type DecodeErrorCode =
  /** Bytes before a start byte, or a line/frame that is not part of the protocol. */
  | 'GARBAGE'
  /** A frame with the right framing whose check value is wrong. */
  | 'BAD_CHECKSUM'
  /** A frame whose check value is right (or that has none) but whose content is malformed. */
  | 'BAD_FRAME'
  /** A frame that grew past the protocol's maximum without ending. */
  | 'OVERLONG';

export interface DecodeError {
  code: DecodeErrorCode;
  /** How many input bytes this error consumed. */
  bytes: number;
  detail?: string;
}

export interface DecodeResult<E> {
  events: E[];
  /** Bytes that may start a frame not yet complete: prepend them to the next chunk. */
  rest: Buffer;
  errors: DecodeError[];
}
