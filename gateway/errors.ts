/**
 * Expected failures are typed errors with stable codes (fastify `FST_ERR_*` style), mapped to an
 * HTTP status and to the device `rej` topic. Bad options throw at construction (`assertX`).
 */
export const ERRORS = {
  SGW_ERR_CONFIG: 500,
  SGW_ERR_BAD_JSON: 400,
  SGW_ERR_SCHEMA: 400,
  SGW_ERR_UNKNOWN_TYPE: 400,
  SGW_ERR_TOPIC: 400,
  SGW_ERR_NOT_AUTHORIZED: 403,
  SGW_ERR_UNAUTHENTICATED: 401,
  SGW_ERR_RATE_LIMITED: 429,
  SGW_ERR_NOT_FOUND: 404,
  SGW_ERR_CONFLICT: 409,
  SGW_ERR_STORAGE: 503,
  /** A device or bridge wrote a record type only the gateway writes (protocol/gatewayRecords.ts). */
  SGW_ERR_GATEWAY_RECORD: 403,
} as const;
export type ErrorCode = keyof typeof ERRORS;

export class SgwError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'SgwError';
    this.code = code;
    this.statusCode = ERRORS[code];
  }
}

/** Throws while things are being built (pino `assertX`): a message that names the option. */
export function assertOption(cond: unknown, option: string, expected: string): asserts cond {
  if (!cond) throw new SgwError('SGW_ERR_CONFIG', `${option}: ${expected}`);
}
