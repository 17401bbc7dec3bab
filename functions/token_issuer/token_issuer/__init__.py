"""TokenFunction: ``POST /oauth2/token``, the client credentials grant (RFC 6749 §4.4)."""
