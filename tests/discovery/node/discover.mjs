// openid-client (the reference Node client) used as a partner would, with its defaults:
// discovery() reads ISSUER + /.well-known/openid-configuration (OpenID Connect Discovery 1.0 §4),
// clientCredentialsGrant() posts to the discovered token_endpoint (RFC 6749 §4.4), and the token
// calls the sample API; then tokenIntrospection() and tokenRevocation() use the discovered RFC 7662 and
// RFC 7009 endpoints.  Prints one JSON line for tests/discovery/test_openid_client.py.
import * as client from 'openid-client'

const { ISSUER, API_URL, CLIENT_ID, CLIENT_SECRET } = process.env
const config = await client.discovery(
  new URL(ISSUER),
  CLIENT_ID,
  undefined,
  client.ClientSecretBasic(CLIENT_SECRET),
  { execute: [client.allowInsecureRequests] }, // the local stack is plain http on 127.0.0.1
)
const metadata = config.serverMetadata()
const tokens = await client.clientCredentialsGrant(config, { scope: 'orders:read' })
const call = async (path) =>
  (await fetch(`${API_URL}${path}`, { headers: { Authorization: `Bearer ${tokens.access_token}` } })).status
const covered = await call('/orders')
const uncovered = await call('/inventory')
// RFC 7662: the demo client holds no introspect permission, so the answer is an RFC 6749 §5.2 error
let introspection
try {
  introspection = { active: (await client.tokenIntrospection(config, tokens.access_token)).active }
} catch (error) {
  introspection = { error: error.error ?? String(error) }
}
await client.tokenRevocation(config, tokens.access_token) // RFC 7009 §2.2: 200, or this throws
console.log(
  JSON.stringify({
    issuer: metadata.issuer,
    token_endpoint: metadata.token_endpoint,
    jwks_uri: metadata.jwks_uri,
    token_type: tokens.token_type,
    scope: tokens.scope,
    revocation_endpoint: metadata.revocation_endpoint,
    introspection_endpoint: metadata.introspection_endpoint,
    covered,
    uncovered,
    introspection,
    revoked: true,
  }),
)
