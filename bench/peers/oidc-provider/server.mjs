// oidc-provider (the certified Node.js OpenID provider) configured like AuthServer for the side-by-side benchmark:
// client_credentials and introspection, ES256-signed JWT access tokens for the resource `platform-api`, client
// secrets sent with HTTP Basic. Tokens are kept in its default store (in memory): oidc-provider ships no persistent
// store, and this is the configuration its users measure first.
// Usage: node server.mjs <port> <service client secret> <resource server secret>
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';

const [port, serviceSecret, resourceSecret] = process.argv.slice(2);
if (!port || !serviceSecret || !resourceSecret) {
  console.error('usage: node server.mjs <port> <service secret> <resource server secret>');
  process.exit(2);
}

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'ES256', use: 'sig' };
const audience = 'platform-api';
const resource = `urn:${audience}`; // resource indicators are absolute URIs (RFC 8707)
// oidc-provider refuses to introspect JWT access tokens ("Structured JWT Tokens cannot be introspected"): the
// introspection scenario asks for this resource, whose tokens are opaque (and looked up in its store).
const opaqueResource = `urn:${audience}:opaque`;

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: 'bench-service',
      client_secret: serviceSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'read',
    },
    {
      client_id: audience,
      client_secret: resourceSecret,
      grant_types: [],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  jwks: { keys: [signingKey] },
  scopes: ['read'],
  cookies: { keys: [randomUUID()] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, indicator) => (indicator === opaqueResource
        ? { scope: 'read', audience, accessTokenTTL: 3600, accessTokenFormat: 'opaque' }
        : { scope: 'read', audience, accessTokenTTL: 3600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
    },
  },
});

provider.listen(Number(port), '127.0.0.1', () => console.log(`oidc-provider listening on ${port}`));
