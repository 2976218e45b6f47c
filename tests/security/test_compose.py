"""docker-compose.yaml ships no secret: rendered with Debian's ``docker-compose config``.

Without the secrets the stack refuses to start naming the missing variable; with the generated
``.env`` every secret comes from it, every port is on 127.0.0.1 unless ``WAYBILL_BIND`` opens it,
and the sandbox is only in the ``demo`` profile.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from waybill.compose_env import SECRETS, read_env, write_env

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"

pytestmark = pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="docker-compose is absent (apt-get install docker-compose; .ci/run installs it)",
)


def _render(env_file: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``docker-compose config`` on the repo's file with only ``env_file`` and ``extra`` set."""
    env = {k: v for k, v in os.environ.items() if k not in SECRETS and k != "WAYBILL_BIND"}
    env.update(extra)
    return subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "--env-file", str(env_file), "config"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture
def env_file(tmp_path) -> Path:
    path = tmp_path / ".env"
    write_env(path)
    return path


def test_without_secrets_the_stack_refuses_naming_each_missing_variable(tmp_path, hostile):
    tally = hostile("compose")
    complete = tmp_path / "complete.env"
    write_env(complete)
    values = read_env(complete)
    refused = []
    for name in SECRETS:
        partial = tmp_path / f"without-{name}.env"
        partial.write_text("".join(f"{k}={v}\n" for k, v in values.items() if k != name))
        result = _render(partial)
        tally.tried()
        if result.returncode != 0 and f"{name} is required" in result.stderr:
            refused.append(name)
    empty = tmp_path / "empty.env"
    empty.write_text("")
    nothing = _render(empty)
    tally.tried()

    assert refused == list(SECRETS)
    assert nothing.returncode != 0 and "is required" in nothing.stderr


def test_no_secret_in_the_file_has_a_literal_default():
    text = COMPOSE.read_text()
    uses = re.findall(r"\$\{([A-Z0-9_]+)(:?[-?]?)", text)
    secret_uses = [(name, op) for name, op in uses if name in SECRETS]
    with_default = [name for name, op in secret_uses if op != ":?"]

    assert {name for name, _ in secret_uses} == set(SECRETS)
    assert with_default == []
    for literal in ("change-me", "sandbox-erp-token", "sandbox-webhook-secret", ":waybill@"):
        assert literal not in text


def test_rendered_secrets_all_come_from_the_env_file(env_file):
    result = _render(env_file)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    generated = set(read_env(env_file).values())
    secret_like = re.compile(
        r"SECRET|PASSWORD|TOKEN|FERNET|WAREHOUSE_URL|SQL_ALCHEMY|BACKEND|CONN_"
    )
    checked = []
    for name, service in config["services"].items():
        for key, value in (service.get("environment") or {}).items():
            # A *_CONN_ID names an Airflow connection; it holds no secret.
            if (
                secret_like.search(key)
                and not key.endswith("_CONN_ID")
                and "redis://" not in str(value)
            ):
                checked.append(f"{name}.{key}")
                assert any(secret in str(value) for secret in generated), f"{name}.{key}"
    assert len(checked) >= 10


def test_every_port_is_on_loopback_unless_waybill_bind_opens_it(env_file):
    closed = yaml.safe_load(_render(env_file).stdout)
    opened = yaml.safe_load(_render(env_file, WAYBILL_BIND="0.0.0.0").stdout)

    def published(config: dict) -> list[str]:
        return [
            str(port)
            for service in config["services"].values()
            for port in service.get("ports", [])
        ]

    assert published(closed) and all(p.startswith("127.0.0.1:") for p in published(closed))
    assert all(p.startswith("0.0.0.0:") for p in published(opened))


def test_the_sandbox_is_a_demo_profile_nothing_else_depends_on(env_file):
    services = yaml.safe_load(_render(env_file).stdout)["services"]
    default = {name for name, s in services.items() if not s.get("profiles")}

    assert services["sandbox"]["profiles"] == ["demo"]
    assert "sandbox" not in default
    for name in default:
        assert "sandbox" not in (services[name].get("depends_on") or {}), name


def test_one_warehouse_address_the_dbt_profile_derives(env_file):
    services = yaml.safe_load(_render(env_file).stdout)["services"]
    worker = services["airflow-worker"]

    assert worker["environment"]["WAREHOUSE_URL"].endswith("@warehouse:5432/waybill")
    assert not {"WAREHOUSE_HOST", "WAREHOUSE_PASSWORD"} & set(worker["environment"])
    assert worker["entrypoint"][2:5] == ["waybill", "compose", "run"]
    profile = (ROOT / "dbt_project" / "profiles.yml").read_text()
    assert "env_var('WAREHOUSE_HOST'" in profile


def test_compose_run_derives_the_dbt_profile_from_warehouse_url():
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WAREHOUSE_")},
        "WAREHOUSE_URL": "postgresql://waybill:s3cret@warehouse:5432/waybill",
        "WAREHOUSE_TRANSFORMER_PASSWORD": "tr4nsformer",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://a:b@airflow-db/airflow",
    }
    waybill = Path(sys.executable).with_name("waybill")
    result = subprocess.run(
        [str(waybill), "compose", "run", "env"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    exported = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)

    assert exported["WAREHOUSE_HOST"] == "warehouse"
    assert exported["WAREHOUSE_PORT"] == "5432"
    # dbt logs in as the transformer role, at WAREHOUSE_URL's address.
    assert exported["WAREHOUSE_USER"] == "waybill_transformer"
    assert exported["WAREHOUSE_DBNAME"] == "waybill"


def test_the_generator_writes_a_private_git_ignored_file_and_never_rotates(tmp_path):
    path = tmp_path / ".env"
    first = write_env(path)
    before = read_env(path)
    second = write_env(path)

    assert first == list(SECRETS) and second == []
    assert read_env(path) == before
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(set(before.values())) == len(SECRETS)
    assert all(len(value) >= 32 for value in before.values())
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False
    ).returncode
    assert ignored == 0
    assert ".env" in (ROOT / ".dockerignore").read_text().split()
