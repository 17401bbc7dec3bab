"""A fast ClientsTable for the registry's rule tests (issue 20: mutation runs need a fast selection).

The usual fixtures build a whole moto account per test (every table of the template, a KMS key, the pepper
secret: ~0.5 s).  The registry needs only ClientsTable: :func:`clients_store` creates it once per test module,
from the template's own definition, and :meth:`FastStore.emptied` clears its items for each test.

The wrappers here see or change what the registry sends and receives, without sleeping:

* :class:`Spy` records every call's keyword arguments (``ConsistentRead``, conditions, expressions);
* :class:`Dated` puts a chosen time into each answer's ``Date`` header (the store's clock);
* :class:`BeforeWrite` runs a callable just before the first write of one operation (a concurrent change);
* :class:`FailingCalls` makes chosen operations raise (a lost answer, a read that fails).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import formatdate
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws

from partnerauth.client_registry import ClientRegistry
from partnerauth.client_secrets import SecretHasher
from tests.support.clock import FakeClock
from tests.support.template import create_table_from_template

START = 1_800_000_000.0
PEPPER = "a fixed pepper for the rule tests, 32+ bytes long"
MAX_LIFETIME = 3600
Item = dict[str, Any]
# One session per process: its clients share loaded service models, so a client costs milliseconds (a forked
# mutation worker inherits them) instead of the ~0.3 s of loading them again.
_SESSION = boto3.session.Session(region_name="us-east-1")


class FastStore:
    """ClientsTable in moto, and the few item operations the tests need."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def emptied(self) -> FastStore:
        for page in self.client.get_paginator("scan").paginate(TableName=self.table):
            for item in page.get("Items", []):
                self.client.delete_item(TableName=self.table, Key={"client_id": item["client_id"]})
        return self

    def put(self, item: Item) -> None:
        self.client.put_item(TableName=self.table, Item=item)

    def item(self, client_id: str) -> Item | None:
        found: Item | None = self.client.get_item(
            TableName=self.table, Key={"client_id": {"S": client_id}}, ConsistentRead=True
        ).get("Item")
        return found

    def registry(
        self,
        clock: Callable[[], float],
        dynamodb: Any = None,
        **options: Any,
    ) -> ClientRegistry:
        options.setdefault("max_token_lifetime", MAX_LIFETIME)
        return ClientRegistry(
            self.table, self.client if dynamodb is None else dynamodb, SecretHasher(PEPPER), clock, **options
        )


@contextmanager
def clients_store() -> Iterator[FastStore]:
    """An in-memory AWS holding only ClientsTable (use from a module-scoped fixture)."""
    with mock_aws():
        client = _SESSION.client("dynamodb")
        yield FastStore(client, create_table_from_template(client, "ClientsTable", "ClientsTable"))


class _Wrapper:
    def __init__(self, client: Any) -> None:
        self._client = client

    @property
    def exceptions(self) -> Any:
        return self._client.exceptions

    def get_paginator(self, name: str) -> Any:
        return self._client.get_paginator(name)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            return self._call(name, attribute, kwargs)

        return call

    def _call(self, name: str, attribute: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        return attribute(**kwargs)


class Spy(_Wrapper):
    """Records ``(operation, kwargs)`` of every call."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _call(self, name: str, attribute: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        self.calls.append((name, kwargs))
        return attribute(**kwargs)

    def of(self, operation: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == operation]


class Dated(_Wrapper):
    """Every answer's ``Date`` header says ``clock()`` (``None``: no Date header at all)."""

    def __init__(self, client: Any, clock: Callable[[], float | None]) -> None:
        super().__init__(client)
        self._clock = clock

    def _call(self, name: str, attribute: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        response = attribute(**kwargs)
        headers = response["ResponseMetadata"].setdefault("HTTPHeaders", {})
        now = self._clock()
        headers.pop("date", None)
        if now is not None:
            headers["date"] = formatdate(now, usegmt=True)
        return response


class BeforeWrite(_Wrapper):
    """Runs ``meanwhile`` once, just before the first ``operation`` call goes out (a concurrent writer)."""

    def __init__(self, client: Any, operation: str, meanwhile: Callable[[], object]) -> None:
        super().__init__(client)
        self._operation = operation
        self._meanwhile: Callable[[], object] | None = meanwhile

    def _call(self, name: str, attribute: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        if name == self._operation and self._meanwhile is not None:
            meanwhile, self._meanwhile = self._meanwhile, None
            meanwhile()
        return attribute(**kwargs)


class FailingCalls(_Wrapper):
    """``fail(operation, error, after=n)``: the calls of ``operation`` after the first ``n`` raise ``error``;
    ``commit_first=True`` makes a failing write commit before it raises (its answer is lost)."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self._faults: dict[str, tuple[Exception, int, bool]] = {}
        self._seen: dict[str, int] = {}

    def fail(self, operation: str, error: Exception, *, after: int = 0, commit_first: bool = False) -> None:
        self._faults[operation] = (error, after, commit_first)

    def _call(self, name: str, attribute: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        self._seen[name] = self._seen.get(name, 0) + 1
        fault = self._faults.get(name)
        if fault is None or self._seen[name] <= fault[1]:
            return attribute(**kwargs)
        error, _, commit_first = fault
        if commit_first:
            attribute(**kwargs)
        raise error


def aws_error(code: str, operation: str, status: int = 500) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


def fresh_clock() -> FakeClock:
    return FakeClock(START)
