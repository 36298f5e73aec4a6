"""Build history and exposure of evidence built with the EvidenceBuilder: a patch installed in
the middle of the logs, attacks before and after it, mitigations in place at attack time, and
the build read from ExSetup.exe and the SOFTWARE hive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from exhunt.artifacts.hive import Value
from exhunt.document import ScanDocument
from exhunt.model import Category, VerdictStatus
from exhunt.options import ScanOptions
from exhunt.scan import scan
from exhunt.testing.builder import PROXYLOGON_REWRITE_RULES, EvidenceBuilder, Row
from exhunt.testing.hive import hive_with
from exhunt.testing.pe import pe_with_version

RTM, MARCH = "15.1.2176.2", "15.1.2176.9"
DAY = datetime(2021, 3, 3, tzinfo=UTC)
PATCHED_AT = DAY + timedelta(hours=12)
PROXYLOGON = ["CVE-2021-26855", "CVE-2021-26857", "CVE-2021-26858", "CVE-2021-27065"]
ATTACKER, LATE_ATTACKER = "203.0.113.5", "198.51.100.9"


def row(when: datetime, build: str, **fields: str | int) -> Row:
    major, minor, number, revision = (int(p) for p in build.split("."))
    base: dict[str, str | int | datetime] = {
        "DateTime": when, "RequestId": f"r{when:%H%M%S}", "MajorVersion": major,
        "MinorVersion": minor, "BuildVersion": number, "RevisionVersion": revision,
        "Protocol": "Owa", "UrlStem": "/owa/", "Method": "GET", "HttpStatus": 200,
        "ClientIpAddress": "10.0.0.20", "UserAgent": "Mozilla/5.0",
    }  # fmt: skip
    base.update(fields)
    return base


def ssrf(when: datetime, build: str, ip: str, status: int, path: str) -> Row:
    return row(
        when, build, Protocol="Ecp", UrlStem="/ecp/y.js", Method="POST", HttpStatus=status,
        ClientIpAddress=ip, UserAgent="Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
        AnchorMailbox=f"ServerInfo~a]@exch01.corp.example:444{path}#",
    )  # fmt: skip


def server(
    tmp_path: Path,
    patch_at: datetime | None = PATCHED_AT,
    extra: dict[datetime, list[Row]] | None = None,
) -> EvidenceBuilder:
    """HttpProxy logs 08:00-15:59, the March update installed at ``patch_at`` (None: never)."""
    builder = EvidenceBuilder(tmp_path)
    for hour in range(8, 16):
        start = DAY + timedelta(hours=hour)
        rows = []
        for minute in (0, 20, 40, 59):
            when = start + timedelta(minutes=minute)
            rows.append(row(when, _build_at(when, patch_at)))
        rows += (extra or {}).get(start, [])
        rows.sort(key=lambda r: r["DateTime"])  # type: ignore[arg-type,return-value]
        builder.httpproxy("Ecp", start, rows, build=_build_at(start, patch_at))
    return builder


def _build_at(when: datetime, patch_at: datetime | None) -> str:
    return MARCH if patch_at is not None and when >= patch_at else RTM


def scanned(tmp_path: Path) -> ScanDocument:
    return scan([tmp_path], ScanOptions(jobs=1))


def test_patch_in_the_middle_of_the_logs_is_a_build_history(tmp_path: Path) -> None:
    server(tmp_path)
    doc = scanned(tmp_path)
    exchange = doc.exchange
    assert (exchange.build, exchange.cu, exchange.su) == (MARCH, "CU19", "Mar21SU")
    assert [(p.build, p.first, p.last) for p in exchange.build_history] == [
        (RTM, DAY + timedelta(hours=8), DAY + timedelta(hours=11, minutes=59)),
        (MARCH, PATCHED_AT, DAY + timedelta(hours=15, minutes=59)),
    ]
    exposures = {e.cve: e for e in exchange.exposure}
    assert sorted(exposures) == sorted(PROXYLOGON)
    first = exposures["CVE-2021-26855"]
    assert first.exposed_from == DAY + timedelta(hours=8)
    assert first.exposed_until == DAY + timedelta(hours=11, minutes=59)
    assert (first.exposed_at_collection, first.before_logs) == (False, True)
    assert first.fixed_by == "15.1.2176.9 (CU19 Mar21SU)"
    assert exchange.vulnerable_to == []
    assert exchange.value_sources == {
        "build": "log:exchange.httpproxy",
        "install_path": "install folder found in the evidence",
    }
    assert doc.verdict.status is VerdictStatus.CLEAN
    assert doc.verdict.reasons[-1] == (
        "The server was exposed to CVE-2021-26855, CVE-2021-26857, CVE-2021-26858, "
        "CVE-2021-27065 before its logs begin and patched later: an attack before the logs "
        "would not be visible."
    )


def test_patched_after_it_was_exploited_stays_compromised(tmp_path: Path) -> None:
    attack = DAY + timedelta(hours=9, minutes=5)
    rows = [
        ssrf(attack, RTM, ATTACKER, 200, "/autodiscover/autodiscover.xml?"),
        ssrf(attack + timedelta(seconds=4), RTM, ATTACKER, 241, "/ecp/proxyLogon.ecp?"),
    ]
    server(tmp_path, extra={DAY + timedelta(hours=9): rows})
    doc = scanned(tmp_path)
    assert doc.exchange.vulnerable_to == []
    assert doc.verdict.status is VerdictStatus.COMPROMISED
    assert doc.verdict.first_malicious == attack
    finding = doc.findings[0]
    assert (finding.category, finding.indicators.ips) == (Category.EXPLOITATION, [ATTACKER])


def test_probe_against_the_patched_build_is_informational(tmp_path: Path) -> None:
    probe = DAY + timedelta(hours=13, minutes=10)
    rows = [ssrf(probe, MARCH, LATE_ATTACKER, 500, "/ecp/proxyLogon.ecp?")]
    server(tmp_path, extra={DAY + timedelta(hours=13): rows})
    doc = scanned(tmp_path)
    [finding] = [f for f in doc.findings if LATE_ATTACKER in f.indicators.ips]
    assert finding.category is Category.INFORMATIONAL
    assert finding.title == "ProxyLogon SSRF attempt against a build that already had the fix"
    assert doc.verdict.status is VerdictStatus.CLEAN


def test_mitigation_in_place_at_attack_time_decides_per_cve(tmp_path: Path) -> None:
    mitigated_at = DAY + timedelta(hours=10)
    early = DAY + timedelta(hours=9, minutes=10)
    late = DAY + timedelta(hours=13, minutes=10)
    builder = server(tmp_path, patch_at=None, extra={
        DAY + timedelta(hours=9): [ssrf(early, RTM, ATTACKER, 500, "/ecp/proxyLogon.ecp?")],
        DAY + timedelta(hours=13): [ssrf(late, RTM, LATE_ATTACKER, 500, "/ecp/proxyLogon.ecp?")],
    })  # fmt: skip
    builder.web_config(PROXYLOGON_REWRITE_RULES, mtime=mitigated_at)
    doc = scanned(tmp_path)
    exchange = doc.exchange
    assert exchange.build == RTM
    assert exchange.vulnerable_to == PROXYLOGON[1:]
    assert exchange.mitigated == ["CVE-2021-26855"]
    ssrf_exposure = next(e for e in exchange.exposure if e.cve == "CVE-2021-26855")
    assert ssrf_exposure.exposed_at_collection is False
    assert ssrf_exposure.mitigated_since == mitigated_at
    assert ssrf_exposure.mitigation_leaves == (
        "CVE-2021-26857, CVE-2021-26858 and CVE-2021-27065 (post-authentication)"
    )
    by_ip = {f.indicators.ips[0]: f.category for f in doc.findings if f.indicators.ips}
    assert by_ip == {ATTACKER: Category.ATTEMPT, LATE_ATTACKER: Category.INFORMATIONAL}
    assert doc.verdict.status is VerdictStatus.ATTEMPTED
    assert any(
        r.startswith("CVE-2021-26855 is not patched but stopped by ProxyLogon mitigation")
        for r in doc.verdict.reasons
    )


def test_unpatched_unmitigated_and_no_attack_is_vulnerable(tmp_path: Path) -> None:
    server(tmp_path, patch_at=None)
    doc = scanned(tmp_path)
    assert doc.exchange.vulnerable_to == PROXYLOGON
    assert doc.verdict.status is VerdictStatus.VULNERABLE
    assert doc.verdict.reasons[0] == (
        "Exchange Server 2016 CU19 (15.1.2176.2) was exposed at collection time to "
        + ", ".join(PROXYLOGON)
        + "; fixed by 15.1.2176.9 (CU19 Mar21SU) or later."
    )


def _disk(builder: EvidenceBuilder, exsetup: str, msi: tuple[int, int, int, int]) -> None:
    version = tuple(int(p) for p in exsetup.split("."))
    builder.file(builder.exchange("Bin", "ExSetup.exe"), pe_with_version(version))  # type: ignore[arg-type]
    values: dict[str, Value] = {
        "MsiInstallPath": builder.install + "\\",
        "MsiProductMajor": msi[0], "MsiProductMinor": msi[1],
        "MsiBuildMajor": msi[2], "MsiBuildMinor": msi[3],
    }  # fmt: skip
    hive = hive_with({"Microsoft\\ExchangeServer\\v15\\Setup": values})
    builder.file("%windir%\\System32\\config\\SOFTWARE", hive)
    builder.directory(builder.exchange("FrontEnd", "HttpProxy", "owa", "auth", "15.1.2176.2"))
    builder.file(builder.exchange("FrontEnd", "HttpProxy", "owa", "auth", "15.1.2176.2",
                                  "scripts", "x.js"), "//")  # fmt: skip


def test_build_from_exsetup_and_registry_without_logs(tmp_path: Path) -> None:
    builder = EvidenceBuilder(tmp_path)
    _disk(builder, "15.1.2176.12", (15, 1, 2176, 2))
    exchange = scanned(tmp_path).exchange
    assert (exchange.build, exchange.su) == ("15.1.2176.12", "Apr21SU")
    assert exchange.value_sources["build"] == "ExSetup.exe version resource"
    assert sorted((s.source, s.build, s.precision) for s in exchange.build_sources) == [
        ("ExSetup.exe version resource", "15.1.2176.12", "build"),
        ("OWA version folder", "15.1.2176.2", "build"),
        ("SOFTWARE hive Setup MsiBuild values", "15.1.2176.2", "cu"),
    ]
    assert exchange.build_conflicts == []


def test_sources_that_disagree_are_reported(tmp_path: Path) -> None:
    builder = server(tmp_path, patch_at=None)
    _disk(builder, "15.1.2242.4", (15, 1, 2242, 4))
    exchange = scanned(tmp_path).exchange
    assert exchange.build == RTM
    assert [c.message for c in exchange.build_conflicts] == [
        "ExSetup.exe version resource says 15.1.2242.4, log:exchange.httpproxy says "
        "15.1.2176.2: an update installed after the last log line, or logs from another server",
        "SOFTWARE hive Setup MsiBuild values says 15.1.2242.4, log:exchange.httpproxy says "
        "15.1.2176.2: an update installed after the last log line, or logs from another server",
    ]
