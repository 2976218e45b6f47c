"""The artifacts store: where tasks leave files for other tasks (local default, any fsspec URL)."""

from __future__ import annotations

from waybill import artifacts


def test_default_root_is_the_build_reports_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(artifacts.ARTIFACTS_URL_ENV, raising=False)
    monkeypatch.setenv("WAYBILL_BUILD_DIR", str(tmp_path / "build"))
    root = artifacts.root()
    assert artifacts.is_local(root)
    assert artifacts.local_path(root) == tmp_path / "build" / "reports"


def test_a_configured_url_wins_and_a_tree_is_published_there(monkeypatch, tmp_path):
    shared = tmp_path / "bucket"
    monkeypatch.setenv(artifacts.ARTIFACTS_URL_ENV, shared.as_uri())
    scratch = tmp_path / "scratch"
    (scratch / "site" / "validations").mkdir(parents=True)
    (scratch / "site" / "index.html").write_text("<html>index</html>")
    (scratch / "site" / "validations" / "v.html").write_text("<html>v</html>")

    target = artifacts.root() / "billing" / "run-1"
    copied = artifacts.publish_tree(scratch / "site", target / "site")
    artifacts.write_text(target / "gate.json", "[]")

    assert copied == 2
    assert (shared / "billing" / "run-1" / "site" / "validations" / "v.html").read_text() == (
        "<html>v</html>"
    )
    assert (shared / "billing" / "run-1" / "gate.json").read_text() == "[]"
    assert artifacts.publish_tree(tmp_path / "missing", target) == 0
