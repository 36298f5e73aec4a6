"""Result documents written by hand, so the store's rows can be checked field by field."""

from __future__ import annotations

from datetime import UTC, datetime

from exhunt.document import (
    ArtifactCoverage,
    Coverage,
    EvidenceFile,
    EvidenceInfo,
    EvidenceLocation,
    ExchangeInfo,
    Exposure,
    Finding,
    FindingIndicators,
    ScanDocument,
    ScanInfo,
    Tool,
    Verdict,
)
from exhunt.model import Category, Severity, VerdictStatus

T0 = datetime(2021, 3, 3, 7, 15, 7, tzinfo=UTC)
T1 = datetime(2021, 3, 3, 7, 48, 52, 580000, tzinfo=UTC)
SHELL_HASH = "AB" * 32
INSTALL = r"D:\Exchange Server\V15"


def webshell_finding(ip: str = "104.140.114.110", agent: str = "antSword/v2.1") -> Finding:
    return Finding(
        id="F1",
        rule="exhunt.webshell.request",
        title="Web shell",
        severity=Severity.CRITICAL,
        category=Category.WEBSHELL,
        cves=["CVE-2021-26855", "CVE-2021-27065"],
        attack=["T1505.003"],
        first_seen=T0,
        last_seen=T1,
        count=2,
        evidence=[
            EvidenceLocation(path="C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log", line=7,
                             time=T0, artifact="iis.w3c", rule="exhunt.webshell.request",
                             excerpt="POST /owa/auth/shell.aspx"),
            EvidenceLocation(path="D/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/shell.aspx",
                             windows_path=INSTALL + r"\FrontEnd\HttpProxy\owa\auth\shell.aspx",
                             artifact="fs.file"),
        ],
        indicators=FindingIndicators(
            ips=[ip, ip],
            user_agents=[agent, "-", "Mozilla/5.0 (Windows NT 10.0)"],
            urls=["/owa/auth/shell.aspx"],
            paths=["/owa/auth/shell.aspx", INSTALL + r"\FrontEnd\HttpProxy\owa\auth\Shell.aspx"],
            sha256=[SHELL_HASH],
            accounts=[],
        ),
    )  # fmt: skip


def dump_finding() -> Finding:
    return Finding(
        id="F2",
        rule="exhunt.files.lsass-dump",
        title="LSASS memory dump",
        severity=Severity.HIGH,
        category=Category.POST_EXPLOITATION,
        first_seen=T1,
        last_seen=T1,
        count=1,
        indicators=FindingIndicators(paths=[r"C:\Windows\Temp\lsass.dmp"], accounts=["CORP\\eve"]),
    )


def document(
    host: str = "EXCH01",
    verdict: VerdictStatus = VerdictStatus.COMPROMISED,
    findings: list[Finding] | None = None,
    build: str = "15.1.2106.2",
    shell_hash: str = SHELL_HASH.lower(),
    archive_hash: str | None = None,
) -> ScanDocument:
    files = [
        EvidenceFile(path="C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log", artifact="iis.w3c",
                     size=1200, sha256="11" * 32),
        EvidenceFile(path="D/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/shell.aspx",
                     artifact="fs.file", size=120, sha256=shell_hash),
        EvidenceFile(path="D/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/logon.aspx",
                     artifact="fs.file", size=300, sha256="22" * 32),
    ]  # fmt: skip
    return ScanDocument(
        tool=Tool(version="0.1.0", rules_version="abc123"),
        evidence=EvidenceInfo(path=f"/cases/{host}", kind="archive" if archive_hash else
                              "directory", host=host, sha256=archive_hash, read_bytes=1620,
                              files=files),
        exchange=ExchangeInfo(
            build=build, product="Exchange Server 2016", cu="CU18", install_path=INSTALL,
            vulnerable_to=["CVE-2021-26855"],
            exposure=[Exposure(cve="CVE-2021-26855", campaign="ProxyLogon", fixed_by="15.1.2106.13",
                               exposed_at_collection=True, before_logs=True),
                      Exposure(cve="CVE-2021-34473", campaign="ProxyShell",
                               exposed_at_collection=False)],
        ),
        verdict=Verdict(status=verdict, reasons=["r"], first_malicious=T0, last_malicious=T1),
        findings=[webshell_finding(), dump_finding()] if findings is None else findings,
        coverage=Coverage(artifacts=[ArtifactCoverage(type="iis.w3c", files=1, records=9,
                                                      first=T0, last=T1)]),
        scan=ScanInfo(started=T1, finished=T1, seconds=0.25),
    )  # fmt: skip
