"""Files IIS runs as scripts although their extension is not a script's.

A handler mapping (``web.config`` or ``applicationHost.config``) that sends ``*.jpg`` or any
unusual extension to ASP.NET's page compiler, classic ASP or a CGI is how a web shell hides
behind an image name. The file tree marks such files (``served_as``); this check reports each
one, more severely when its content holds server-side script.

Reference: https://learn.microsoft.com/iis/configuration/system.webserver/handlers/add
"""

from __future__ import annotations

from collections.abc import Iterator

from exhunt.detect.context import ScanContext
from exhunt.detect.hits import make_hit
from exhunt.detect.rules import RecordRule, register_check
from exhunt.model import Category, Hit, Record, RuleInfo, Severity


@register_check
class ScriptMappingCheck(RecordRule):
    info = RuleInfo(
        id="exhunt.files.script-mapping",
        title="File run as a script through an unusual IIS handler mapping",
        severity=Severity.MEDIUM,
        category=Category.WEBSHELL,
        attack=("T1505.003", "T1036.008"),
        description="IIS is configured to run files of this extension as server-side scripts; "
        "a stock Exchange or IIS has no such mapping. Examine the mapping and the file.",
        references=("https://learn.microsoft.com/iis/configuration/system.webserver/handlers/add",),
    )
    artifacts = frozenset({"fs.file"})

    def literals(self, artifact: str) -> frozenset[str] | None:
        return None

    def evaluate(self, record: Record, context: ScanContext) -> Iterator[Hit]:
        fields = record.fields
        handler = fields.get("served_as")
        if not handler:
            return
        path = fields.get("path", "")
        scripted = bool(fields.get("yara")) or fields.get("script_markers") == "true"
        what = "holds server-side script" if scripted else "content not recognised as script"
        yield make_hit(
            self.info,
            record,
            severity=Severity.HIGH if scripted else None,
            paths=(path,),
            sha256=(fields["sha256"],) if fields.get("sha256") else (),
            summary=f"{path} is run by {handler} "
            f"(mapped in {fields.get('served_by', '?')}); {what}",
            group="webshell",
            link=path.lower(),
        )
