// Errors the SDK throws: one class per status family, all extending APIError, as openai-node and the Anthropic SDK do.

/** An answer from the API that is not a success, or no answer at all (the subclasses say which). */
export class APIError extends Error {
  /**
   * @param {number | undefined} status
   * @param {string | undefined} type the error body's `type` (`invalid_token`, `rate_limit_exceeded`, ...) or the
   *   OAuth `error` code
   * @param {string} message
   * @param {Headers | undefined} headers
   */
  constructor(status, type, message, headers) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.type = type;
    this.headers = headers;
    this.requestId = headers?.get('x-request-id') ?? undefined;
  }

  /** The class for an answer with this status. */
  static generate(status, body, headers) {
    const error = body?.error;
    // The platform API's shape is {"error":{"type","message"}}; OAuth's is {"error","error_description"}.
    const type = typeof error === 'object' && error !== null ? error.type : typeof error === 'string' ? error : undefined;
    const detail =
      (typeof error === 'object' && error !== null ? error.message : body?.error_description) ?? `status ${status}`;
    const message = `${status} ${type ?? 'error'}: ${detail}`;
    if (status === 400) return new BadRequestError(status, type, message, headers);
    if (status === 401) return new AuthenticationError(status, type, message, headers);
    if (status === 403) return new PermissionDeniedError(status, type, message, headers);
    if (status === 404) return new NotFoundError(status, type, message, headers);
    if (status === 409) return new ConflictError(status, type, message, headers);
    if (status === 429) return new RateLimitError(status, type, message, headers);
    if (status >= 500) return new InternalServerError(status, type, message, headers);
    return new APIError(status, type, message, headers);
  }
}

export class BadRequestError extends APIError {}
export class AuthenticationError extends APIError {}
export class PermissionDeniedError extends APIError {}
export class NotFoundError extends APIError {}
export class ConflictError extends APIError {}
export class InternalServerError extends APIError {}

export class RateLimitError extends APIError {
  constructor(status, type, message, headers) {
    super(status, type, message, headers);
    /** Seconds to wait before the next call, from `Retry-After` (undefined when the server did not say). */
    this.retryAfter = retryAfterSeconds(headers);
  }
}

/** The request got no answer: the connection failed or was dropped. */
export class APIConnectionError extends APIError {
  constructor(message = 'Connection error.', cause = undefined) {
    super(undefined, undefined, message, undefined);
    if (cause !== undefined) this.cause = cause;
  }
}

/** The request got no answer within the client's `timeout`. */
export class APIConnectionTimeoutError extends APIConnectionError {
  constructor(message = 'Request timed out.') {
    super(message);
  }
}

/** An OAuth exchange went wrong on the app's side: a callback whose `state` or `iss` does not match, an error answer. */
export class OAuthError extends APIError {}

/**
 * `Retry-After` in seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3), with `retry-after-ms` first when given.
 * @param {Headers | undefined} headers
 * @returns {number | undefined}
 */
export function retryAfterSeconds(headers) {
  const milliseconds = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(milliseconds) && milliseconds >= 0) return milliseconds / 1000;
  const value = headers?.get('retry-after');
  if (value == null) return undefined;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}
