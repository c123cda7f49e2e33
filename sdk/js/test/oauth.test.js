// The OAuth helper through a real sign-in and consent on the real AuthServer, and AIClient with the tokens it gets.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AIClient, OAuthClient, OAuthError } from '@ai-platform/sdk';
import { Browser, startServer } from './server.js';

const redirectUri = 'http://127.0.0.1:8976/callback';
let server;
let browser;
let app;
let email;

before(async () => {
  server = await startServer();
  browser = new Browser(server.url);
  email = `sdk-oauth-${Date.now()}@example.com`;
  await browser.signUp(email, 'correct horse battery staple');
  app = await server.cli(
    'clients', 'create', '--name', 'SDK test app', '--redirect-uri', redirectUri,
    '--scope', 'openid', '--scope', 'profile', '--scope', 'read', '--scope', 'offline_access',
  );
});

after(async () => {
  await server?.close();
});

function oauthClient() {
  return new OAuthClient({ issuer: server.url, clientId: app.client_id, clientSecret: app.client_secret, redirectUri });
}

/** The person's side: opens the URL, accepts on the consent page; returns where the server sends the browser back. */
async function consent(url) {
  const response = await browser.request(url);
  assert.equal(response.status, 200, 'the consent page');
  const page = await response.text();
  assert.match(page, /SDK test app/);
  const accepted = await browser.submit(page, '/oauth/authorize', { 'submit.Accept': 'yes' });
  assert.equal(accepted.status, 302);
  return accepted.headers.get('location');
}

async function signInFlow(oauth = oauthClient()) {
  const { url, state, codeVerifier } = await oauth.authorizationUrl({ scope: 'openid profile read offline_access', prompt: 'consent' });
  const callbackUrl = await consent(url);
  return { oauth, callbackUrl, state, codeVerifier };
}

describe('OAuthClient', () => {
  test('authorizationUrl asks for a code with PKCE S256 at the discovered endpoint', async () => {
    const { url, state, codeVerifier } = await oauthClient().authorizationUrl({ scope: ['openid', 'read'] });
    const parameters = new URL(url).searchParams;
    assert.ok(url.startsWith(`${server.url}/oauth/authorize?`));
    assert.equal(parameters.get('response_type'), 'code');
    assert.equal(parameters.get('client_id'), app.client_id);
    assert.equal(parameters.get('redirect_uri'), redirectUri);
    assert.equal(parameters.get('scope'), 'openid read');
    assert.equal(parameters.get('state'), state);
    assert.equal(parameters.get('code_challenge_method'), 'S256');
    assert.match(codeVerifier, /^[A-Za-z0-9_-]{43,128}$/);
    assert.notEqual(parameters.get('code_challenge'), codeVerifier);
  });

  test('a real sign-in and consent: the code is exchanged, and the token calls the API for the person', async () => {
    const { oauth, callbackUrl, state, codeVerifier } = await signInFlow();
    assert.equal(new URL(callbackUrl).searchParams.get('iss'), `${server.url}/`);
    const tokens = await oauth.exchangeCode({ callbackUrl, state, codeVerifier });
    assert.equal(tokens.token_type, 'Bearer');
    assert.ok(tokens.access_token && tokens.refresh_token && tokens.id_token);
    assert.ok(tokens.expires_at > Date.now() / 1000);

    const client = new AIClient({ accessToken: tokens.access_token, baseURL: server.url });
    const profile = await client.user.profile();
    assert.equal(profile.email, email);
  });

  test('a callback with another state, or from another issuer, is refused before any exchange', async () => {
    const { oauth, callbackUrl, state, codeVerifier } = await signInFlow();
    await assert.rejects(oauth.exchangeCode({ callbackUrl, state: 'not-the-state', codeVerifier }), (error) =>
      error instanceof OAuthError && error.type === 'invalid_state');

    const forged = new URL(callbackUrl);
    forged.searchParams.set('iss', 'https://attacker.example/');
    await assert.rejects(oauth.exchangeCode({ callbackUrl: forged, state, codeVerifier }), (error) =>
      error instanceof OAuthError && error.type === 'invalid_issuer');

    const missing = new URL(callbackUrl);
    missing.searchParams.delete('iss');
    await assert.rejects(oauth.exchangeCode({ callbackUrl: missing, state, codeVerifier }), OAuthError);

    // The code itself was never spent: it still redeems.
    assert.ok((await oauth.exchangeCode({ callbackUrl, state, codeVerifier })).access_token);
  });

  test('a refused authorization and a wrong verifier come back as errors with their OAuth codes', async () => {
    const oauth = oauthClient();
    const { url, state, codeVerifier } = await oauth.authorizationUrl({ scope: 'openid read', prompt: 'consent' });
    const page = await (await browser.request(url)).text();
    const denied = await browser.submit(page, '/oauth/authorize', { 'submit.Deny': 'no' });
    await assert.rejects(oauth.exchangeCode({ callbackUrl: denied.headers.get('location'), state, codeVerifier }), (error) =>
      error instanceof OAuthError && error.type === 'access_denied');

    const flow = await signInFlow(oauth);
    await assert.rejects(oauth.exchangeCode({ ...flow, codeVerifier: 'x'.repeat(43) }), (error) =>
      error.status === 400 && error.type === 'invalid_grant');
  });

  test('refresh gives new tokens and rotates the refresh token', async () => {
    const { oauth, callbackUrl, state, codeVerifier } = await signInFlow();
    const tokens = await oauth.exchangeCode({ callbackUrl, state, codeVerifier });
    const refreshed = await oauth.refresh(tokens.refresh_token);
    assert.ok(refreshed.access_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  });
});

describe('AIClient with OAuth tokens', () => {
  test('tokens about to expire are refreshed before the call, and handed to onTokens', async () => {
    const { oauth, callbackUrl, state, codeVerifier } = await signInFlow();
    const tokens = await oauth.exchangeCode({ callbackUrl, state, codeVerifier });
    const handed = [];
    const client = new AIClient({
      oauth,
      tokens: { ...tokens, expires_at: Math.floor(Date.now() / 1000) },
      onTokens: (fresh) => handed.push(fresh),
      baseURL: server.url,
    });
    assert.equal((await client.user.profile()).email, email);
    assert.equal(handed.length, 1);
    assert.notEqual(handed[0].refresh_token, tokens.refresh_token);
  });

  test('a 401 is answered by one refresh and one retry', async () => {
    const { oauth, callbackUrl, state, codeVerifier } = await signInFlow();
    const tokens = await oauth.exchangeCode({ callbackUrl, state, codeVerifier });
    const handed = [];
    const client = new AIClient({
      oauth,
      tokens: { ...tokens, access_token: 'revoked-or-garbled' },
      onTokens: (fresh) => handed.push(fresh),
      baseURL: server.url,
    });
    assert.equal((await client.user.profile()).email, email);
    assert.equal(handed.length, 1);

    // A refresh token that does not work either ends in the refresh's error, not in a loop.
    const stuck = new AIClient({
      oauth,
      tokens: { ...tokens, access_token: 'revoked-or-garbled', refresh_token: 'garbled' },
      baseURL: server.url,
    });
    await assert.rejects(stuck.user.profile(), (error) => error.status === 400 && error.type === 'invalid_grant');
  });
});
