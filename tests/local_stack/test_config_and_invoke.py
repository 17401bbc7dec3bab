"""Settings of `make dev` from the environment, and `make invoke`'s answers when it cannot run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local import invoke
from local.config import REPO_ROOT, ConfigError, LocalConfig, PortInUseError, parse_parameter_overrides
from local.stack import LocalStack
from local.stack_state import STACK_FILE, StackState, remove, write_json


def test_the_defaults_work_on_a_fresh_clone() -> None:
    config = LocalConfig.from_environ({})
    assert (config.port, config.aws_port, config.rotation_interval) == (3000, 3001, 60.0)
    assert config.state_dir == REPO_ROOT / ".local"
    assert config.function_log_level == "WARNING"


def test_port_moves_the_aws_endpoint_with_it_unless_given() -> None:
    assert LocalConfig.from_environ({"PORT": "8080"}).aws_port == 8081
    assert LocalConfig.from_environ({"PORT": "8080", "AWS_PORT": "9000"}).aws_port == 9000
    assert LocalConfig.from_environ({"PORT": "0"}).aws_port == 0


def test_every_other_api_gets_its_own_port_after_port_and_aws_port() -> None:
    assert [LocalConfig.from_environ({}).extra_port(i) for i in range(3)] == [3002, 3003, 3004]
    assert LocalConfig.from_environ({"PORT": "8080"}).extra_port(1) == 8083
    assert LocalConfig.from_environ({"EXTRA_API_PORT": "9100"}).extra_port(2) == 9102
    # any free port when PORT is 0, also for a config built in code (tests, benchmarks)
    assert LocalConfig.from_environ({"PORT": "0"}).extra_port(5) == 0
    assert LocalConfig(port=0, aws_port=0).extra_port(0) == 0
    assert LocalConfig(port=8080).extra_port(0) == 8082


def test_the_example_stacks_are_every_examples_template(tmp_path: Path) -> None:
    for name in ("b-api", "a-api"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "template.yaml").write_text("Resources: {}\n")
    (tmp_path / "notes").mkdir()
    config = LocalConfig(examples_dir=tmp_path)
    assert config.example_templates() == [
        tmp_path / "a-api" / "template.yaml",
        tmp_path / "b-api" / "template.yaml",
    ]
    assert LocalConfig(examples_dir=None).example_templates() == []


def test_a_port_in_use_error_names_the_port_and_the_variable() -> None:
    error = PortInUseError(3002, "EXTRA_API_PORT")
    assert str(error).startswith("port 3002 is in use (EXTRA_API_PORT)")
    assert "make dev EXTRA_API_PORT=3102" in str(error)
    assert isinstance(error, ConfigError)


@pytest.mark.parametrize(
    "environ",
    [
        {"PORT": "http"},
        {"PORT": "70000"},
        {"PORT": "-1"},
        {"AWS_PORT": "x"},
        {"EXTRA_API_PORT": "99999"},
        {"ROTATION_INTERVAL": "soon"},
        {"ROTATION_INTERVAL": "-5"},
        {"ROTATION_INTERVAL": "nan"},
        {"FUNCTION_LOG_LEVEL": "LOUD"},
        {"PARAMETER_OVERRIDES": "RotationPeriod"},
        {"PARAMETER_OVERRIDES": "not-a-name=1"},
    ],
)
def test_a_setting_that_cannot_work_is_refused_naming_the_variable(environ: dict[str, str]) -> None:
    (name,) = environ
    with pytest.raises(ConfigError, match=name):
        LocalConfig.from_environ(environ)


def test_parameter_overrides_read_like_sam_deploys() -> None:
    assert parse_parameter_overrides("RotationPeriod=900  Grace=1800") == {
        "RotationPeriod": "900",
        "Grace": "1800",
    }


def test_parameter_overrides_carry_quoted_values_with_spaces_like_sam_deploy() -> None:
    # ExternalIssuers is JSON, which holds spaces and double quotes
    issuers = '[{"issuer": "https://idp.example", "audience": "partner-api"}]'
    text = f"""ExternalIssuers='{issuers}' Stage="dev" A=b\\ c"""
    assert parse_parameter_overrides(text) == {
        "ExternalIssuers": issuers,
        "Stage": "dev",
        "A": "b c",
    }


@pytest.mark.parametrize(
    ("text", "says"),
    [('ExternalIssuers=\'[{"issuer": 1}]', "quote"), ("Name value", "'Name'"), ('"a=b"x c', "'c'")],
)
def test_a_parameter_override_that_cannot_be_read_says_why(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match="PARAMETER_OVERRIDES") as refused:
        parse_parameter_overrides(text)
    assert says in str(refused.value)
    assert "Name='a value'" in str(refused.value)


def test_overrides_win_over_the_local_values_and_the_issuer_is_the_local_url() -> None:
    config = LocalConfig.from_environ({"PARAMETER_OVERRIDES": "RotationPeriod=900"})
    parameters = config.parameters("http://127.0.0.1:3000")
    assert parameters["RotationPeriod"] == "900"
    assert parameters["IssuerUrl"] == "http://127.0.0.1:3000"


def test_invoke_without_a_running_stack_says_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOCAL_STATE_DIR", str(tmp_path))
    event = tmp_path / "event.json"
    event.write_text('{"action": "reconcile"}')
    assert invoke.main(["KeyRotationFunction", str(event)]) == 2
    assert "make dev" in capsys.readouterr().err


def test_invoke_with_a_stack_that_stopped_answering_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOCAL_STATE_DIR", str(tmp_path))
    state = StackState("http://127.0.0.1:1", "http://127.0.0.1:1", "template.yaml", {}, {}, "INFO")
    write_json(tmp_path / STACK_FILE, state.to_json())
    event = tmp_path / "event.json"
    event.write_text("{}")
    assert invoke.main(["KeyRotationFunction", str(event)]) == 2
    assert "not answering" in capsys.readouterr().err


@pytest.mark.parametrize("content", [None, "not json"])
def test_invoke_refuses_an_event_file_it_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], content: str | None
) -> None:
    monkeypatch.setenv("LOCAL_STATE_DIR", str(tmp_path))
    event = tmp_path / "event.json"
    if content is not None:
        event.write_text(content)
    assert invoke.main(["KeyRotationFunction", str(event)]) == 2
    assert str(event) in capsys.readouterr().err


def test_invoke_needs_a_function_and_an_event(capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke.main(["KeyRotationFunction"]) == 2
    assert "usage" in capsys.readouterr().err


def test_state_files_are_private_and_removed_only_by_the_stack_that_wrote_them(tmp_path: Path) -> None:
    state = StackState(
        "http://127.0.0.1:3000",
        "http://127.0.0.1:3001",
        "template.yaml",
        {},
        {},
        "INFO",
        api_urls={"SampleApi": "http://127.0.0.1:3000", "SampleHttpApi": "http://127.0.0.1:3002/dev"},
        pid=1,
    )
    write_json(tmp_path / STACK_FILE, state.to_json())
    assert (tmp_path / STACK_FILE).stat().st_mode & 0o077 == 0  # the demo client's secret is in its sibling
    assert StackState.read(tmp_path) == state
    remove(tmp_path, pid=2)  # another stack wrote them since
    assert (tmp_path / STACK_FILE).exists()
    remove(tmp_path, pid=1)
    assert not (tmp_path / STACK_FILE).exists()
    assert json.loads(json.dumps(state.to_json()))["pid"] == 1


def test_an_override_of_a_parameter_the_template_lacks_is_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    config = LocalConfig(
        port=0, aws_port=0, parameter_overrides={"RotationPeriodd": "900"}, state_dir=tmp_path
    )
    with pytest.raises(ConfigError, match="RotationPeriodd"):
        LocalStack(config).start()
    assert list(tmp_path.iterdir()) == []
