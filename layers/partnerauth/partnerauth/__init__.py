"""partnerauth: keys, JWK/JWKS, signing and verification of OAuth 2.0 access tokens.

The package root imports nothing on purpose: the authorizer imports only the
verification modules and must never pay for boto3 or the key store at cold start.
"""

__version__ = "0.1.0"
