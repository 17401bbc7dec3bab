"""`sam build` output is what Lambda (python3.13, arm64) will run: checked on .aws-sam/build.

`make test` builds first and sets PARTNERAUTH_REQUIRE_BUILD=1, so there these tests fail rather than skip
when the build output is missing; a plain `pytest` run without a build skips them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.template import Template, resources_of_type

BUILD = Path(__file__).resolve().parents[1] / ".aws-sam" / "build"
EM_AARCH64 = 183  # ELF e_machine of 64-bit ARM


@pytest.fixture(scope="module")
def build_dir() -> Path:
    if not (BUILD / "template.yaml").is_file():
        message = "no `sam build` output in .aws-sam/build: run `make build`"
        if os.environ.get("PARTNERAUTH_REQUIRE_BUILD"):
            pytest.fail(message)
        pytest.skip(message)
    return BUILD


def elf_machine(path: Path) -> int:
    with path.open("rb") as binary:
        header = binary.read(20)
    assert header[:4] == b"\x7fELF", f"{path} is not an ELF object"
    return int.from_bytes(header[18:20], "little")


def test_layer_native_code_is_built_for_arm64(build_dir: Path) -> None:
    python = build_dir / "PartnerAuthLayer" / "python"
    rust_bindings = python / "cryptography" / "hazmat" / "bindings" / "_rust.abi3.so"
    assert elf_machine(rust_bindings) == EM_AARCH64
    native = list(python.rglob("*.so"))
    assert native
    assert {p.name: elf_machine(p) for p in native} == {p.name: EM_AARCH64 for p in native}
    versioned = [p.name for p in native if ".cpython-" in p.name]
    assert all("cpython-313-aarch64-linux-gnu" in name for name in versioned), versioned


def test_layer_holds_the_package_and_its_runtime_dependencies_but_not_boto(build_dir: Path) -> None:
    python = build_dir / "PartnerAuthLayer" / "python"
    for package in ("partnerauth", "jwt", "cryptography", "aws_lambda_powertools", "aws_xray_sdk"):
        assert (python / package / "__init__.py").is_file(), package
    assert (python / "partnerauth" / "py.typed").is_file()
    assert not (python / "boto3").exists()
    assert not (python / "botocore").exists()  # the Lambda runtime provides them
    # no bytecode of the build machine's own Python (the source tree's __pycache__ is never copied)
    assert [p.name for p in python.rglob("*.pyc") if ".cpython-313." not in p.name] == []


def python313() -> str | None:
    """A CPython 3.13 the layer's Makefile would find to compile bytecode, if this machine has one."""
    candidates = [
        shutil.which("python3.13"),
        *(str(p) for p in (Path.home() / ".pyenv" / "versions").glob("3.13*/bin/python3.13")),
    ]
    for candidate in filter(None, candidates):
        probe = subprocess.run(  # noqa: S603 - a local interpreter, fixed arguments
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
            capture_output=True,
            check=False,
        )
        if probe.stdout.strip() == b"True":
            return candidate
    return None


def test_layer_ships_python313_bytecode_for_every_module(build_dir: Path) -> None:
    # /opt is read-only on Lambda: a module without its .pyc is compiled again at every cold start.
    if python313() is None:
        pytest.skip("no CPython 3.13 on this machine: the layer is built without bytecode")
    python = build_dir / "PartnerAuthLayer" / "python"
    sources = list(python.rglob("*.py"))
    missing = [
        str(source.relative_to(python))
        for source in sources
        if not (source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc").is_file()
    ]
    assert sources
    assert missing == []


def test_each_function_artifact_holds_only_its_handler_package(
    build_dir: Path, cfn_template: Template
) -> None:
    for logical_id, function in resources_of_type(cfn_template, "AWS::Serverless::Function").items():
        package, module, _ = function["Properties"]["Handler"].split(".")
        artifact = build_dir / logical_id
        assert sorted(p.name for p in artifact.iterdir()) == [package], logical_id
        assert (artifact / package / f"{module}.py").is_file(), logical_id
        assert not list(artifact.rglob("__pycache__")), logical_id
