// @ai-platform/sdk: the platform API and its OAuth flow, for Node.js ≥ 20 (no runtime dependencies).
export { AIClient, APIPromise } from './client.js';
export { OAuthClient } from './oauth.js';
export {
  APIError,
  BadRequestError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  RateLimitError,
  InternalServerError,
  APIConnectionError,
  APIConnectionTimeoutError,
  OAuthError,
} from './errors.js';
export { VERSION } from './version.js';
export { AIClient as default } from './client.js';
