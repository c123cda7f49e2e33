// The SDK against the real AuthServer: the documentation's snippet, results, each error from a real answer, retries,
// the browser guard and the secret-hiding.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { inspect } from 'node:util';
import {
  AIClient,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  AuthenticationError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from '@ai-platform/sdk';
import { Browser, startServer } from './server.js';

let server;
let key;
let writeOnlyKey;
let email;

before(async () => {
  server = await startServer();
  const browser = new Browser(server.url);
  email = `sdk-${Date.now()}@example.com`;
  await browser.signUp(email, 'correct horse battery staple');
  key = await browser.createKey(['read']);
  writeOnlyKey = await browser.createKey(['write']);
});

after(async () => {
  await server?.close();
});

describe('the documentation', () => {
  test('its snippet runs verbatim, and the placeholder key is refused as invalid', async () => {
    // From the platform's documentation, as written:
    const client = new AIClient({
      apiKey: 'your-api-key-here'
    });
    assert.equal(client.baseURL, 'http://localhost:5000');

    const placeholder = new AIClient({ apiKey: 'your-api-key-here', baseURL: server.url });
    await assert.rejects(placeholder.models.list(), AuthenticationError);
  });

  test('models.list() gives the list, with the request id and the rate limit', async () => {
    const client = new AIClient({ apiKey: key, baseURL: server.url });
    const models = await client.models.list();
    assert.equal(models.object, 'list');
    assert.ok(models.data.length > 0);
    for (const model of models.data) {
      assert.deepEqual(Object.keys(model).sort(), ['created', 'id', 'object', 'owned_by']);
      assert.equal(model.object, 'model');
    }
    assert.match(models._response.requestId, /\S/);
    assert.equal(models._response.status, 200);
    assert.equal(models._response.rateLimit.limit, 100);
    assert.ok(models._response.rateLimit.remaining < 100);
    // The extra details stay off the JSON.
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(models))), ['object', 'data']);

    const { data, response } = await client.models.list().withResponse();
    assert.equal(data.object, 'list');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-request-id'), data._response.requestId);
  });

  test('user.profile() gives the key owner’s account', async () => {
    const client = new AIClient({ apiKey: key, baseURL: server.url });
    const profile = await client.user.profile();
    assert.equal(profile.email, email);
    assert.equal(profile.name, 'SDK Tester');
    assert.match(profile.id, /\S/);
  });

  test('the key and the address come from the environment', async () => {
    process.env.AI_PLATFORM_API_KEY = key;
    process.env.AI_PLATFORM_BASE_URL = server.url;
    try {
      const client = new AIClient();
      assert.equal((await client.models.list()).object, 'list');
    } finally {
      delete process.env.AI_PLATFORM_API_KEY;
      delete process.env.AI_PLATFORM_BASE_URL;
    }
  });

  test('no key and no token is a clear error at construction', () => {
    assert.throws(() => new AIClient(), /AI_PLATFORM_API_KEY/);
    assert.throws(() => new AIClient({ apiKey: '' }), /No credential/);
  });
});

describe('errors from real answers', () => {
  test('401: AuthenticationError, with the type, the status and the request id', async () => {
    const client = new AIClient({ apiKey: 'sk-not-a-real-key', baseURL: server.url, maxRetries: 0 });
    const error = await client.models.list().catch((e) => e);
    assert.ok(error instanceof AuthenticationError);
    assert.ok(error instanceof APIError);
    assert.equal(error.status, 401);
    assert.equal(error.type, 'invalid_token');
    assert.match(error.requestId, /\S/);
    assert.ok(error.headers.get('www-authenticate').startsWith('Bearer'));
  });

  test('403: PermissionDeniedError for a key without the scope', async () => {
    const client = new AIClient({ apiKey: writeOnlyKey, baseURL: server.url });
    const error = await client.models.list().catch((e) => e);
    assert.ok(error instanceof PermissionDeniedError);
    assert.equal(error.type, 'insufficient_scope');
  });

  test('404: NotFoundError', async () => {
    const client = new AIClient({ apiKey: key, baseURL: server.url });
    const error = await client.get('/v1/no-such-thing').catch((e) => e);
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.status, 404);
  });

  test('429: RateLimitError with retryAfter, from the real limiter', async () => {
    const browser = new Browser(server.url);
    const limited = `sdk-limited-${Date.now()}@example.com`;
    await browser.signUp(limited, 'correct horse battery staple');
    await server.cli('users', 'set-tier', '--email', limited, '--tier', 'enterprise', '--requests-per-minute', '2');
    const limitedKey = await browser.createKey(['read']);
    const client = new AIClient({ apiKey: limitedKey, baseURL: server.url, maxRetries: 0 });
    await client.models.list();
    await client.models.list();
    const error = await client.models.list().catch((e) => e);
    assert.ok(error instanceof RateLimitError, String(error));
    assert.equal(error.status, 429);
    assert.equal(error.type, 'rate_limit_exceeded');
    assert.ok(error.retryAfter > 0 && error.retryAfter <= 60, `retryAfter ${error.retryAfter}`);
  });

  test('no answer: APIConnectionError; too slow: APIConnectionTimeoutError', async () => {
    const closed = new AIClient({ apiKey: key, baseURL: 'http://127.0.0.1:9', maxRetries: 0 });
    await assert.rejects(closed.models.list(), APIConnectionError);

    const silent = await listen((request, response) => setTimeout(() => response.end('{}'), 2_000));
    try {
      const client = new AIClient({ apiKey: key, baseURL: silent.url, maxRetries: 0, timeout: 200 });
      await assert.rejects(client.models.list(), APIConnectionTimeoutError);
    } finally {
      await silent.close();
    }
  });
});

describe('retries', () => {
  test('a dropped connection is retried, and the retry reaches the server', async () => {
    let calls = 0;
    const proxy = await listen(async (request, response) => {
      calls++;
      if (calls === 1) {
        request.socket.destroy();
        return;
      }
      await forward(request, response);
    });
    try {
      const client = new AIClient({ apiKey: key, baseURL: proxy.url });
      const models = await client.models.list();
      assert.equal(models.object, 'list');
      assert.equal(calls, 2);
    } finally {
      await proxy.close();
    }
  });

  test('a 429 waits what Retry-After says before the retry', async () => {
    let first;
    let second;
    const proxy = await listen(async (request, response) => {
      if (first === undefined) {
        first = Date.now();
        response.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '1' });
        response.end(JSON.stringify({ error: { type: 'rate_limit_exceeded', message: 'slow down' } }));
        return;
      }
      second = Date.now();
      await forward(request, response);
    });
    try {
      const client = new AIClient({ apiKey: key, baseURL: proxy.url });
      assert.equal((await client.models.list()).object, 'list');
      assert.ok(second - first >= 1_000, `retried after ${second - first} ms`);
    } finally {
      await proxy.close();
    }
  });

  test('5xx is retried up to maxRetries, then InternalServerError', async () => {
    let calls = 0;
    const failing = await listen((request, response) => {
      calls++;
      response.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '0' });
      response.end(JSON.stringify({ error: { type: 'service_unavailable', message: 'down' } }));
    });
    try {
      const client = new AIClient({ apiKey: key, baseURL: failing.url, maxRetries: 2 });
      const error = await client.models.list().catch((e) => e);
      assert.ok(error instanceof InternalServerError);
      assert.equal(error.status, 503);
      assert.equal(calls, 3);
    } finally {
      await failing.close();
    }
  });

  test('400, 401, 403 and 404 are never retried', async () => {
    for (const status of [400, 401, 403, 404]) {
      let calls = 0;
      const refusing = await listen((request, response) => {
        calls++;
        response.writeHead(status, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify({ error: { type: 'no', message: 'no' } }));
      });
      try {
        const client = new AIClient({ apiKey: key, baseURL: refusing.url, maxRetries: 2 });
        await assert.rejects(client.models.list(), APIError);
        assert.equal(calls, 1, `status ${status}`);
      } finally {
        await refusing.close();
      }
    }
  });
});

describe('keys stay secret', () => {
  test('an API key is refused in a browser unless dangerouslyAllowBrowser', () => {
    globalThis.window = { document: {} };
    try {
      assert.throws(() => new AIClient({ apiKey: key, baseURL: server.url }), /browser/);
      assert.doesNotThrow(() => new AIClient({ apiKey: key, baseURL: server.url, dangerouslyAllowBrowser: true }));
      assert.doesNotThrow(() => new AIClient({ accessToken: 'token', baseURL: server.url }));
    } finally {
      delete globalThis.window;
    }
  });

  test('the key is in no JSON, inspection or error', async () => {
    const client = new AIClient({ apiKey: key, baseURL: server.url, maxRetries: 0 });
    assert.ok(!JSON.stringify(client).includes(key));
    assert.ok(!inspect(client, { showHidden: true, depth: Infinity }).includes(key));
    assert.ok(!String(client).includes(key));

    const revoked = new AIClient({ apiKey: `${key}x`, baseURL: server.url, maxRetries: 0 });
    const refused = await revoked.models.list().catch((e) => e);
    const offline = await new AIClient({ apiKey: key, baseURL: 'http://127.0.0.1:9', maxRetries: 0 }).models.list().catch((e) => e);
    for (const error of [refused, offline]) {
      const text = `${error.message} ${error.stack} ${inspect(error, { showHidden: true, depth: Infinity })} ${JSON.stringify(error)}`;
      assert.ok(!text.includes(key), `${error.name} shows the key`);
    }
  });
});

/** A local HTTP server for the cases the real one cannot be made to produce on demand (drops, slowness). */
async function listen(handler) {
  const http = createServer(handler);
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${http.address().port}`,
    close: () => new Promise((resolve) => http.close(resolve).closeAllConnections()),
  };
}

/** Passes a request on to the real server and its answer back. */
async function forward(request, response) {
  const answer = await fetch(new URL(request.url, server.url), {
    method: request.method,
    headers: { authorization: request.headers.authorization, accept: 'application/json' },
  });
  response.writeHead(answer.status, Object.fromEntries(answer.headers));
  response.end(Buffer.from(await answer.arrayBuffer()));
}
