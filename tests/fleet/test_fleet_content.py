"""``exhunt fleet scan`` with the detection content of a single scan: --yara, --baseline and the
file limits reach every worker, and the stored results carry their findings."""

from __future__ import annotations

from pathlib import Path

import pytest
from fleet_servers import manifest

from exhunt.cli.main import main
from exhunt.store import open_store

AUTH = "C/Program Files/Microsoft/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth"
MARKER_RULE = 'rule fleet_marker { strings: $a = "fleet-marker-42" condition: $a }\n'


def _server(root: Path, logon: str) -> Path:
    auth = root / AUTH
    (auth / "15.2.1118.7" / "themes").mkdir(parents=True)
    (auth / "15.2.1118.7" / "themes" / "a.css").write_text("css", "utf-8")
    (auth / "logon.aspx").write_text(logon, "utf-8")
    (root / "C/Program Files/Microsoft/Exchange Server/V15/Bin").mkdir(parents=True)
    (root / "C/Program Files/Microsoft/Exchange Server/V15/Bin/ExSetup.exe").write_text("x")
    return root


@pytest.fixture
def fleet(tmp_path: Path) -> tuple[list[Path], Path]:
    servers = [
        _server(tmp_path / "s1", "<%@ Page %>"),
        _server(tmp_path / "s2", "<%@ Page %>"),
        _server(tmp_path / "s3", "<%@ Page %>fleet-marker-42"),
    ]
    rows = [(f"Org{n}", f"EX{n}", path) for n, path in enumerate(servers, 1)]
    return servers, manifest(tmp_path / "m.csv", rows)


def _stored_rules(store: Path) -> dict[str, list[str]]:
    with open_store(store, create=False) as opened:
        return {
            scan.host: sorted(r for f in opened.document(scan.id).findings for r in f.rules)
            for scan in opened.scans()
        }


def test_fleet_scan_with_user_yara_and_a_baseline(
    fleet: tuple[list[Path], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    servers, rows = fleet
    baseline = tmp_path / "baseline.json"
    assert main(["baseline", "build", str(servers[0]), str(servers[1]), "-o", str(baseline)]) == 0
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "marker.yar").write_text(MARKER_RULE, "utf-8")
    (rules / "broken.yar").write_text("rule broken { condition: nonsense }\n", "utf-8")
    store = tmp_path / "fleet.db"
    args = ["fleet", "scan", str(rows), "--store", str(store), "-j", "2", "-q"]
    code = main([*args, "--yara", str(rules), "--baseline", str(baseline)])
    assert code == 0, capsys.readouterr()
    assert _stored_rules(store) == {
        "EX1": [],
        "EX2": [],
        "EX3": ["exhunt.baseline.changed", "yara.fleet_marker"],
    }


def test_fleet_scan_file_limits_reach_the_workers(
    fleet: tuple[list[Path], Path], tmp_path: Path
) -> None:
    servers, rows = fleet
    big = servers[2] / AUTH / "big.aspx"
    big.write_bytes(b"fleet-marker-42" + b" " * (2 << 20))
    rules = tmp_path / "marker.yar"
    rules.write_text(MARKER_RULE, "utf-8")
    store = tmp_path / "fleet.db"
    args = ["fleet", "scan", str(rows), "--store", str(store), "-j", "1", "-q", "--yara"]
    assert main([*args, str(rules), "--max-file-size", "1"]) == 0
    with open_store(store, create=False) as opened:
        ex3 = next(s for s in opened.scans() if s.host == "EX3")
        document = opened.document(ex3.id)
    skipped = [line for line in document.coverage.skipped if "big.aspx" in line]
    assert len(skipped) == 1 and "larger than" in skipped[0], document.coverage.skipped
