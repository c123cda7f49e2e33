import { APIConnectionError, APIError, OAuthError } from './errors.js';

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * The OAuth 2.0 authorization-code flow with PKCE for an app acting for its users: the URL to send the user to, the
 * exchange of the code that comes back, and refreshes. Endpoints come from the issuer's discovery document.
 */
export class OAuthClient {
  #clientSecret;
  #fetch;
  #metadata;

  /**
   * @param {import('../index').OAuthClientOptions} options
   */
  constructor({ issuer, clientId, clientSecret, redirectUri, fetch: fetchImplementation = globalThis.fetch }) {
    if (!issuer) throw new Error('issuer is required (the authorization server, e.g. https://auth.example.com/).');
    if (!clientId) throw new Error('clientId is required.');
    if (!redirectUri) throw new Error('redirectUri is required.');
    this.issuer = issuer.endsWith('/') ? issuer : `${issuer}/`;
    this.clientId = clientId;
    this.redirectUri = redirectUri;
    this.#clientSecret = clientSecret;
    this.#fetch = fetchImplementation;
  }

  /** The discovery document (`/.well-known/openid-configuration`), fetched once. */
  async metadata() {
    this.#metadata ??= (async () => {
      const response = await this.#call(new URL('.well-known/openid-configuration', this.issuer));
      const metadata = await response.json();
      if (!response.ok) throw APIError.generate(response.status, metadata, response.headers);
      // RFC 8414 §3.3: the document must name the issuer it was fetched from.
      if (metadata.issuer !== this.issuer && metadata.issuer !== this.issuer.slice(0, -1)) {
        throw new OAuthError(undefined, 'invalid_issuer', `Discovery names issuer ${metadata.issuer}, not ${this.issuer}.`);
      }
      return metadata;
    })().catch((error) => {
      this.#metadata = undefined;
      throw error;
    });
    return this.#metadata;
  }

  /**
   * Where to send the user: `{ url, state, codeVerifier }`. Keep `state` and `codeVerifier` (in the user's session)
   * for {@link exchangeCode}.
   * @param {{ scope?: string | string[], state?: string, prompt?: string }} [options]
   */
  async authorizationUrl({ scope = 'openid', state = randomString(16), prompt } = {}) {
    const metadata = await this.metadata();
    const codeVerifier = randomString(32);
    const url = new URL(metadata.authorization_endpoint);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', this.clientId);
    url.searchParams.set('redirect_uri', this.redirectUri);
    url.searchParams.set('scope', Array.isArray(scope) ? scope.join(' ') : scope);
    url.searchParams.set('state', state);
    url.searchParams.set('code_challenge', await challenge(codeVerifier));
    url.searchParams.set('code_challenge_method', 'S256');
    if (prompt) url.searchParams.set('prompt', prompt);
    return { url: url.toString(), state, codeVerifier };
  }

  /**
   * Exchanges the code the redirect brought back. Checks `state` (CSRF) and `iss` (RFC 9207, mix-up attacks) first.
   * @param {{ callbackUrl: string | URL, state: string, codeVerifier: string }} options
   */
  async exchangeCode({ callbackUrl, state, codeVerifier }) {
    const metadata = await this.metadata();
    const parameters = new URL(callbackUrl, this.redirectUri).searchParams;
    if (parameters.get('state') !== state) {
      throw new OAuthError(undefined, 'invalid_state', 'The callback’s state is not the one this sign-in started with.');
    }
    const iss = parameters.get('iss');
    if (iss !== null ? iss !== metadata.issuer : metadata.authorization_response_iss_parameter_supported === true) {
      throw new OAuthError(undefined, 'invalid_issuer', 'The callback does not come from this issuer (RFC 9207).');
    }
    const error = parameters.get('error');
    if (error !== null) {
      throw new OAuthError(undefined, error, `${error}: ${parameters.get('error_description') ?? 'the authorization was refused'}`);
    }
    const code = parameters.get('code');
    if (!code) throw new OAuthError(undefined, 'invalid_request', 'The callback carries no code.');
    return this.#token({
      grant_type: 'authorization_code',
      code,
      code_verifier: codeVerifier,
      redirect_uri: this.redirectUri,
    });
  }

  /** New tokens for a refresh token; the server rotates it, so keep the `refresh_token` of the answer. */
  async refresh(refreshToken) {
    if (!refreshToken) throw new Error('refreshToken is required.');
    return this.#token({ grant_type: 'refresh_token', refresh_token: refreshToken });
  }

  async #token(form) {
    const metadata = await this.metadata();
    const body = new URLSearchParams(form);
    const headers = { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' };
    if (this.#clientSecret) {
      // client_secret_basic: both parts form-encoded first (RFC 6749 §2.3.1).
      const user = `${formEncode(this.clientId)}:${formEncode(this.#clientSecret)}`;
      headers.Authorization = `Basic ${btoa(user)}`;
    } else {
      body.set('client_id', this.clientId);
    }
    const response = await this.#call(metadata.token_endpoint, { method: 'POST', headers, body });
    const tokens = await response.json().catch(() => undefined);
    if (!response.ok) {
      throw APIError.generate(response.status, tokens, response.headers);
    }
    if (typeof tokens.expires_in === 'number') {
      tokens.expires_at = Math.floor(Date.now() / 1000) + tokens.expires_in;
    }
    return tokens;
  }

  async #call(url, init) {
    try {
      return await this.#fetch(url, init);
    } catch (error) {
      throw new APIConnectionError(`Connection error: ${error?.cause?.code ?? error?.message ?? 'no answer'}.`, error);
    }
  }

  toJSON() {
    return { issuer: this.issuer, clientId: this.clientId, redirectUri: this.redirectUri };
  }

  [INSPECT]() {
    return `OAuthClient ${JSON.stringify(this.toJSON())}`;
  }
}

const formEncode = (value) => encodeURIComponent(value).replace(/%20/g, '+');

function randomString(bytes) {
  return base64url(globalThis.crypto.getRandomValues(new Uint8Array(bytes)));
}

async function challenge(verifier) {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
