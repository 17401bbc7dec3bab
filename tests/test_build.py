"""`sam build` output is what Lambda (python3.13, arm64) will run: checked on .aws-sam/build.

`make test` builds first and sets PARTNERAUTH_REQUIRE_BUILD=1, so there these tests fail rather than skip
when the build output is missing; a plain `pytest` run without a build skips them.
"""

from __future__ import annotations

import os
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
    assert not list(python.rglob("__pycache__"))


def test_each_function_artifact_holds_only_its_handler_package(
    build_dir: Path, cfn_template: Template
) -> None:
    for logical_id, function in resources_of_type(cfn_template, "AWS::Serverless::Function").items():
        package, module, _ = function["Properties"]["Handler"].split(".")
        artifact = build_dir / logical_id
        assert sorted(p.name for p in artifact.iterdir()) == [package], logical_id
        assert (artifact / package / f"{module}.py").is_file(), logical_id
        assert not list(artifact.rglob("__pycache__")), logical_id
