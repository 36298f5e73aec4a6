"""CVE-2021-26858: the OAB generator made to download a file outside its own folder.

A legitimate download goes to ``<install>\\ClientAccess\\OAB\\Temp``; the exploit names any
other local or UNC path, and the log says ``Download failed and temporary file '<path>' needs
to be removed``. Test-ProxyLogon flags the lines whose path does not start with
``'<install>ClientAccess\\OAB``; exhunt does the same, and when the install path is unknown it
falls back to looking for ``\\ClientAccess\\OAB\\`` anywhere in the path.

References:
    microsoft/CSS-Exchange Security/src/Test-ProxyLogon.ps1
    https://www.microsoft.com/security/blog/2021/03/02/hafnium-targeting-exchange-servers/
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from exhunt.detect.context import ScanContext
from exhunt.detect.hits import make_hit
from exhunt.detect.rules import RecordRule, register_check
from exhunt.model import Category, Hit, Record, RuleInfo, Severity

_DOWNLOAD = re.compile(
    r"Download failed and temporary file (?P<path>.*?) needs to be removed", re.IGNORECASE
)
_WEB_SCRIPT = re.compile(r"\.(aspx|ashx|asmx|asp|asax|cshtml|config)$", re.IGNORECASE)


@register_check
class OabDownloadCheck(RecordRule):
    info = RuleInfo(
        id="exhunt.proxylogon.oab-write",
        title="OAB generator wrote a file outside its folder (CVE-2021-26858)",
        severity=Severity.HIGH,
        category=Category.EXPLOITATION,
        cves=("CVE-2021-26858",),
        attack=("T1190", "T1505.003"),
        description="A failed OAB download left a temporary file outside "
        "<install>\\ClientAccess\\OAB: the post-authentication arbitrary file write.",
        references=(
            "https://github.com/microsoft/CSS-Exchange/blob/main/Security/src/Test-ProxyLogon.ps1",
        ),
    )
    artifacts = frozenset({"exchange.oab_generator"})

    def literals(self, artifact: str) -> frozenset[str] | None:
        return frozenset({"download failed and temporary file"})

    def evaluate(self, record: Record, context: ScanContext) -> Iterator[Hit]:
        match = _DOWNLOAD.search(record.raw)
        if match is None:
            return
        path = match.group("path").strip().strip("'\"")
        if _is_oab_folder(path, context.install_path):
            return
        severity = Severity.CRITICAL if _WEB_SCRIPT.search(path) else None
        yield make_hit(
            self.info,
            record,
            paths=(path,),
            severity=severity,
            group="proxylogon",
            summary=f"OAB generator temporary file at {path}",
        )


def _is_oab_folder(path: str, install: str | None) -> bool:
    lowered = path.lower().replace("/", "\\")
    if install:
        prefix = install.lower().replace("/", "\\")
        if not prefix.endswith("\\"):
            prefix += "\\"
        return lowered.startswith(prefix + "clientaccess\\oab")
    return "\\clientaccess\\oab\\" in lowered
