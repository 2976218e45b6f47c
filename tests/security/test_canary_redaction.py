"""The places a secret could be printed show it masked: HTTP clients, ``waybill warehouse env``."""

from __future__ import annotations

from waybill import cli
from waybill.connectors.http import HttpClient

CANARY = "canary-token-7f3e1b"


def test_http_client_repr_hides_its_token():
    client = HttpClient(source="erp", base_url="http://erp", headers={"Authorization": CANARY})
    shown = f"{client!r} {client} {[client]}"
    assert CANARY not in shown
    assert "Authorization" in shown
    assert "http://erp" in shown


def test_warehouse_env_masks_passwords_unless_asked(monkeypatch, capsys):
    url = f"postgresql://someone:{CANARY}@db.example:5432/waybill"
    monkeypatch.setattr(
        "waybill.runtime.environment",
        lambda base=None: {"WAREHOUSE_PASSWORD": CANARY, "WAREHOUSE_URL": url, "DO_NOT_TRACK": "1"},
    )
    assert cli.main(["warehouse", "env"]) == 0
    masked = capsys.readouterr().out
    assert cli.main(["warehouse", "env", "--show-secrets"]) == 0
    shown = capsys.readouterr().out
    assert CANARY not in masked
    assert "export WAREHOUSE_PASSWORD='***'" in masked
    assert "postgresql://someone:***@db.example:5432/waybill" in masked
    assert "export DO_NOT_TRACK=1" in masked
    assert shown.count(CANARY) == 2


def test_warehouse_env_shows_the_transformer_login_masked(capsys):
    assert cli.main(["warehouse", "env"]) == 0
    out = capsys.readouterr().out
    assert "WAREHOUSE_USER=waybill_transformer" in out
    assert "WAREHOUSE_PASSWORD='***'" in out
