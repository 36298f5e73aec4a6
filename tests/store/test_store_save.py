"""Saving documents: every normalised row, the document kept whole, each evidence once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy
from store_docs import INSTALL, SHELL_HASH, T0, document

from exhunt.document import ScanDocument
from exhunt.store import Store, evidence_key, open_store, store_url
from exhunt.store.engine import make_engine
from exhunt.store.prepare import indicator_digest


@pytest.fixture
def store(target: str) -> Iterator[Store]:
    with open_store(target) as opened:
        yield opened


def rows(target: str, sql: str) -> list[tuple[Any, ...]]:
    engine = make_engine(store_url(target))
    with engine.connect() as connection:
        found = [tuple(r) for r in connection.execute(sqlalchemy.text(sql))]
    engine.dispose()
    return found


def test_a_document_becomes_its_rows(store: Store, target: str) -> None:
    doc = document()
    result = store.save(doc, "Contoso", labels={"sector": "health"})
    assert (result.scan_id, result.created) == (1, True)
    assert rows(target, "SELECT id, name FROM organisations") == [(1, "Contoso")]
    assert rows(target, "SELECT id, organisation_id, name FROM hosts") == [(1, 1, "EXCH01")]
    [scan] = store.scans()
    assert (scan.organisation, scan.host, scan.verdict, scan.build) == (
        "Contoso", "EXCH01", "compromised", "15.1.2106.2")  # fmt: skip
    assert (scan.evidence_sha256, scan.evidence_path) == (evidence_key(doc), "/cases/EXCH01")
    assert (scan.finding_count, scan.first_malicious) == (2, T0)
    columns = (
        "evidence_kind, evidence_host, product, cu, install_path, max_severity, "
        "error_count, tool_version, rules_version, document_schema, labels, seconds"
    )
    assert rows(target, f"SELECT {columns} FROM scans") == [
        ("directory", "EXCH01", "Exchange Server 2016", "CU18", INSTALL, "critical", 0, "0.1.0",
         "abc123", 1, '{"sector": "health"}', 0.25)
    ]  # fmt: skip


def test_times_come_back_as_aware_utc(store: Store) -> None:
    store.save(document(), "Contoso")
    [scan] = store.scans()
    assert scan.first_malicious == T0
    assert scan.first_malicious.tzinfo is UTC  # type: ignore[union-attr]
    assert scan.stored_at.tzinfo is UTC
    assert abs((datetime.now(UTC) - scan.stored_at).total_seconds()) < 60


def test_findings_locations_exposures_and_files(store: Store, target: str) -> None:
    store.save(document(), "Contoso")
    assert rows(target, "SELECT number, finding_id, rule, severity, category, cves, attack, count "
                "FROM findings ORDER BY number") == [
        (1, "F1", "exhunt.webshell.request", "critical", "webshell",
         "CVE-2021-26855 CVE-2021-27065", "T1505.003", 2),
        (2, "F2", "exhunt.files.lsass-dump", "high", "post-exploitation", "", "", 1),
    ]  # fmt: skip
    assert rows(target, "SELECT number, seq, path, windows_path, line, artifact "
                "FROM evidence_locations ORDER BY seq") == [
        (1, 0, "C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log", None, 7, "iis.w3c"),
        (1, 1, "D/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/shell.aspx",
         INSTALL + r"\FrontEnd\HttpProxy\owa\auth\shell.aspx", None, "fs.file"),
    ]  # fmt: skip
    assert rows(target, "SELECT cve, campaign, fixed_by, exposed_at_collection, before_logs, "
                "mitigated FROM exposures ORDER BY cve") == [
        ("CVE-2021-26855", "ProxyLogon", "15.1.2106.13", True, True, False),
        ("CVE-2021-34473", "ProxyShell", None, False, False, False),
    ]  # fmt: skip
    assert rows(target, "SELECT path, sha256, size FROM files ORDER BY path") == [
        ("D/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/logon.aspx", "22" * 32, 300),
        ("D/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/shell.aspx", "ab" * 32, 120),
    ]


def test_indicators_with_names_and_tools_for_pivots(store: Store, target: str) -> None:
    store.save(document(), "Contoso")
    found = rows(target, "SELECT number, kind, value, category, digest FROM indicators")
    assert sorted(r[:4] for r in found) == [
        (1, "ip", "104.140.114.110", "webshell"),
        (1, "path", "/owa/auth/shell.aspx", "webshell"),
        (1, "path", INSTALL + r"\FrontEnd\HttpProxy\owa\auth\Shell.aspx", "webshell"),
        (1, "sha256", SHELL_HASH.lower(), "webshell"),
        (1, "tool", "antSword", "webshell"),
        (1, "url", "/owa/auth/shell.aspx", "webshell"),
        (1, "user_agent", "Mozilla/5.0 (Windows NT 10.0)", "webshell"),
        (1, "user_agent", "antSword/v2.1", "webshell"),
        (1, "webshell_name", "shell.aspx", "webshell"),
        (2, "account", "CORP\\eve", "post-exploitation"),
        (2, "file_name", "lsass.dmp", "post-exploitation"),
        (2, "path", r"C:\Windows\Temp\lsass.dmp", "post-exploitation"),
    ]
    for _, kind, value, _, digest in found:
        assert digest == indicator_digest(kind, value)


def test_the_document_comes_back_as_it_was_saved(store: Store) -> None:
    doc = document()
    result = store.save(doc, "Contoso")
    assert store.document(result.scan_id).to_json() == doc.to_json()


def test_the_same_evidence_is_stored_once(store: Store, target: str) -> None:
    doc = document()
    first = store.save(doc, "Contoso")
    again = store.save(ScanDocument.from_json(doc.to_json()), "Contoso")
    assert (again.scan_id, again.created) == (first.scan_id, False)
    for table in ("scans", "documents", "findings", "indicators", "files", "exposures"):
        count = rows(target, f"SELECT count(*) FROM {table}")[0][0]
        assert count == {"scans": 1, "documents": 1, "findings": 2, "indicators": 12,
                         "files": 2, "exposures": 2}[table], table  # fmt: skip


def test_new_evidence_of_a_host_is_a_new_scan_and_other_organisations_are_apart(
    store: Store,
) -> None:
    store.save(document(), "Contoso")
    later = store.save(document(shell_hash="cd" * 32), "Contoso")
    elsewhere = store.save(document(), "Fabrikam")
    assert (later.created, elsewhere.created) == (True, True)
    assert [(s.organisation, s.host) for s in store.scans()] == [
        ("Contoso", "EXCH01"), ("Contoso", "EXCH01"), ("Fabrikam", "EXCH01")]  # fmt: skip


def test_an_archive_is_keyed_by_its_own_hash() -> None:
    assert evidence_key(document(archive_hash="EF" * 32)) == "ef" * 32


def test_a_folder_is_keyed_by_what_was_read_wherever_it_lies() -> None:
    doc = document()
    moved = ScanDocument.from_json(doc.to_json())
    moved.evidence.path = "/elsewhere/copy"
    changed = document(shell_hash="cd" * 32)
    entries = "".join(
        f"{f.path}\0{f.size}\0{f.sha256}\n"
        for f in sorted(doc.evidence.files, key=lambda f: f.path)
    )
    expected = hashlib.sha256(("directory\n" + entries).encode()).hexdigest()
    assert evidence_key(doc) == evidence_key(moved) == expected
    assert evidence_key(changed) != expected


def test_labels_are_json_and_a_host_defaults_to_the_evidence_host(store: Store) -> None:
    doc = document(host="MAIL02")
    store.save(doc, "Contoso", labels={"b": "2", "a": "1"})
    [scan] = store.scans()
    assert scan.host == "MAIL02"
    labels = store._read(lambda c: c.exec_driver_sql("SELECT labels FROM scans").scalar())
    assert json.loads(labels) == {"a": "1", "b": "2"}
