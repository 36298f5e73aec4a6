"""Baselines of known-good servers and peers of the same build."""

from __future__ import annotations

from pathlib import Path

from exhunt.findings.baseline import (
    Manifest,
    ManifestEntry,
    build_baseline,
    compare,
    compare_peers,
    key_of,
    load_baseline,
)

A, B, C = "a" * 64, "b" * 64, "c" * 64
LOGON = "exchange/frontend/httpproxy/owa/auth/logon.aspx"
SHELL = "exchange/frontend/httpproxy/owa/auth/x.aspx"


def _manifest(server: str, files: dict[str, str], build: str = "15.2.1118.7") -> Manifest:
    entries = tuple(ManifestEntry(k, h, f"C:\\{k}", k) for k, h in sorted(files.items()))
    return Manifest(server, build, entries)


def test_baseline_round_trip_and_compare(tmp_path: Path) -> None:
    baseline = build_baseline([_manifest("good1", {LOGON: A}), _manifest("good2", {LOGON: B})])
    path = tmp_path / "baseline.json"
    path.write_text(baseline.to_json(), "utf-8")
    loaded = load_baseline(path)
    assert loaded.builds == {"15.2.1118.7": {LOGON: {A, B}}}
    assert loaded.servers == {"15.2.1118.7": ["good1", "good2"]}
    found = compare(_manifest("srv", {LOGON: C, SHELL: A}), loaded)
    assert [(d.kind, d.entry.key, d.known) for d in found] == [
        ("changed", LOGON, (A, B)),
        ("added", SHELL, ()),
    ]
    assert compare(_manifest("srv", {LOGON: A}), loaded) == []
    assert compare(_manifest("srv", {SHELL: A}, build="15.1.2507.6"), loaded) == []


def test_peers_of_a_build_are_each_others_baseline() -> None:
    found = compare_peers([
        _manifest("s1", {LOGON: A}),
        _manifest("s2", {LOGON: A}),
        _manifest("s3", {LOGON: B, SHELL: C}),
        _manifest("other", {SHELL: C}, build="15.1.2507.6"),
    ])  # fmt: skip
    assert sorted(found) == ["s1", "s2", "s3"]
    assert found["s1"] == [] and found["s2"] == []
    assert [(d.kind, d.entry.key, d.against) for d in found["s3"]] == [
        ("changed", LOGON, "peers s1, s2"),
        ("added", SHELL, "peers s1, s2"),
    ]


def test_two_peers_that_disagree_do_not_blame_each_other() -> None:
    found = compare_peers([_manifest("s1", {LOGON: A}), _manifest("s2", {LOGON: B})])
    assert found == {"s1": [], "s2": []}


def test_keys_are_alike_across_installs_and_versions() -> None:
    fields = {"web": "true", "install_rel": "FrontEnd/HttpProxy/owa/auth/15.2.1118.7/x.aspx"}
    assert key_of(fields) == "exchange/frontend/httpproxy/owa/auth/{version}/x.aspx"
    web = {"web": "true", "web_root": "d/inetpub/wwwroot", "rel": "D/inetpub/wwwroot/a/B.aspx"}
    assert key_of(web) == "web/wwwroot/a/b.aspx"
    assert key_of({"web": "false", "rel": "x"}) is None
