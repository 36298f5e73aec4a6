"""applicationHost.config parsing on real Exchange samples, and on hostile input."""

from __future__ import annotations

import pytest
from evidence_layouts import CONFIG_SAMPLES, shared_sample

from exhunt.evidence import IisConfig, load_iis_config
from exhunt.evidence.iisconfig import Binding, VirtualDirectory

E16_DEFAULT = "Shared__Tests__Data__E16_applicationHost_Default.config"
E19_DEFAULT = "Shared__Tests__Data__E19_applicationHost_Default.config"
BAD = (
    "Diagnostics__HealthChecker__Tests__DataCollection__E19__Exchange__IIS__"
    "BadApplicationHost.config"
)
SAMPLES = sorted(p.name for p in CONFIG_SAMPLES.glob("*.config")) if CONFIG_SAMPLES.exists() else []


def load(name: str) -> IisConfig:
    return load_iis_config(shared_sample(name).read_bytes())


def test_e16_sample_with_exchange_on_f() -> None:
    config = load(E16_DEFAULT)
    assert config.warnings == ()
    assert [(s.id, s.name) for s in config.sites] == [
        (1, "Default Web Site"),
        (2, "Exchange Back End"),
    ]
    front, back = config.sites
    assert front.physical_path("/owa") == (
        "F:\\Program Files\\Microsoft\\Exchange\\FrontEnd\\HttpProxy\\owa"
    )
    assert front.physical_path("/OWA/") == front.physical_path("/owa")
    assert front.physical_path("/") == "%SystemDrive%\\inetpub\\wwwroot"
    assert back.physical_path("/ecp") == "F:\\Program Files\\Microsoft\\Exchange\\ClientAccess\\ecp"
    assert back.physical_path("/Exchange") == (
        "F:\\Program Files\\Microsoft\\Exchange\\ClientAccess\\owa"
    )
    assert Binding("https", "*:444:") in back.bindings
    assert Binding("https", ":443:") in front.bindings
    assert len(front.applications) == 14
    assert front.applications[1].path == "/owa"
    assert front.applications[1].pool == "MSExchangeOWAAppPool"
    assert front.applications[1].virtual_directories == (
        VirtualDirectory(
            "/", "F:\\Program Files\\Microsoft\\Exchange\\FrontEnd\\HttpProxy\\owa", "/owa"
        ),
    )
    assert config.system_drive == "C"


def test_log_folders_per_site() -> None:
    config = load(E19_DEFAULT)
    assert config.default_log_directory == "%SystemDrive%\\inetpub\\logs\\LogFiles"
    assert [s.log_folder for s in config.sites] == [
        "%SystemDrive%\\inetpub\\logs\\LogFiles\\W3SVC1",
        "%SystemDrive%\\inetpub\\logs\\LogFiles\\W3SVC2",
    ]
    assert config.log_folders() == tuple(s.log_folder for s in config.sites)
    assert all(s.log_format == "W3C" and s.log_enabled for s in config.sites)


def test_e19_owa_vdir_and_global_modules() -> None:
    config = load(E19_DEFAULT)
    site = config.site("default web site")
    assert site is not None and site is config.site(1)
    assert site.physical_path("/owa") == (
        "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\FrontEnd\\HttpProxy\\owa"
    )
    native = {m.name: m.image for m in config.web.modules if m.section == "globalModules"}
    assert native["HttpLoggingModule"] == "%windir%\\System32\\inetsrv\\loghttp.dll"
    isapi = [h for h in config.web.handlers if h.name == "ISAPI-dll"]
    assert [h.location for h in isapi] == [
        "",
        "Exchange Back End/Autodiscover",
        "Exchange Back End/Microsoft-Server-ActiveSync",
        "Default Web Site/Autodiscover",
    ]


@pytest.mark.parametrize("name", [n for n in SAMPLES if n != BAD])
def test_every_good_sample_parses_cleanly(name: str) -> None:
    config = load(name)
    assert config.warnings == ()
    assert [(s.id, s.name) for s in config.sites] == [
        (1, "Default Web Site"),
        (2, "Exchange Back End"),
    ]


def test_bad_sample_recovers_sites_with_warnings() -> None:
    config = load(BAD)
    assert config.warnings == (
        "not well-formed XML: mismatched tag at line 128",
        "recovered 2 site(s) and 45 <system.webServer> block(s) from the damaged file",
    )
    assert [(s.id, s.name) for s in config.sites] == [
        (1, "Default Web Site"),
        (2, "Exchange Back End"),
    ]
    assert config.sites[0].physical_path("/owa") == (
        "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\FrontEnd\\HttpProxy\\owa"
    )


def test_site_log_settings_override_the_defaults() -> None:
    config = load_iis_config(
        b"""<configuration><system.applicationHost>
        <sites>
          <site name="A" id="1"><logFile directory="E:\\IISLogs" /></site>
          <site name="B" id="7" />
          <siteDefaults>
            <logFile directory="D:\\Logs" logFormat="IIS" enabled="false" />
          </siteDefaults>
        </sites>
        </system.applicationHost></configuration>"""
    )
    assert [(s.log_folder, s.log_format, s.log_enabled) for s in config.sites] == [
        ("E:\\IISLogs\\W3SVC1", "IIS", False),
        ("D:\\Logs\\W3SVC7", "IIS", False),
    ]
    assert config.default_log_directory == "D:\\Logs"


def test_central_w3c_logging() -> None:
    config = load_iis_config(
        b"""<configuration><system.applicationHost>
        <log centralLogFileMode="CentralW3C">
          <centralW3CLogFile enabled="true" directory="F:\\Central" />
        </log>
        <sites><site name="A" id="1" /></sites>
        </system.applicationHost></configuration>"""
    )
    assert config.log_folders() == ("F:\\Central\\W3SVC",)


def test_utf16_file() -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?><configuration><system.applicationHost>'
    text += '<sites><site name="Default Web Site" id="1" /></sites>'
    text += "</system.applicationHost></configuration>"
    config = load_iis_config(b"\xff\xfe" + text.encode("utf-16-le"))
    assert config.warnings == ()
    assert [s.name for s in config.sites] == ["Default Web Site"]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<configuration><system.applicationHost><sites><site name="&lol3;" id="1" /></sites>
</system.applicationHost></configuration>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE c [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<configuration><system.applicationHost><sites><site name="&xxe;" id="1" /></sites>
</system.applicationHost></configuration>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_entities_are_never_expanded(data: bytes) -> None:
    config = load_iis_config(data)
    assert config.warnings[0] == "DOCTYPE declarations are not accepted in configuration files"
    assert all("lol" not in s.name and "root:" not in s.name for s in config.sites)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"<configuration>",
        b"<a>" * 100_000,
        b'<configuration><system.applicationHost><sites><site id="x"/><site id="99999999999"/>',
        bytes(range(256)) * 100,
    ],
)
def test_hostile_input_never_crashes(data: bytes) -> None:
    config = load_iis_config(data)
    assert isinstance(config, IisConfig)
    assert config.warnings


def test_unusable_site_ids_become_none_with_a_warning() -> None:
    config = load_iis_config(
        b'<configuration><system.applicationHost><sites><site name="A" id="one"/>'
        b"</sites></system.applicationHost></configuration>"
    )
    assert config.sites[0].id is None
    assert config.sites[0].log_folder is None
    assert config.warnings == ("site 'A' has no usable id ('one')",)
