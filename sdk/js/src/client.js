import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  AuthenticationError,
  retryAfterSeconds,
} from './errors.js';
import { VERSION } from './version.js';

const DEFAULT_BASE_URL = 'http://localhost:5000';
const DEFAULT_TIMEOUT = 60_000;
const DEFAULT_MAX_RETRIES = 2;
const INITIAL_RETRY_DELAY = 0.5;
const MAX_RETRY_DELAY = 8;
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** The platform API (`/v1`): `new AIClient({ apiKey })`, or an access token, or OAuth tokens that refresh themselves. */
export class AIClient {
  // Private fields: never in JSON.stringify, util.inspect or an error message.
  #apiKey;
  #accessToken;
  #oauth;
  #tokens;
  #onTokens;
  #refreshing;
  #fetch;

  /**
   * @param {import('../index').ClientOptions} [options]
   */
  constructor(options = {}) {
    const {
      apiKey = env('AI_PLATFORM_API_KEY'),
      accessToken,
      oauth,
      tokens,
      onTokens,
      baseURL = env('AI_PLATFORM_BASE_URL') ?? DEFAULT_BASE_URL,
      maxRetries = DEFAULT_MAX_RETRIES,
      timeout = DEFAULT_TIMEOUT,
      fetch: fetchImplementation = globalThis.fetch,
      dangerouslyAllowBrowser = false,
    } = options;

    if (!apiKey && !accessToken && !tokens) {
      throw new Error(
        'No credential: pass { apiKey } or set the AI_PLATFORM_API_KEY environment variable ' +
          '(or pass { accessToken }, or { oauth, tokens } for an app acting for a user).',
      );
    }
    if (tokens && !oauth) {
      throw new Error('{ tokens } needs { oauth } (an OAuthClient) to refresh them.');
    }
    if (apiKey && !accessToken && !tokens && isBrowserLike() && !dangerouslyAllowBrowser) {
      throw new Error(
        'An API key must not be used in a browser: anyone who opens the page can read it. Call the API from your ' +
          'server, or pass { dangerouslyAllowBrowser: true } if you understand the risk.',
      );
    }
    if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new Error('maxRetries must be a whole number ≥ 0.');
    if (!(timeout > 0)) throw new Error('timeout must be a number of milliseconds > 0.');
    if (typeof fetchImplementation !== 'function') throw new Error('No fetch: use Node.js ≥ 20 or pass { fetch }.');

    this.#apiKey = accessToken || tokens ? undefined : apiKey;
    this.#accessToken = accessToken;
    this.#oauth = oauth;
    this.#tokens = tokens;
    this.#onTokens = onTokens;
    this.#fetch = fetchImplementation;
    this.baseURL = baseURL.replace(/\/+$/, '');
    this.maxRetries = maxRetries;
    this.timeout = timeout;

    this.models = new Models(this);
    this.user = new User(this);
  }

  /**
   * A GET on the platform API; the result is the JSON body, with the response's details on `_response`.
   * @param {string} path
   * @returns {APIPromise<any>}
   */
  get(path) {
    return APIPromise.from(this.#request('GET', path));
  }

  async #request(method, path) {
    let refreshedAfter401 = false;
    for (let attempt = 0; ; attempt++) {
      const authorization = await this.#authorization();
      let response;
      try {
        response = await this.#send(method, path, authorization);
      } catch (error) {
        if (attempt < this.maxRetries) {
          await sleep(backoff(attempt));
          continue;
        }
        throw error;
      }

      if (response.ok) {
        const body = await response.json();
        return { body, response };
      }

      const body = await response.json().catch(() => undefined);
      const error = APIError.generate(response.status, body, response.headers);
      // An access token that expired or was revoked early: refresh once and try again.
      if (error instanceof AuthenticationError && this.#tokens && !refreshedAfter401) {
        refreshedAfter401 = true;
        await this.#refresh();
        attempt--;
        continue;
      }
      if (shouldRetry(response.status) && attempt < this.maxRetries) {
        const wait = retryAfterSeconds(response.headers);
        // A wait the server names is honoured when reasonable (up to a minute), as openai-node does.
        await sleep(wait !== undefined && wait <= 60 ? wait : backoff(attempt));
        continue;
      }
      throw error;
    }
  }

  async #send(method, path, authorization) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeout);
    try {
      return await this.#fetch(`${this.baseURL}${path}`, {
        method,
        headers: { Accept: 'application/json', Authorization: authorization, 'User-Agent': `ai-platform-sdk-js/${VERSION}` },
        signal: controller.signal,
      });
    } catch (error) {
      if (controller.signal.aborted) throw new APIConnectionTimeoutError(`Request timed out after ${this.timeout} ms.`);
      // The cause is kept for debugging; it is fetch's own error, which never carries the request's headers.
      throw new APIConnectionError(`Connection error: ${error?.cause?.code ?? error?.message ?? 'no answer'}.`, error);
    } finally {
      clearTimeout(timer);
    }
  }

  async #authorization() {
    if (this.#apiKey) return `Bearer ${this.#apiKey}`;
    if (this.#accessToken) return `Bearer ${this.#accessToken}`;
    // Refreshed a little before expiry, so that a call never leaves with a token about to lapse.
    if (this.#tokens.expires_at !== undefined && this.#tokens.expires_at - 30 <= Date.now() / 1000) {
      await this.#refresh();
    }
    return `Bearer ${this.#tokens.access_token}`;
  }

  // One refresh at a time: concurrent calls wait for the same one (a refresh token is single-use).
  #refresh() {
    this.#refreshing ??= (async () => {
      try {
        if (!this.#tokens.refresh_token) {
          throw new AuthenticationError(401, 'invalid_token', 'The access token expired and there is no refresh token.');
        }
        const tokens = await this.#oauth.refresh(this.#tokens.refresh_token);
        this.#tokens = tokens;
        await this.#onTokens?.(tokens);
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  toJSON() {
    return { baseURL: this.baseURL, maxRetries: this.maxRetries, timeout: this.timeout };
  }

  [INSPECT]() {
    return `AIClient ${JSON.stringify(this.toJSON())}`;
  }
}

/** `client.models`: the models the platform serves. */
class Models {
  #client;
  constructor(client) {
    this.#client = client;
  }

  /** `GET /v1/models` → `{ object: 'list', data: [{ id, object, created, owned_by }] }`. */
  list() {
    return this.#client.get('/v1/models');
  }
}

/** `client.user`: the account the credential belongs to. */
class User {
  #client;
  constructor(client) {
    this.#client = client;
  }

  /** `GET /v1/user/profile` → `{ id, email, name }`. */
  profile() {
    return this.#client.get('/v1/user/profile');
  }
}

/**
 * A promise of a result that also gives the response: `await promise` is the body (with a non-enumerable
 * `_response`), `await promise.withResponse()` is `{ data, response }`, as in openai-node.
 */
export class APIPromise extends Promise {
  #raw;

  static from(raw) {
    const promise = new APIPromise((resolve, reject) =>
      raw.then(({ body, response }) => resolve(withResponseInfo(body, response)), reject),
    );
    promise.#raw = raw;
    return promise;
  }

  // Promise methods (then, catch, finally) give plain promises, not APIPromises.
  static get [Symbol.species]() {
    return Promise;
  }

  /** @returns {Promise<{ data: any, response: Response }>} */
  async withResponse() {
    const { body, response } = await this.#raw;
    return { data: withResponseInfo(body, response), response };
  }
}

function withResponseInfo(body, response) {
  if (body !== null && typeof body === 'object') {
    Object.defineProperty(body, '_response', { value: describe(response), enumerable: false, configurable: true });
  }
  return body;
}

/** What a caller needs from a response: the request id and the rate limit it used. */
function describe(response) {
  const number = (name) => {
    const value = response.headers.get(name);
    return value === null || Number.isNaN(Number(value)) ? undefined : Number(value);
  };
  return {
    status: response.status,
    headers: response.headers,
    requestId: response.headers.get('x-request-id') ?? undefined,
    rateLimit: {
      limit: number('x-ratelimit-limit'),
      remaining: number('x-ratelimit-remaining'),
      reset: number('x-ratelimit-reset'),
    },
  };
}

const shouldRetry = (status) => status === 429 || status >= 500;

/** Seconds before retry number `attempt + 1`: exponential, with up to a quarter off at random (jitter). */
const backoff = (attempt) => Math.min(INITIAL_RETRY_DELAY * 2 ** attempt, MAX_RETRY_DELAY) * (1 - Math.random() * 0.25);

const sleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

function env(name) {
  const value = globalThis.process?.env?.[name]?.trim();
  return value ? value : undefined;
}

// A page's script (or a web worker): not Node.js, Deno or Bun on a server.
function isBrowserLike() {
  return (
    (typeof window !== 'undefined' && typeof window.document !== 'undefined') ||
    (typeof globalThis.WorkerGlobalScope !== 'undefined' && globalThis.self instanceof globalThis.WorkerGlobalScope)
  );
}
