// Types of @ai-platform/sdk.

export declare const VERSION: string;

export interface ClientOptions {
  /** An API key from the dashboard. Defaults to the AI_PLATFORM_API_KEY environment variable. */
  apiKey?: string;
  /** An OAuth access token, for an app calling the API for a user (instead of an API key). */
  accessToken?: string;
  /** Tokens from OAuthClient.exchangeCode: refreshed by `oauth` before they expire and once after a 401. */
  tokens?: TokenSet;
  oauth?: OAuthClient;
  /** Called with the new tokens after each refresh (the refresh token rotates: store the new one). */
  onTokens?: (tokens: TokenSet) => void | Promise<void>;
  /** Defaults to AI_PLATFORM_BASE_URL, then http://localhost:5000. */
  baseURL?: string;
  /** Retries of a 429, a 5xx or a connection failure. Default 2. */
  maxRetries?: number;
  /** Milliseconds before a request is given up (then retried). Default 60 000. */
  timeout?: number;
  fetch?: typeof globalThis.fetch;
  /** Allows an API key in a browser, where anyone who opens the page can read it. */
  dangerouslyAllowBrowser?: boolean;
}

export interface RateLimitInfo {
  limit?: number;
  remaining?: number;
  /** Seconds until the window resets. */
  reset?: number;
}

export interface ResponseInfo {
  status: number;
  headers: Headers;
  requestId?: string;
  rateLimit: RateLimitInfo;
}

export type WithResponse<T> = T & { readonly _response: ResponseInfo };

export declare class APIPromise<T> extends Promise<WithResponse<T>> {
  withResponse(): Promise<{ data: WithResponse<T>; response: Response }>;
}

export interface Model {
  id: string;
  object: 'model';
  /** Unix seconds. */
  created: number;
  owned_by: string;
}

export interface ModelList {
  object: 'list';
  data: Model[];
}

export interface UserProfile {
  id: string;
  email: string | null;
  name: string | null;
}

export declare class AIClient {
  constructor(options?: ClientOptions);
  readonly baseURL: string;
  readonly maxRetries: number;
  readonly timeout: number;
  readonly models: { list(): APIPromise<ModelList> };
  readonly user: { profile(): APIPromise<UserProfile> };
  get<T = unknown>(path: string): APIPromise<T>;
}
export default AIClient;

export interface OAuthClientOptions {
  /** The authorization server, e.g. https://auth.example.com/ */
  issuer: string;
  clientId: string;
  /** For a confidential app (sent with HTTP Basic); leave out for a public one. */
  clientSecret?: string;
  redirectUri: string;
  fetch?: typeof globalThis.fetch;
}

export interface TokenSet {
  access_token: string;
  token_type: string;
  expires_in?: number;
  /** Unix seconds, computed from expires_in when the tokens arrived. */
  expires_at?: number;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
}

export declare class OAuthClient {
  constructor(options: OAuthClientOptions);
  readonly issuer: string;
  readonly clientId: string;
  readonly redirectUri: string;
  metadata(): Promise<Record<string, unknown>>;
  authorizationUrl(options?: { scope?: string | string[]; state?: string; prompt?: string }): Promise<{
    url: string;
    state: string;
    codeVerifier: string;
  }>;
  exchangeCode(options: { callbackUrl: string | URL; state: string; codeVerifier: string }): Promise<TokenSet>;
  refresh(refreshToken: string): Promise<TokenSet>;
}

export declare class APIError extends Error {
  readonly status: number | undefined;
  /** The error body's type (invalid_token, insufficient_scope, rate_limit_exceeded, ...) or the OAuth error code. */
  readonly type: string | undefined;
  readonly headers: Headers | undefined;
  readonly requestId: string | undefined;
}
export declare class BadRequestError extends APIError {}
export declare class AuthenticationError extends APIError {}
export declare class PermissionDeniedError extends APIError {}
export declare class NotFoundError extends APIError {}
export declare class ConflictError extends APIError {}
export declare class RateLimitError extends APIError {
  /** Seconds to wait, from Retry-After. */
  readonly retryAfter: number | undefined;
}
export declare class InternalServerError extends APIError {}
export declare class APIConnectionError extends APIError {}
export declare class APIConnectionTimeoutError extends APIConnectionError {}
export declare class OAuthError extends APIError {}
