"""Client credentials grant rules, fast (issue 20: the "token_endpoint" mutation group).

* which scopes, audience and lifetime a client gets (RFC 6749 §3.3, §4.4; RFC 8707 §2), the order of the
  checks and what is counted against the token rate (:mod:`token_issuer.grant`), with fakes for the
  authenticator, the signing key source, the token rate and the clock: no AWS;
* every error class to its RFC 6749 §5.2 status, code and headers; 503 for a dependency, a bare 500 for a
  defect of ours (:mod:`token_issuer.oauth_errors`).

The token function's routing and error handler (:mod:`token_issuer.app`) are in test_token_routing_rules.py.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import jwt
import pytest
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError, EndpointConnectionError

from partnerauth.access_token import AccessTokenRequest
from partnerauth.algorithms import KeySpec
from partnerauth.assertion_authentication import AssertionAuthenticator
from partnerauth.assertion_replay import AssertionReplayGuard
from partnerauth.auth_throttle import AuthThrottle, ClientThrottled
from partnerauth.client_and_attempts import ClientAndAttemptsReader, ClientReadUnavailable
from partnerauth.client_assertion import AssertionRules
from partnerauth.client_items import Client, ClientStatus
from partnerauth.client_registry import ClientRegistry
from partnerauth.client_secrets import LazySecretHasher
from partnerauth.errors import KeyStoreError
from partnerauth.jwks_cache import JwksCache
from partnerauth.jwks_fetch import HttpJwksFetcher
from partnerauth.key_store import KeyStore
from partnerauth.keys import SigningKey, generate_signing_key
from partnerauth.token_rate import TokenRateExceeded, TokenRateLimiter
from partnerauth.usage_plans import PLAN_TOKEN_RATES
from token_issuer import oauth_errors
from token_issuer.client_auth import AuthMethod, ClientCredentials
from token_issuer.grant import (
    MAX_SCOPE_LENGTH,
    ClientCredentialsGrant,
    GrantPolicy,
    TokenGranted,
    build_grant,
)
from token_issuer.oauth_errors import (
    DEPENDENCY_RETRY_AFTER,
    InvalidClient,
    InvalidRequest,
    InvalidScope,
    InvalidTarget,
    NotFound,
    OAuthError,
    ServerError,
    TemporarilyUnavailable,
    TooManyAttempts,
    TooManyTokens,
    UnauthorizedClient,
    UnsupportedGrantType,
    as_oauth_error,
    json_response,
    oauth_response,
    proxy_response,
)
from token_issuer.settings import TokenSettings
from token_issuer.signing_key_cache import DEFAULT_TTL, CachedSigningKey
from token_issuer.token_request import TokenRequest

ISSUER = "https://auth.example.test"
NOW = 1_800_000_000.75
MAX_LIFETIME = 3600
DEFAULT_RATE = 7
CREDENTIALS = ClientCredentials("pc_partner", "s3cret", AuthMethod.CLIENT_SECRET_BASIC)
API = "https://api.example.test"
OTHER_API = "https://other.example.test"


@pytest.fixture(scope="module")
def signing_key() -> SigningKey:
    return generate_signing_key(KeySpec.EDDSA)


def a_client(**overrides: Any) -> Client:
    fields: dict[str, Any] = {
        "client_id": "pc_partner",
        "client_name": "Partner",
        "scopes": ("orders:read", "orders:write", "stock:read"),
        "audiences": (API, OTHER_API),
        "token_lifetime": 900,
        "status": ClientStatus.ACTIVE,
        "created_at": 1,
        "updated_at": 1,
    }
    return Client(**{**fields, **overrides})


class FakeAuthenticator:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.calls: list[tuple[Any, str]] = []

    def authenticate(self, credentials: Any, issuer: str) -> Client:
        self.calls.append((credentials, issuer))
        return self.client


class FakeKeys:
    def __init__(self, key: SigningKey) -> None:
        self.key = key
        self.reads = 0

    def current_signing_key(self) -> SigningKey:
        self.reads += 1
        return self.key


class FakeTokenRate:
    def __init__(self, error: Exception | None = None) -> None:
        self.counted: list[tuple[str, int]] = []
        self.error = error

    def count(self, client_id: str, limit: int) -> None:
        if self.error is not None:
            raise self.error
        self.counted.append((client_id, limit))


class Setup:
    def __init__(self, key: SigningKey, client: Client, policy: GrantPolicy, rate: FakeTokenRate) -> None:
        self.authenticator = FakeAuthenticator(client)
        self.keys = FakeKeys(key)
        self.rate = rate
        self.grant = ClientCredentialsGrant(
            self.authenticator,  # type: ignore[arg-type]
            self.keys,
            policy,
            rate,  # type: ignore[arg-type]
            clock=lambda: NOW,
        )

    def issue(self, **request: Any) -> TokenGranted:
        fields: dict[str, Any] = {"grant_type": "client_credentials", "credentials": CREDENTIALS, **request}
        return self.grant.issue(TokenRequest(**fields), ISSUER)

    def refused(self, **request: Any) -> OAuthError:
        with pytest.raises(OAuthError) as refused:
            self.issue(**request)
        return refused.value


def setup(
    key: SigningKey,
    client: Client | None = None,
    policy: GrantPolicy | None = None,
    rate: FakeTokenRate | None = None,
) -> Setup:
    return Setup(
        key,
        client or a_client(),
        policy or GrantPolicy(max_token_lifetime=MAX_LIFETIME, default_token_rate=DEFAULT_RATE),
        rate or FakeTokenRate(),
    )


def claims_of(granted: TokenGranted, key: SigningKey) -> dict[str, Any]:
    return dict(
        jwt.decode(
            granted.issued.token,
            key.private_key.public_key(),
            algorithms=[key.alg],
            options={"verify_aud": False, "verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    )


# -- the grant (token_issuer.grant) ------------------------------------------------------------------------


def test_a_granted_token_carries_the_decided_claims_and_the_response_says_the_same(
    signing_key: SigningKey,
) -> None:
    """RFC 9068 §2.2 claims; RFC 6749 §5.1 response: Bearer, expires_in the lifetime, the granted scope."""
    grant = setup(signing_key)
    granted = grant.issue(scope="orders:read", audience=OTHER_API)

    claims = claims_of(granted, signing_key)
    assert claims["iss"] == ISSUER
    assert claims["client_id"] == claims["sub"] == "pc_partner"
    assert claims["aud"] == OTHER_API
    assert claims["scope"] == "orders:read"
    assert claims["iat"] == claims["nbf"] == 1_800_000_000
    assert claims["exp"] == 1_800_000_000 + 900
    assert jwt.get_unverified_header(granted.issued.token)["kid"] == signing_key.kid
    assert granted.response_body() == {
        "access_token": granted.issued.token,
        "token_type": "Bearer",
        "expires_in": 900,
        "scope": "orders:read",
    }
    assert (granted.client_id, granted.scopes, granted.audience, granted.lifetime) == (
        "pc_partner",
        ("orders:read",),
        OTHER_API,
        900,
    )
    assert grant.authenticator.calls == [(CREDENTIALS, ISSUER)]
    assert grant.keys.reads == 1


def test_the_log_fields_of_a_grant_name_it_without_the_token(signing_key: SigningKey) -> None:
    granted = setup(signing_key).issue(scope="stock:read orders:read")

    fields = granted.log_fields()
    assert fields == {
        "client_id": "pc_partner",
        "jti": granted.issued.jti,
        "kid": signing_key.kid,
        "scope": "stock:read orders:read",
        "aud": API,
        "expires_at": 1_800_000_000 + 900,
    }
    assert granted.issued.token not in repr(granted)
    assert granted.issued.jti


def test_only_the_client_credentials_grant_type_is_supported(signing_key: SigningKey) -> None:
    grant = setup(signing_key)
    for grant_type in ("authorization_code", "password", "Client_Credentials", "client_credentials "):
        refused = grant.refused(grant_type=grant_type)
        assert (type(refused), refused.log_fields) == (UnsupportedGrantType, {"reason": "grant_type"})
    assert grant.authenticator.calls == []  # no store work for junk
    assert (grant.keys.reads, grant.rate.counted) == (0, [])


def test_a_client_not_registered_for_the_grant_is_unauthorized_client(signing_key: SigningKey) -> None:
    """RFC 6749 §5.2 unauthorized_client (RFC 7591 grant_types)."""
    grant = setup(signing_key, a_client(grant_types=("urn:ietf:params:oauth:grant-type:jwt-bearer",)))

    refused = grant.refused()

    assert (type(refused), refused.log_fields) == (UnauthorizedClient, {"client_id": "pc_partner"})
    assert (grant.keys.reads, grant.rate.counted) == (0, [])


def test_no_scope_requested_grants_every_scope_of_the_client(signing_key: SigningKey) -> None:
    """RFC 6749 §3.3: the pre-defined default is everything the client may have."""
    granted = setup(signing_key).issue()

    assert granted.scopes == ("orders:read", "orders:write", "stock:read")
    assert claims_of(granted, signing_key)["scope"] == "orders:read orders:write stock:read"


def test_a_requested_scope_within_the_clients_is_granted_as_asked_without_repeats(
    signing_key: SigningKey,
) -> None:
    grant = setup(signing_key)

    assert grant.issue(scope="stock:read orders:read stock:read").scopes == ("stock:read", "orders:read")
    assert grant.issue(scope="orders:write").scopes == ("orders:write",)
    assert grant.issue(scope="orders:read orders:write stock:read").scopes == (
        "orders:read",
        "orders:write",
        "stock:read",
    )


@pytest.mark.parametrize(
    "scope",
    [
        "admin",
        "orders:read admin",
        "orders:read orders:write stock:read admin",
        "orders",
        "orders:reads",
        "Orders:read",
    ],
)
def test_a_scope_the_client_does_not_hold_is_invalid_scope_never_a_narrowed_token(
    signing_key: SigningKey, scope: str
) -> None:
    """RFC 6749 §5.2 invalid_scope: "exceeds the scope granted by the resource owner"."""
    grant = setup(signing_key)

    refused = grant.refused(scope=scope)

    assert (type(refused), refused.status, refused.error) == (InvalidScope, 400, "invalid_scope")
    assert refused.log_fields == {"client_id": "pc_partner"}
    assert (grant.keys.reads, grant.rate.counted) == (0, [])


@pytest.mark.parametrize(
    "scope",
    [
        "",
        " ",
        "orders:read  stock:read",
        " orders:read",
        "orders:read ",
        "orders:read\tstock:read",
        'orders:"read"',
        "orders\\read",
        "orders:r\u00e9ad",
        "orders:read\n",
    ],
)
def test_a_malformed_scope_is_invalid_scope(signing_key: SigningKey, scope: str) -> None:
    """RFC 6749 §3.3: scope-tokens of %x21 / %x23-5B / %x5D-7E, joined by single spaces."""
    client = a_client(scopes=("orders:read", "stock:read", 'orders:"read"', "orders\\read", ""))
    grant = setup(signing_key, client)

    refused = grant.refused(scope=scope)

    assert (type(refused), refused.log_fields) == (InvalidScope, {"client_id": "pc_partner"})


def test_the_scope_length_boundary_is_the_maximum(signing_key: SigningKey) -> None:
    at_limit = "s" * MAX_SCOPE_LENGTH
    grant = setup(signing_key, a_client(scopes=(at_limit, at_limit + "s")))

    assert grant.issue(scope=at_limit).scopes == (at_limit,)
    assert type(grant.refused(scope=at_limit + "s")) is InvalidScope


def test_every_character_of_the_scope_token_grammar_is_granted(signing_key: SigningKey) -> None:
    """The edges of each range in RFC 6749 §3.3's scope-token (%x21 / %x23-5B / %x5D-7E)."""
    tokens = ("!", "#", "[", "]", "~", "#[]~!")
    grant = setup(signing_key, a_client(scopes=tokens))

    assert grant.issue(scope=" ".join(tokens)).scopes == tokens


def test_no_audience_requested_is_the_stacks_default_when_the_client_holds_it(
    signing_key: SigningKey,
) -> None:
    policy = GrantPolicy(max_token_lifetime=MAX_LIFETIME, default_audience=OTHER_API)

    assert setup(signing_key, policy=policy).issue().audience == OTHER_API


def test_no_audience_requested_is_the_clients_first_when_it_lacks_the_stacks_default(
    signing_key: SigningKey,
) -> None:
    policy = GrantPolicy(max_token_lifetime=MAX_LIFETIME, default_audience="https://elsewhere.example.test")

    assert setup(signing_key, policy=policy).issue().audience == API
    assert setup(signing_key).issue().audience == API  # no stack default at all


@pytest.mark.parametrize("field", ["resource", "audience"])
def test_a_requested_audience_in_the_clients_list_is_granted(signing_key: SigningKey, field: str) -> None:
    """RFC 8707 §2 ``resource``, or the common ``audience`` spelling of the same choice."""
    granted = setup(signing_key).issue(**{field: OTHER_API})

    assert granted.audience == OTHER_API
    assert claims_of(granted, signing_key)["aud"] == OTHER_API


@pytest.mark.parametrize("field", ["resource", "audience"])
@pytest.mark.parametrize("target", ["https://elsewhere.example.test", API + "/", "https://API.example.test"])
def test_an_audience_outside_the_clients_list_is_invalid_target(
    signing_key: SigningKey, field: str, target: str
) -> None:
    """RFC 8707 §2 invalid_target, even when it is the stack's default audience."""
    policy = GrantPolicy(max_token_lifetime=MAX_LIFETIME, default_audience=target)
    grant = setup(signing_key, policy=policy)

    refused = grant.refused(**{field: target})

    assert (type(refused), refused.status, refused.error) == (InvalidTarget, 400, "invalid_target")
    assert refused.log_fields == {"client_id": "pc_partner"}
    assert (grant.keys.reads, grant.rate.counted) == (0, [])


@pytest.mark.parametrize("resource", ["partner-api", "https://api.example.test#frag", "/relative"])
def test_a_resource_that_is_not_an_absolute_uri_is_invalid_target_even_if_listed(
    signing_key: SigningKey, resource: str
) -> None:
    """RFC 8707 §2: an absolute URI without a fragment; the bare ``audience`` spelling is not held to it."""
    grant = setup(signing_key, a_client(audiences=(resource, API)))

    refused = grant.refused(resource=resource)

    assert (type(refused), refused.log_fields) == (InvalidTarget, {"client_id": "pc_partner"})
    assert grant.issue(audience=resource).audience == resource


def test_resource_is_preferred_over_audience_when_both_are_given(signing_key: SigningKey) -> None:
    grant = setup(signing_key)

    assert grant.issue(resource=OTHER_API, audience=API).audience == OTHER_API
    assert type(grant.refused(resource="https://elsewhere.example.test", audience=API)) is InvalidTarget


@pytest.mark.parametrize(
    ("client_lifetime", "granted"),
    [(MAX_LIFETIME - 1, MAX_LIFETIME - 1), (MAX_LIFETIME, MAX_LIFETIME), (MAX_LIFETIME + 1, MAX_LIFETIME)],
)
def test_the_lifetime_is_the_clients_capped_at_the_stacks_maximum(
    signing_key: SigningKey, client_lifetime: int, granted: int
) -> None:
    result = setup(signing_key, a_client(token_lifetime=client_lifetime)).issue()

    claims = claims_of(result, signing_key)
    assert (result.lifetime, result.response_body()["expires_in"]) == (granted, granted)
    assert claims["exp"] - claims["iat"] == granted
    assert result.issued.expires_at == 1_800_000_000 + granted


@pytest.mark.parametrize(
    ("plan", "limit"),
    [(None, DEFAULT_RATE), ("gold", PLAN_TOKEN_RATES["gold"]), ("no-such-plan", DEFAULT_RATE)],
)
def test_a_granted_token_is_counted_once_against_the_clients_token_rate(
    signing_key: SigningKey, plan: str | None, limit: int
) -> None:
    grant = setup(signing_key, a_client(plan=plan))

    grant.issue()

    assert grant.rate.counted == [("pc_partner", limit)]


def test_over_the_token_rate_no_token_is_signed(signing_key: SigningKey) -> None:
    """Issue 15 item 2: the limit is checked before signing; the refusal is the limiter's own exception."""
    exceeded = TokenRateExceeded("pc_partner", retry_after=12, limit=DEFAULT_RATE)
    grant = setup(signing_key, rate=FakeTokenRate(exceeded))

    with pytest.raises(TokenRateExceeded) as refused:
        grant.issue()

    assert refused.value is exceeded


def test_the_default_token_rate_of_the_policy_is_the_templates_default() -> None:
    from token_issuer.settings import DEFAULT_TOKEN_RATE

    policy = GrantPolicy(max_token_lifetime=MAX_LIFETIME)
    assert (policy.default_audience, policy.default_token_rate) == (None, DEFAULT_TOKEN_RATE)


def test_the_grant_uses_the_request_time_of_its_clock(signing_key: SigningKey) -> None:
    times = iter([1_900_000_000.2])
    grant = ClientCredentialsGrant(
        FakeAuthenticator(a_client()),  # type: ignore[arg-type]
        FakeKeys(signing_key),
        GrantPolicy(max_token_lifetime=MAX_LIFETIME),
        FakeTokenRate(),  # type: ignore[arg-type]
        clock=lambda: next(times),
    )

    granted = grant.issue(TokenRequest("client_credentials", CREDENTIALS), ISSUER)

    assert (granted.issued.issued_at, granted.issued.expires_at) == (1_900_000_000, 1_900_000_900)


def test_an_access_token_request_names_no_subject_by_default() -> None:
    request = AccessTokenRequest(issuer=ISSUER, client_id="c", audience=API, scopes=(), lifetime=1)
    assert request.subject is None


# -- every failure to its answer (token_issuer.oauth_errors) -----------------------------------------------


def _answer(error: Exception) -> tuple[int, dict[str, Any], dict[str, list[str]]]:
    response = oauth_response(as_oauth_error(error))
    assert response["isBase64Encoded"] is False
    return response["statusCode"], json.loads(response["body"]), response["multiValueHeaders"]


NO_STORE_JSON = {
    "Cache-Control": ["no-store"],
    "Pragma": ["no-cache"],
    "Content-Type": ["application/json;charset=UTF-8"],
}


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvalidRequest("bad"), 400, "invalid_request"),
        (OAuthError("bad"), 400, "invalid_request"),
        (UnauthorizedClient("bad"), 400, "unauthorized_client"),
        (UnsupportedGrantType("bad"), 400, "unsupported_grant_type"),
        (InvalidScope("bad"), 400, "invalid_scope"),
        (InvalidTarget("bad"), 400, "invalid_target"),
        (NotFound("bad"), 404, "not_found"),
    ],
)
def test_each_client_error_is_its_rfc_6749_5_2_status_and_code_with_no_store(
    error: OAuthError, status: int, code: str
) -> None:
    assert _answer(error) == (status, {"error": code, "error_description": "bad"}, NO_STORE_JSON)


def test_invalid_client_is_401_with_a_basic_challenge() -> None:
    """RFC 6749 §5.2 / RFC 9110 §15.5.2: a challenge on every 401."""
    status, body, headers = _answer(InvalidClient("client authentication failed"))

    assert (status, body) == (
        401,
        {"error": "invalid_client", "error_description": "client authentication failed"},
    )
    assert headers == {**NO_STORE_JSON, "WWW-Authenticate": ['Basic realm="partnerauth", charset="UTF-8"']}


def test_an_error_without_a_description_has_only_its_code() -> None:
    assert _answer(InvalidRequest())[1] == {"error": "invalid_request"}
    assert _answer(InvalidRequest(""))[1] == {"error": "invalid_request"}
    assert (
        str(InvalidScope("the text")) == "invalid_scope"
    )  # the exception's text is the code, not the detail


def test_an_oauth_error_keeps_its_log_fields_for_the_log_only() -> None:
    error = InvalidScope("bad", client_id="pc_x", reason="r")

    assert as_oauth_error(error) is error
    assert error.log_fields == {"client_id": "pc_x", "reason": "r"}
    assert "pc_x" not in oauth_response(error)["body"]


def test_a_throttled_client_is_429_invalid_client_with_retry_after() -> None:
    refusal = as_oauth_error(ClientThrottled(retry_after=17))

    assert type(refusal) is TooManyAttempts
    assert refusal.log_fields == {"reason": "throttled"}
    status, body, headers = _answer(ClientThrottled(retry_after=17))
    assert (status, body["error"]) == (429, "invalid_client")
    assert body["error_description"] == "too many failed authentication attempts; retry later"
    assert headers == {**NO_STORE_JSON, "Retry-After": ["17"]}


def test_a_client_over_its_token_rate_is_429_temporarily_unavailable_with_retry_after() -> None:
    exceeded = TokenRateExceeded("pc_partner", retry_after=41, limit=30)
    refusal = as_oauth_error(exceeded)

    assert type(refusal) is TooManyTokens
    assert refusal.log_fields == {"reason": "token_rate", "client_id": "pc_partner", "limit": 30}
    status, body, headers = _answer(exceeded)
    assert (status, body["error"]) == (429, "temporarily_unavailable")
    assert body["error_description"] == "too many tokens requested for this client; retry later"
    assert headers == {**NO_STORE_JSON, "Retry-After": ["41"]}


def _client_error(code: str | None) -> ClientError:
    error: dict[str, Any] = (
        {"Message": "secret detail"} if code is None else {"Code": code, "Message": "detail"}
    )
    return ClientError({"Error": error}, "GetItem")


@pytest.mark.parametrize(
    ("error", "name", "aws_code"),
    [
        (KeyStoreError("no usable key"), "KeyStoreError", None),
        (GetParameterError("no pepper"), "GetParameterError", None),
        (ClientReadUnavailable(), "ClientReadUnavailable", None),
        (
            _client_error("ProvisionedThroughputExceededException"),
            "ClientError",
            "ProvisionedThroughputExceededException",
        ),
        (_client_error(None), "ClientError", None),
        (_client_error(""), "ClientError", None),
        (EndpointConnectionError(endpoint_url="https://dynamodb"), "EndpointConnectionError", None),
    ],
)
def test_a_dependency_failure_is_503_temporarily_unavailable_with_retry_after(
    error: Exception, name: str, aws_code: str | None
) -> None:
    refusal = as_oauth_error(error)

    assert type(refusal) is TemporarilyUnavailable
    assert refusal.log_fields == {"dependency_error": name, "aws_code": aws_code}
    status, body, headers = _answer(error)
    assert (status, body) == (
        503,
        {
            "error": "temporarily_unavailable",
            "error_description": "the service is temporarily unavailable; retry later",
        },
    )
    assert headers == {**NO_STORE_JSON, "Retry-After": [str(DEPENDENCY_RETRY_AFTER)]}
    assert DEPENDENCY_RETRY_AFTER == 2


class _BotocoreLookalike(Exception):
    pass


_BotocoreLookalike.__module__ = "botocore.exceptions"


class _Subclassed(_BotocoreLookalike):
    __module__ = "somewhere.else"


def test_any_exception_of_botocore_exceptions_or_below_it_is_a_dependency_failure() -> None:
    """Recognised by module along the whole MRO (botocore's errors subclass each other)."""
    assert type(as_oauth_error(_BotocoreLookalike())) is TemporarilyUnavailable
    assert type(as_oauth_error(_Subclassed())) is TemporarilyUnavailable


class _ResponseNotADict(Exception):
    __module__ = "botocore.exceptions"
    response: ClassVar[list[str]] = ["Error"]


def test_the_aws_code_is_read_only_from_a_dict_response() -> None:
    assert as_oauth_error(_ResponseNotADict()).log_fields["aws_code"] is None
    numbered = ClientError({"Error": {"Code": 500}}, "GetItem")
    assert as_oauth_error(numbered).log_fields["aws_code"] == "500"


@pytest.mark.parametrize(
    "error", [ValueError("secret value in text"), KeyError("k"), TypeError(), RuntimeError("x"), Exception()]
)
def test_any_other_failure_is_a_bare_500_server_error(error: Exception) -> None:
    """A defect of ours: the body says only server_error; the log gets the exception type."""
    refusal = as_oauth_error(error)

    assert type(refusal) is ServerError
    assert refusal.log_fields == {"exception": type(error).__name__}
    assert _answer(error) == (500, {"error": "server_error"}, NO_STORE_JSON)


def test_a_success_body_is_compact_json_with_no_store() -> None:
    response = json_response({"a": 1, "b": "\u00e9"})

    assert response == {
        "statusCode": 200,
        "body": '{"a":1,"b":"\\u00e9"}',
        "isBase64Encoded": False,
        "multiValueHeaders": NO_STORE_JSON,
    }
    assert json_response({}, status=201)["statusCode"] == 201


def test_a_proxy_response_without_a_content_type_has_only_the_given_headers() -> None:
    assert proxy_response(200, "", oauth_errors.NO_STORE) == {
        "statusCode": 200,
        "body": "",
        "isBase64Encoded": False,
        "multiValueHeaders": {"Cache-Control": ["no-store"], "Pragma": ["no-cache"]},
    }


def test_the_base_error_defaults_are_a_400_invalid_request() -> None:
    error = OAuthError()
    assert (error.status, error.error, error.description, error.log_fields, error.headers()) == (
        400,
        "invalid_request",
        None,
        {},
        {},
    )
    assert TemporarilyUnavailable(retry_after=9).headers() == {"Retry-After": "9"}


def test_the_response_and_the_log_join_several_scopes_with_single_spaces(signing_key: SigningKey) -> None:
    """RFC 6749 §5.1 / §3.3: the granted scope as a space-delimited list."""
    granted = setup(signing_key).issue(scope="stock:read orders:write")

    assert granted.response_body()["scope"] == "stock:read orders:write"
    assert granted.log_fields()["scope"] == "stock:read orders:write"
    assert claims_of(granted, signing_key)["scope"] == "stock:read orders:write"


class _BotocoreWithoutError(Exception):
    __module__ = "botocore.exceptions"
    response: ClassVar[dict[str, Any]] = {"ResponseMetadata": {"HTTPStatusCode": 500}}


def test_a_dependency_failure_whose_response_names_no_error_is_still_the_503() -> None:
    """A botocore failure's ``response`` without an ``Error`` entry: aws_code None, never a crash (a 500)."""
    refusal = as_oauth_error(_BotocoreWithoutError())

    assert type(refusal) is TemporarilyUnavailable
    assert refusal.log_fields == {"dependency_error": "_BotocoreWithoutError", "aws_code": None}


# -- the grant as the function builds it (token_issuer.grant.build_grant) ----------------------------------


def _settings(**overrides: Any) -> TokenSettings:
    fields: dict[str, Any] = {
        "clients_table": "clients-t",
        "signing_keys_table": "keys-t",
        "kms_key_id": "kms-key",
        "auth_attempts_table": "attempts-t",
        "pepper_secret_arn": "pepper-arn",
        "issuer": None,
        "default_audience": "aud-default",
        "max_token_lifetime": 1800,
        "client_assertions_table": "assertions-t",
        "client_assertion_max_age": 120,
        "leeway": 7,
        "token_rate_per_minute": 42,
    }
    return TokenSettings(**{**fields, **overrides})


def test_the_built_grant_wires_every_collaborator_to_its_table_client_clock_and_setting() -> None:
    """Each check of the grant reads the table the template gives it, through the injected clients and clock:
    a collaborator built on another table, client or the wall clock would check against the wrong data."""
    dynamodb, kms = object(), object()

    def clock() -> float:
        return NOW

    def fetch_pepper() -> str:
        return "pepper"

    grant = build_grant(
        _settings(), dynamodb=dynamodb, kms=kms, fetch_pepper=fetch_pepper, clock=clock, key_cache_ttl=9.0
    )

    authenticator = grant.authenticator
    registry, throttle, reader = authenticator._registry, authenticator._throttle, authenticator._reader
    assert type(registry) is ClientRegistry
    assert (registry._table, registry._dynamodb, registry._clock) == ("clients-t", dynamodb, clock)
    assert registry.max_token_lifetime == 1800
    assert type(registry._hasher) is LazySecretHasher
    assert registry._hasher._fetch_pepper is fetch_pepper
    assert type(throttle) is AuthThrottle
    assert (throttle._table, throttle._dynamodb, throttle._clock) == ("attempts-t", dynamodb, clock)
    assert type(reader) is ClientAndAttemptsReader
    assert (reader._registry, reader._throttle, reader._dynamodb) == (registry, throttle, dynamodb)

    assertions = authenticator._assertions
    assert type(assertions) is AssertionAuthenticator
    assert type(assertions._jwks_uri_keys) is JwksCache
    assert type(assertions._jwks_uri_keys._fetcher) is HttpJwksFetcher
    replay = assertions._replay_guard
    assert (type(replay), replay._table, replay._dynamodb) == (AssertionReplayGuard, "assertions-t", dynamodb)
    assert assertions._rules == AssertionRules(max_age=120, leeway=7)
    assert assertions._clock is clock

    keys = grant._signing_keys
    assert type(keys) is CachedSigningKey
    assert (keys._ttl, keys._clock) == (9.0, clock)
    store = keys._source
    assert type(store) is KeyStore
    assert (store._table, store._dynamodb, store._kms, store._kms_key_id, store._clock) == (
        "keys-t",
        dynamodb,
        kms,
        "kms-key",
        clock,
    )

    assert grant._policy == GrantPolicy(
        max_token_lifetime=1800, default_audience="aud-default", default_token_rate=42
    )
    rate = grant._token_rate
    assert (type(rate), rate._table, rate._dynamodb, rate._clock) == (
        TokenRateLimiter,
        "attempts-t",
        dynamodb,
        clock,
    )
    assert grant._clock is clock


def test_the_built_grant_takes_the_given_hasher_and_jwks_cache_and_no_assertions_without_their_table() -> (
    None
):
    dynamodb = object()
    hasher = LazySecretHasher(lambda: "pepper")
    jwks_uri_keys = JwksCache(HttpJwksFetcher())

    with_table = build_grant(
        _settings(),
        dynamodb=dynamodb,
        kms=object(),
        fetch_pepper=str,
        hasher=hasher,
        jwks_uri_keys=jwks_uri_keys,
    )
    assert with_table.authenticator._registry._hasher is hasher
    assertions = with_table.authenticator._assertions
    assert assertions is not None
    assert assertions._jwks_uri_keys is jwks_uri_keys

    without_table = build_grant(
        _settings(client_assertions_table=None), dynamodb=dynamodb, kms=object(), fetch_pepper=str
    )
    assert without_table.authenticator._assertions is None
    keys = without_table._signing_keys
    assert type(keys) is CachedSigningKey
    assert keys._ttl == DEFAULT_TTL
