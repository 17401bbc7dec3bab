"""Every example of docs/partners.md, copied as a partner would copy it, run against the local stack.

Each must print `200` twice (it calls `GET /orders` twice) and make exactly one token request (the
second call reuses the cached token: renewal is due only at 80% of the lifetime).  The token requests
are counted in the stack's one-line-per-request log.  The curl example runs after the doc's own setup
line (which reads `.local/demo-client.json`); the others get the same four variables.

A language whose runtime is absent (curl, node/npm) is skipped, and the skip says which and why.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from tests.local_stack.running_stack import REPO, StackProcess, stack_environment, start_stack

pytestmark = pytest.mark.e2e

PARTNERS_DOC: Final = REPO / "docs" / "partners.md"
NODE_PROJECT: Final = Path(__file__).parent / "node"
RUN_TIMEOUT: Final = 120


def sections(markdown: str) -> dict[str, list[str]]:
    """Each ``## heading`` of the doc and the fenced code blocks under it, in order."""
    found: dict[str, list[str]] = {}
    for section in re.split(r"^## ", markdown, flags=re.MULTILINE)[1:]:
        heading, _, text = section.partition("\n")
        found[heading.strip()] = re.findall(r"^```[a-z]*\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)
    return found


SECTIONS: Final = sections(PARTNERS_DOC.read_text(encoding="utf-8"))


def example(heading: str) -> str:
    """The example of a section: its last code block (the first may be an install line)."""
    return SECTIONS[heading][-1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    running = start_stack(tmp_path_factory.mktemp("partners-stack"))
    yield running
    running.stop()


def partner_environment(stack: StackProcess) -> dict[str, str]:
    return stack_environment(stack.state_dir, 0) | {
        "CLIENT_ID": stack.demo["client_id"],
        "CLIENT_SECRET": stack.demo["client_secret"],
        "TOKEN_URL": stack.demo["token_url"],
        "API_URL": stack.demo["api_url"],
    }


def run(stack: StackProcess, command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run an example; its output, after checking it called twice with one token request."""
    before = stack.output()
    completed = subprocess.run(  # noqa: S603 - our own examples, with runtimes found on PATH
        command,
        cwd=cwd,
        env=env or partner_environment(stack),
        capture_output=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    output = completed.stdout.decode()
    assert completed.returncode == 0, completed.stderr.decode()[-3000:]
    assert output.split() == ["200", "200"], output + completed.stderr.decode()[-3000:]
    requests_made = stack.output()[len(before) :]
    assert requests_made.count("POST /oauth2/token 200") == 1, requests_made  # cached: one per lifetime
    assert requests_made.count("GET /orders 200") == 2
    return output


def needs(*programs: str) -> None:
    missing = [program for program in programs if shutil.which(program) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed: this quickstart cannot run here")


def test_the_doc_has_every_promised_language() -> None:
    assert {"curl", "Python: authlib", "Python: requests-oauthlib", "Node: openid-client"} <= set(SECTIONS)


def test_curl_after_the_docs_own_setup_line(stack: StackProcess, tmp_path: Path) -> None:
    needs("bash", "curl", "python3")
    (tmp_path / ".local").symlink_to(stack.state_dir)  # where `make dev` writes demo-client.json
    setup = SECTIONS["Try it against the local stack"][0]
    script = tmp_path / "quickstart.sh"
    script.write_text(f"{setup}\n{example('curl')}")
    env = stack_environment(stack.state_dir, 0)  # no CLIENT_ID & co: the setup line exports them
    run(stack, ["bash", str(script)], tmp_path, env)


@pytest.mark.parametrize("heading", ["Python: authlib", "Python: requests-oauthlib"])
def test_python_quickstart(stack: StackProcess, tmp_path: Path, heading: str) -> None:
    script = tmp_path / "quickstart.py"
    script.write_text(example(heading))
    env = partner_environment(stack)
    env.pop("OAUTHLIB_INSECURE_TRANSPORT", None)  # the example sets it itself, for loopback only
    run(stack, [sys.executable, str(script)], tmp_path, env)


def test_node_openid_client_quickstart(stack: StackProcess, tmp_path: Path) -> None:
    needs("node", "npm")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(NODE_PROJECT / name, tmp_path / name)
    installed = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"],  # noqa: S607 - npm from PATH
        cwd=tmp_path,
        env={**os.environ, "npm_config_update_notifier": "false"},
        capture_output=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr.decode()[-3000:]
    script = tmp_path / "quickstart.mjs"
    script.write_text(example("Node: openid-client"))
    run(stack, ["node", str(script)], tmp_path)


def test_requests_oauthlib_refuses_plain_http_without_the_documented_switch(
    stack: StackProcess, tmp_path: Path
) -> None:
    # why the doc sets OAUTHLIB_INSECURE_TRANSPORT for the local stack (and says: never elsewhere)
    script = tmp_path / "quickstart.py"
    script.write_text(example("Python: requests-oauthlib").replace('"http://127.0.0.1:"', '"never:"'))
    completed = subprocess.run(  # noqa: S603 - our interpreter
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=partner_environment(stack),
        capture_output=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert completed.returncode != 0
    assert "InsecureTransportError" in completed.stderr.decode()
