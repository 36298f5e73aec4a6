"""Manifests as users write them: CSV from a spreadsheet or JSON Lines from a script; bad
rows named by line and left out, never stopping the others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exhunt.exceptions import FleetError
from exhunt.fleet import BadRow, ManifestRow, load_manifest


def test_csv_rows_with_labels_and_relative_paths(tmp_path: Path) -> None:
    path = tmp_path / "cases" / "servers.csv"
    path.parent.mkdir()
    path.write_bytes(
        "\ufeffOrganisation,Host,Evidence,labels,sector\r\n"
        "# a comment line\r\n"
        "Contoso,EXCH01,srv1.zip,case=42;analyst=ann,health\r\n"
        "\r\n"
        '"Fabrikam, Inc.",MAIL01,/data/fab/mail01/,,\r\n'
        "Tailspin,EX2016,file:///data/tail%20spin/ex.zip,,energy\r\n".encode()
    )
    found = load_manifest(path)
    assert found.bad == ()
    assert found.rows == (
        ManifestRow(3, "Contoso", "EXCH01", str(tmp_path / "cases" / "srv1.zip"),
                    {"case": "42", "analyst": "ann", "sector": "health"}),
        ManifestRow(5, "Fabrikam, Inc.", "MAIL01", "/data/fab/mail01", {}),
        ManifestRow(6, "Tailspin", "EX2016", "/data/tail spin/ex.zip", {"sector": "energy"}),
    )  # fmt: skip


def test_csv_column_names_have_aliases(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("organization,hostname,path\nContoso,EXCH01,/e\n")
    assert load_manifest(path).rows == (ManifestRow(2, "Contoso", "EXCH01", "/e", {}),)


def test_bad_csv_rows_are_reported_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(
        b"organisation,host,evidence\n"
        b"Contoso,EXCH01,/e/1\n"
        b"Contoso,,/e/2\n"
        b"Contoso,EXCH02\n"
        b"Contoso,EXCH01,/e/1\n"
        b"Contoso,EXCH03,/e/3,surplus\n"
        b"Contoso,EXCH04,s3://bucket/ex.zip\n"
        b"Contoso,EX\xff05,/e/5\n"
        b'Contoso,EXCH06,/e/6,"case"\n'
        b"Contoso,EXCH07,/e/7\n"
    )
    found = load_manifest(path)
    assert [r.line for r in found.rows] == [2, 10]
    assert found.bad == (
        BadRow(3, "missing host"),
        BadRow(4, "missing evidence"),
        BadRow(5, "duplicate of line 2"),
        BadRow(6, "4 cells for 3 columns"),
        BadRow(7, "evidence: unsupported URI scheme 's3' (give a path or a file:// URI; see "
                  "docs/fleet.md for evidence on other machines)"),
        BadRow(8, "host: not valid UTF-8"),
        BadRow(9, "4 cells for 3 columns"),
    )  # fmt: skip


def test_a_header_without_a_required_column_stops_before_any_work(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("organisation,server_name,evidence\nContoso,EXCH01,/e\n")
    with pytest.raises(FleetError, match=r"m.csv:1: the header lacks the column\(s\) host"):
        load_manifest(path)


def test_jsonl_rows(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    lines = [
        {"organisation": "Contoso", "host": "EXCH01", "evidence": "a/b", "labels": {"case": 7}},
        {"org": "Fabrikam", "host": "MAIL01", "evidence": "/x", "labels": "k=v", "tier": "gold"},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    assert load_manifest(path).rows == (
        ManifestRow(1, "Contoso", "EXCH01", str(tmp_path / "a" / "b"), {"case": "7"}),
        ManifestRow(2, "Fabrikam", "MAIL01", "/x", {"k": "v", "tier": "gold"}),
    )


def test_bad_jsonl_rows(tmp_path: Path) -> None:
    path = tmp_path / "m.ndjson"
    path.write_text(
        '{"organisation": "Contoso", "host": "A", "evidence": "/a"}\n'
        '{"organisation": "Contoso", "host": "B", "evidence": \n'
        '["Contoso", "C", "/c"]\n'
        '{"organisation": "Contoso", "host": {"name": "D"}, "evidence": "/d"}\n'
        '{"organisation": "Contoso", "host": "E", "evidence": "/e", "labels": "nokey"}\n'
        '{"organisation": "Contoso", "host": "A", "evidence": "/a"}\n'
    )
    found = load_manifest(path)
    assert [r.host for r in found.rows] == ["A"]
    assert [b.line for b in found.bad] == [2, 3, 4, 5, 6]
    assert found.bad[1:] == (
        BadRow(3, "expected a JSON object, got list"),
        BadRow(4, "host: expected text, not dict"),
        BadRow(5, "labels: expected key=value;key=value, got 'nokey'"),
        BadRow(6, "duplicate of line 1"),
    )
    assert found.bad[0].reason.startswith("not JSON: ")


def test_the_format_is_sniffed_when_the_name_does_not_say(tmp_path: Path) -> None:
    path = tmp_path / "servers"
    path.write_text('\n{"organisation": "Contoso", "host": "A", "evidence": "/a"}\n')
    assert [r.host for r in load_manifest(path).rows] == ["A"]


def test_an_unreadable_manifest_is_a_fleet_error(tmp_path: Path) -> None:
    with pytest.raises(FleetError, match=r"cannot read the manifest .*nothing\.csv"):
        load_manifest(tmp_path / "nothing.csv")
