"""web.config parsing: handlers, modules and URL Rewrite rules (EOMT mitigations)."""

from __future__ import annotations

from exhunt.evidence import WebConfig, load_web_config
from exhunt.evidence.webconfig import Condition, Handler, Module, RewriteRule

# wwwroot\web.config as EOMTv2 (2022-10-07 onwards) leaves it, with a hostile handler added.
MITIGATED = rb"""<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.webServer>
    <rewrite>
      <rules>
        <rule name="PowerShell - inbound" stopProcessing="true">
          <match url=".*" />
          <conditions>
            <add input="{UrlDecode:{REQUEST_URI}}" pattern="(?=.*autodiscover)(?=.*powershell)" />
          </conditions>
          <action type="AbortRequest" />
        </rule>
        <rule name="X-AnonResource-Backend Abort - inbound" enabled="False"
              patternSyntax="Wildcard">
          <match url="*" negate="true" ignoreCase="false" />
          <conditions logicalGrouping="MatchAny">
            <add input="{HTTP_COOKIE}" pattern="(.*)X-AnonResource-Backend(.*)" negate="true"
                 ignoreCase="false" matchType="Pattern" />
          </conditions>
          <action type="Rewrite" url="/owa/x" />
        </rule>
      </rules>
    </rewrite>
    <handlers>
      <clear />
      <add name="evil" path="*.jpg" verb="*" type="System.Web.UI.PageHandlerFactory" />
      <remove name="ignored" />
    </handlers>
    <modules>
      <add name="OwaModule" type="Owa.Module, Owa" />
    </modules>
  </system.webServer>
  <location path="aspnet_client">
    <system.webServer>
      <handlers>
        <add name="cgi" path="*.x" verb="GET,POST" modules="CgiModule"
             scriptProcessor="C:\Windows\System32\cmd.exe" />
      </handlers>
    </system.webServer>
  </location>
  <system.web>
    <httpHandlers><add path="*.axd" verb="*" type="Legacy.Handler" /></httpHandlers>
  </system.web>
</configuration>
"""


def test_rewrite_rules_with_documented_defaults() -> None:
    config = load_web_config(MITIGATED)
    assert config.warnings == ()
    assert config.rewrite_rules == (
        RewriteRule(
            name="PowerShell - inbound",
            enabled=True,
            stop_processing=True,
            pattern_syntax="ECMAScript",
            match_url=".*",
            match_negate=False,
            match_ignore_case=True,
            logical_grouping="MatchAll",
            conditions=(
                Condition("{UrlDecode:{REQUEST_URI}}", "(?=.*autodiscover)(?=.*powershell)"),
            ),
            action_type="AbortRequest",
            action_url=None,
            location="",
            scope="rules",
        ),
        RewriteRule(
            name="X-AnonResource-Backend Abort - inbound",
            enabled=False,
            stop_processing=False,
            pattern_syntax="Wildcard",
            match_url="*",
            match_negate=True,
            match_ignore_case=False,
            logical_grouping="MatchAny",
            conditions=(
                Condition(
                    "{HTTP_COOKIE}", "(.*)X-AnonResource-Backend(.*)", True, False, "Pattern"
                ),
            ),
            action_type="Rewrite",
            action_url="/owa/x",
            location="",
            scope="rules",
        ),
    )


def test_handlers_and_modules() -> None:
    config = load_web_config(MITIGATED)
    assert config.handlers == (
        Handler(
            "evil",
            "*.jpg",
            "*",
            "System.Web.UI.PageHandlerFactory",
            None,
            None,
            "",
            "system.webServer/handlers",
        ),
        Handler("", "*.axd", "*", "Legacy.Handler", None, None, "", "system.web/httpHandlers"),
        Handler(
            "cgi",
            "*.x",
            "GET,POST",
            None,
            "C:\\Windows\\System32\\cmd.exe",
            "CgiModule",
            "aspnet_client",
            "system.webServer/handlers",
        ),
    )
    assert config.modules == (
        Module("OwaModule", "Owa.Module, Owa", None, "", "system.webServer/modules"),
    )


def test_odd_booleans_keep_the_default_and_warn() -> None:
    config = load_web_config(
        b'<configuration><system.webServer><rewrite><rules><rule name="r" enabled="yes">'
        b'<match url=".*"/></rule></rules></rewrite></system.webServer></configuration>'
    )
    assert config.rewrite_rules[0].enabled is True
    assert config.rewrite_rules[0].action_type == "None"
    assert config.warnings == (
        "rewrite rule 'r' enabled: 'yes' is not true or false; taken as True",
    )


def test_broken_web_config_is_salvaged_section_by_section() -> None:
    broken = MITIGATED.replace(b"</handlers>\n    <modules>", b"<modules>", 1)
    config = load_web_config(broken)
    assert config.warnings == (
        "not well-formed XML: mismatched tag at line 31",
        "<system.webServer> block 1 is damaged: not well-formed XML: mismatched tag at line 29",
        "recovered 2 <system.webServer> block(s); locations unknown",
    )
    # The damaged block keeps its rules and modules; its unterminated handlers are lost.
    assert [r.name for r in config.rewrite_rules] == [
        "PowerShell - inbound",
        "X-AnonResource-Backend Abort - inbound",
    ]
    assert [m.name for m in config.modules] == ["OwaModule"]
    assert [(h.name, h.location) for h in config.handlers] == [("cgi", "")]


def test_hostile_web_config_never_crashes() -> None:
    for data in (b"", b"<!DOCTYPE x [<!ENTITY a 'b'>]><configuration/>", b"\xff" * 100):
        config = load_web_config(data)
        assert isinstance(config, WebConfig)
        assert config.warnings
        assert config.rewrite_rules == () and config.handlers == ()
