// A web app that signs people in with the platform and shows their profile: only the SDK and Node's http module.
// Run: AI_PLATFORM_CLIENT_ID=... AI_PLATFORM_CLIENT_SECRET=... node examples/oauth-app.js, then open http://127.0.0.1:3000
// (register the app with redirect URI http://127.0.0.1:3000/callback first).
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { AIClient, OAuthClient, OAuthError } from '@ai-platform/sdk';

const oauth = new OAuthClient({
  issuer: process.env.AI_PLATFORM_BASE_URL ?? 'http://localhost:5000',
  clientId: process.env.AI_PLATFORM_CLIENT_ID,
  clientSecret: process.env.AI_PLATFORM_CLIENT_SECRET,
  redirectUri: 'http://127.0.0.1:3000/callback',
});

// Sign-ins in progress and signed-in sessions, by a cookie the browser keeps (in memory: an example).
const pending = new Map();
const sessions = new Map();

createServer(async (request, response) => {
  const url = new URL(request.url, 'http://127.0.0.1:3000');
  const sid = /sid=([\w-]+)/.exec(request.headers.cookie ?? '')?.[1];
  try {
    if (url.pathname === '/login') {
      const { url: authorize, state, codeVerifier } = await oauth.authorizationUrl({ scope: 'openid profile read offline_access' });
      const id = randomUUID();
      pending.set(id, { state, codeVerifier });
      response.writeHead(302, { Location: authorize, 'Set-Cookie': `sid=${id}; HttpOnly; SameSite=Lax; Path=/` });
      return response.end();
    }
    if (url.pathname === '/callback' && pending.has(sid)) {
      const { state, codeVerifier } = pending.get(sid);
      pending.delete(sid);
      const tokens = await oauth.exchangeCode({ callbackUrl: url, state, codeVerifier });
      sessions.set(sid, tokens);
      response.writeHead(302, { Location: '/' });
      return response.end();
    }
    const tokens = sessions.get(sid);
    if (!tokens) {
      response.writeHead(200, { 'Content-Type': 'text/html' });
      return response.end('<a href="/login">Sign in with the platform</a>');
    }
    // Refreshes the access token when it expires; the rotated tokens are kept for the next request.
    const client = new AIClient({ oauth, tokens, onTokens: (fresh) => sessions.set(sid, fresh) });
    const profile = await client.user.profile();
    response.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    response.end(`Signed in as ${profile.name} <${profile.email}>\n`);
  } catch (error) {
    response.writeHead(error instanceof OAuthError ? 400 : 502, { 'Content-Type': 'text/plain' });
    response.end(`${error.name}: ${error.message}\n`);
  }
}).listen(3000, '127.0.0.1', () => console.log('http://127.0.0.1:3000'));
