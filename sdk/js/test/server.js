// The real AuthServer of this repository for the SDK's tests: started as a process of its own on a free loopback port
// with a fresh SQLite file, seeded through its CLI and its pages, stopped at the end.
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The built server: AUTHSERVER_DLL, else the test project's or the server project's Debug build. */
function serverDll() {
  const candidates = [
    process.env.AUTHSERVER_DLL,
    join(root, 'tests/AuthServer.Tests/bin/Debug/net10.0/AuthServer.dll'),
    join(root, 'src/AuthServer/bin/Debug/net10.0/AuthServer.dll'),
  ].filter(Boolean);
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error(`AuthServer is not built: run "dotnet build" first (looked for ${candidates.join(', ')}).`);
  return found;
}

async function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

export async function startServer() {
  const dll = serverDll();
  const folder = mkdtempSync(join(tmpdir(), 'sdk-js-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const environment = {
    ...process.env,
    ASPNETCORE_ENVIRONMENT: 'Development',
    Database__Provider: 'Sqlite',
    Database__ConnectionString: `Data Source=${join(folder, 'auth.db')}`,
    // These tests are about the SDK: the developer they sign up skips the email confirmation, as the README's
    // quick start allows for local use (the server's own suites test the confirmation).
    Accounts__RequireConfirmedEmail: 'false',
    Email__PickupDirectory: join(folder, 'mail'),
    DOTNET_NOLOGO: '1',
  };
  delete environment.AI_PLATFORM_API_KEY;
  delete environment.AI_PLATFORM_BASE_URL;

  const run = promisify(execFile);
  const cli = async (...args) => {
    const { stdout } = await run('dotnet', [dll, ...args], { cwd: dirname(dll), env: environment });
    return stdout.trim().startsWith('{') ? JSON.parse(stdout) : stdout;
  };
  // Migrated before the server starts, so the server and the CLI never race to create the schema.
  await cli('migrate');

  let output = '';
  const child = spawn('dotnet', [dll, '--urls', url], { cwd: dirname(dll), env: environment });
  child.stdout.on('data', (data) => (output = (output + data).slice(-20_000)));
  child.stderr.on('data', (data) => (output = (output + data).slice(-20_000)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`AuthServer exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`AuthServer did not answer /healthz within 60 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    url,
    cli,
    output: () => output,
    async close() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** A person's browser: cookies kept, redirects not followed, forms posted with their antiforgery token. */
export class Browser {
  #cookies = new Map();

  constructor(baseUrl) {
    this.baseUrl = baseUrl;
  }

  async request(path, { method = 'GET', form } = {}) {
    const headers = { Cookie: [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
    let body;
    if (form) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const response = await fetch(new URL(path, this.baseUrl), { method, headers, body, redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const index = pair.indexOf('=');
      this.#cookies.set(pair.slice(0, index), pair.slice(index + 1));
    }
    return response;
  }

  async page(path) {
    const response = await this.request(path);
    if (response.status !== 200) throw new Error(`GET ${path}: ${response.status}`);
    return response.text();
  }

  /** Posts a form of the page's: its hidden fields (antiforgery token included) and `fields`. */
  async submit(page, path, fields) {
    return this.request(path, { method: 'POST', form: { ...hiddenFields(page), ...fields } });
  }

  /** Signs up on the form, then signs in. */
  async signUp(email, password) {
    const page = await this.page('/account/register');
    const response = await this.submit(page, '/account/register', {
      'Input.Email': email,
      'Input.Name': 'SDK Tester',
      'Input.Password': password,
      'Input.ConfirmPassword': password,
    });
    if (response.status !== 302) throw new Error(`sign-up: ${response.status} ${await response.text()}`);
    await this.signIn(email, password);
  }

  /** Signs in on the form (sign-up alone signs no one in). */
  async signIn(email, password) {
    const page = await this.page('/account/login');
    const response = await this.submit(page, '/account/login', { 'Input.Email': email, 'Input.Password': password });
    if (response.status !== 302) throw new Error(`sign-in: ${response.status}`);
  }

  /** Creates an API key on the dashboard; returns the key, shown once. */
  async createKey(scopes = ['read']) {
    const page = await this.page('/dashboard/keys');
    const form = new URLSearchParams(hiddenFields(page));
    form.set('Name', 'sdk test');
    for (const scope of scopes) form.append('Scopes', scope);
    const response = await this.request('/dashboard/keys?handler=Create', { method: 'POST', form });
    const html = await response.text();
    const match = /id="new-key">([^<]+)</.exec(html);
    if (!match) throw new Error(`key creation: ${response.status}`);
    return match[1];
  }
}

export function hiddenFields(page) {
  const fields = {};
  for (const [input] of page.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]*)"/.exec(input)?.[1];
    const value = /value="([^"]*)"/.exec(input)?.[1];
    if (name !== undefined && value !== undefined) fields[decodeHtml(name)] = decodeHtml(value);
  }
  return fields;
}

const decodeHtml = (text) =>
  text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex) => String.fromCodePoint(Number.parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, decimal) => String.fromCodePoint(Number(decimal)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
