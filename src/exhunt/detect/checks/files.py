"""Files the attackers leave: scripts in web folders, LSASS dumps, staged archives.

By path, name and time (content analysis with YARA is a separate engine); hashes are matched by
the IOC engine. Sources: CISA AA21-062A (locations to examine), Test-ProxyLogon (``lsass*.dmp``
under ``C:\\root`` and ``%WINDIR%\\temp``; ``.7z/.zip/.rar`` under ``%ProgramData%``, with the
false positives users reported from antivirus and backup software, CSS-Exchange #311, #328).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from exhunt.detect.context import ScanContext
from exhunt.detect.hits import make_hit
from exhunt.detect.rules import RecordRule, register_check
from exhunt.detect.stock import SERVER_SIDE, stock_files, url_key, url_of_file
from exhunt.model import Category, Hit, Record, RuleInfo, Severity

FILES = frozenset({"fs.file"})
_LSASS = re.compile(r"lsass[^/\\]*$", re.IGNORECASE)
_DUMP_EXT = ("", ".dmp", ".mdmp", ".hdmp", ".bin", ".zip")
_ARCHIVES = (".zip", ".7z", ".rar")
# Software whose own archives in ProgramData users reported as false positives; not escalated.
_KNOWN_VENDORS = (
    "mcafee", "symantec", "sophos", "trend micro", "kaspersky", "kaspersky lab", "eset",
    "microsoft", "windows defender", "veeam", "apprecovery", "quest", "acronis", "datto",
    "crowdstrike", "sentinel", "sentinelone", "carbon black", "cb", "bitdefender", "malwarebytes",
    "webroot", "package cache", "chocolatey", "dell", "hp", "hewlett-packard", "vmware", "citrix",
    "commvault", "arcserve", "veritas", "symantec.backupexec", "barracuda", "n-able", "solarwinds",
    "kaseya", "connectwise", "avast", "avast software", "avg", "f-secure", "panda security",
    "cylance", "trellix", "fireeye", "tenable", "qualys", "rapid7", "splunk", "intel", "nvidia",
    "mimecast", "gfi", "cisco", "checkpoint", "check point", "paloaltonetworks", "forcepoint",
)  # fmt: skip
_DROP_FOLDERS = (
    "frontend/httpproxy/owa/auth/",
    "frontend/httpproxy/ecp/auth/",
    "frontend/httpproxy/oab/",
    "aspnet_client/",
)
_SHELL_CONTENT = [
    re.compile(rb, re.IGNORECASE | re.DOTALL)
    for rb in (
        rb"eval\s*\(\s*request",
        rb"eval\s*\([^)]{0,60}request\s*[\.\[]",
        rb"request\s*[\.\[][^;]{0,200}(process\.start|processstartinfo|assembly\.load|\bexecute\s*\()",
        rb"(process\.start|processstartinfo|assembly\.load)[^;]{0,200}request\s*[\.\[]",
        rb"<script[^>]{0,80}runat\s*=\s*[\"']?server[^>]*>[^<]{0,400}(eval|execute)\s*\(",
        rb"convert\.frombase64string\s*\(\s*request",
    )
]
_CONTENT_LIMIT = 1 << 20


@register_check
class LsassDumpCheck(RecordRule):
    info = RuleInfo(
        id="exhunt.files.lsass-dump",
        title="LSASS memory dump on disk (credential theft)",
        severity=Severity.HIGH,
        category=Category.POST_EXPLOITATION,
        attack=("T1003.001",),
        description="A dump of lsass.exe holds the credentials of everyone logged on: assume "
        "every account that used this server is stolen.",
    )
    artifacts = FILES

    def literals(self, artifact: str) -> frozenset[str] | None:
        return None

    def evaluate(self, record: Record, context: ScanContext) -> Iterator[Hit]:
        name = record.fields.get("name", "")
        if _LSASS.search(name) and record.fields.get("ext", "") in _DUMP_EXT:
            if name.lower() == "lsass.exe":
                return
            path = record.fields.get("path", "")
            yield make_hit(self.info, record, paths=(path,), summary=f"LSASS dump {path}")


@register_check
class StagedArchiveCheck(RecordRule):
    info = RuleInfo(
        id="exhunt.files.programdata-archive",
        title="Archive in ProgramData (possible staging for exfiltration)",
        severity=Severity.MEDIUM,
        category=Category.POST_EXPLOITATION,
        attack=("T1560.001", "T1074.001"),
        description="The attackers packed stolen data with 7-Zip into C:\\ProgramData. "
        "Archives of known antivirus and backup software are not escalated.",
    )
    known = RuleInfo(
        id="exhunt.files.programdata-archive-known",
        title="Archives of known security or backup software in ProgramData (not escalated)",
        severity=Severity.INFO,
        category=Category.INFORMATIONAL,
    )
    artifacts = FILES

    @property
    def emits(self) -> tuple[RuleInfo, ...]:
        return (self.info, self.known)

    def literals(self, artifact: str) -> frozenset[str] | None:
        return None

    def evaluate(self, record: Record, context: ScanContext) -> Iterator[Hit]:
        fields = record.fields
        if fields.get("ext", "") not in _ARCHIVES:
            return
        parts = fields.get("rel", "").lower().split("/")
        if "programdata" not in parts[:-1]:
            return
        below = parts[parts.index("programdata") + 1 : -1]
        path = fields.get("path", "")
        info = self.known if below and below[0] in _KNOWN_VENDORS else self.info
        yield make_hit(info, record, paths=(path,), summary=f"archive {path}")


@register_check
class WebScriptCheck(RecordRule):
    info = RuleInfo(
        id="exhunt.files.web-script",
        title="Server-side script in a web folder that a stock Exchange does not have",
        severity=Severity.HIGH,
        category=Category.WEBSHELL,
        attack=("T1505.003",),
        description="CISA: any file in owa\\auth, ecp\\auth or aspnet_client that is not part of "
        "a standard install must be examined. Files elsewhere in web folders rank lower.",
        references=("https://us-cert.cisa.gov/ncas/alerts/aa21-062a",),
    )
    artifacts = FILES

    def literals(self, artifact: str) -> frozenset[str] | None:
        return None

    def evaluate(self, record: Record, context: ScanContext) -> Iterator[Hit]:
        fields = record.fields
        if fields.get("web") != "true" or not fields.get("ext", "").endswith(SERVER_SIDE):
            return
        install_rel = fields.get("install_rel")
        if install_rel is not None and stock_files().has_file(install_rel):
            return
        rel = fields.get("rel", "").lower()
        if fields.get("name", "").lower() == "web.config" and install_rel is None:
            return  # web.config in wwwroot is where IIS keeps URL Rewrite rules
        path = fields.get("path", "")
        in_drop = any(folder in rel for folder in _DROP_FOLDERS) or _in_site_root(rel)
        executes = _executes_request_input(fields)
        severity = Severity.CRITICAL if executes else (None if in_drop else Severity.MEDIUM)
        tags = ("executes-request-input",) if executes else ()
        what = "runs request input" if executes else "not in a stock install"
        url = url_of_file(fields.get("rel", ""), install_rel)
        yield make_hit(
            self.info,
            record,
            severity=severity,
            tags=tags,
            paths=(path,),
            sha256=(fields["sha256"],) if fields.get("sha256") else (),
            summary=f"{path} ({what}; modified {fields.get('mtime') or 'unknown'})",
            group="webshell",
            link=path.lower(),
            extra_keys=(url_key(url),) if url else (),
        )


def _in_site_root(rel: str) -> bool:
    index = rel.find("inetpub/wwwroot/")
    return index != -1 and "/" not in rel[index + len("inetpub/wwwroot/") :]


def _executes_request_input(fields: Mapping[str, str]) -> bool:
    """Request input handed to eval, a process or an assembly loader.

    The YARA rules tagged ``executes_request_input`` say so when the content analysis read the
    file; otherwise a cheap content test reads it here.
    """
    if "yara_tags" in fields:
        return "executes_request_input" in fields["yara_tags"].split()
    real = fields.get("real")
    if not real:
        return False
    try:
        with Path(real).open("rb") as fh:
            data = fh.read(_CONTENT_LIMIT)
    except OSError:
        return False
    return any(pattern.search(data) for pattern in _SHELL_CONTENT)
