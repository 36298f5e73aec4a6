"""applicationHost.config and web.config of an Exchange server, written like the real ones."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from exhunt.testing.formats import CRLF, RewriteRule, _names

_POOLS = _names(
    "MSExchangePowerShellAppPool MSExchangeMapiMailboxAppPool MSExchangeMapiAddressBookAppPool "
    "MSExchangeRestAppPool MSExchangeOWAAppPool MSExchangeOWACalendarAppPool MSExchangeOABAppPool "
    "MSExchangeECPAppPool MSExchangeAutodiscoverAppPool MSExchangeSyncAppPool "
    "MSExchangeServicesAppPool MSExchangeRpcProxyAppPool MSExchangeRestFrontEndAppPool "
    "MSExchangePowerShellFrontEndAppPool MSExchangeMapiFrontEndAppPool "
    "MSExchangeRpcProxyFrontEndAppPool MSExchangePushNotificationsAppPool"
)
# "site application pool physical-path" (physical path relative to the install folder unless %).
_APPS = (
    "1 /owa OWA FrontEnd\\HttpProxy\\owa;1 /owa/Calendar OWACalendar FrontEnd\\HttpProxy\\owa;"
    "1 /owa/Integrated OWA FrontEnd\\HttpProxy\\owa;1 /owa/oma OWA FrontEnd\\HttpProxy\\owa;"
    "1 /ecp ECP FrontEnd\\HttpProxy\\ecp;1 /EWS Services FrontEnd\\HttpProxy\\EWS;"
    "1 /API RestFrontEnd FrontEnd\\HttpProxy\\Rest;"
    "1 /Autodiscover Autodiscover FrontEnd\\HttpProxy\\Autodiscover;"
    "1 /Microsoft-Server-ActiveSync Sync FrontEnd\\HttpProxy\\sync;"
    "1 /OAB OAB FrontEnd\\HttpProxy\\OAB;1 /mapi MapiFrontEnd FrontEnd\\HttpProxy\\mapi;"
    "1 /PowerShell PowerShellFrontEnd FrontEnd\\HttpProxy\\PowerShell;"
    "1 /Rpc RpcProxyFrontEnd FrontEnd\\HttpProxy\\rpc;"
    "2 /PowerShell PowerShell ClientAccess\\PowerShell-Proxy;"
    "2 /mapi/emsmdb MapiMailbox ClientAccess\\mapi\\emsmdb;"
    "2 /mapi/nspi MapiAddressBook ClientAccess\\mapi\\nspi;2 /API Rest ClientAccess\\rest;"
    "2 /owa OWA ClientAccess\\owa;2 /owa/Calendar OWACalendar ClientAccess\\owa;"
    "2 /OAB OAB ClientAccess\\OAB;2 /ecp ECP ClientAccess\\ecp;"
    "2 /Autodiscover Autodiscover ClientAccess\\Autodiscover;"
    "2 /Microsoft-Server-ActiveSync Sync ClientAccess\\sync;"
    "2 /EWS Services ClientAccess\\exchweb\\EWS;"
    "2 /EWS/bin Services ClientAccess\\exchweb\\EWS\\bin;"
    "2 /Rpc RpcProxy %windir%\\System32\\RpcProxy;"
    "2 /RpcWithCert RpcProxy %windir%\\System32\\RpcProxy;"
    "2 /PushNotifications PushNotifications ClientAccess\\PushNotifications"
)
_SITES = (
    ("1", "Default Web Site", "%SystemDrive%\\inetpub\\wwwroot",
     "http *:80:|net.tcp 808:*|net.pipe *|https :443:|http 127.0.0.1:80:|https 127.0.0.1:443:"),
    ("2", "Exchange Back End", "{install}\\ClientAccess", "http *:81:|https *:444:|net.pipe *"),
)  # fmt: skip
_LOG_DIR = "%SystemDrive%\\inetpub\\logs\\LogFiles"


def _application_host(install: str, build: str) -> ET.Element:
    root = ET.Element("configuration")
    host = ET.SubElement(root, "system.applicationHost")
    pools = ET.SubElement(host, "applicationPools")
    clr = f"{install}\\bin\\GenericAppPoolConfigWithGCServerEnabledFalse.config"
    for name in ("DefaultAppPool", *_POOLS):
        pool = ET.SubElement(pools, "add", name=name, managedRuntimeVersion="v4.0",
                             managedPipelineMode="Integrated", CLRConfigFile=clr)  # fmt: skip
        ET.SubElement(pool, "processModel", identityType="LocalSystem", idleTimeout="00:00:00")
    ET.SubElement(
        ET.SubElement(host, "log"), "centralW3CLogFile", enabled="true", directory=_LOG_DIR
    )
    sites = ET.SubElement(host, "sites")
    for site_id, name, physical, bindings in _SITES:
        _site(sites, site_id, name, physical.format(install=install), bindings, install)
    defaults = ET.SubElement(sites, "siteDefaults")
    ET.SubElement(defaults, "logFile", logFormat="W3C", directory=_LOG_DIR)
    filters = ET.SubElement(_location(root, "Default Web Site"), "isapiFilters")
    for name, dll in (("Exchange OWA Cookie Authentication ISAPI Filter", "owaauth.dll"),
                      ("Exchange ActiveSync ISAPI Filter", "AirFilter.dll")):  # fmt: skip
        path = f"{install}\\FrontEnd\\HttpProxy\\bin\\{dll}"
        ET.SubElement(filters, "filter", name=name, path=path, enabled="true")
    for where in (f"Exchange Back End/owa/{build}", f"Exchange Back End/ecp/{build}",
                  "Default Web Site/owa/auth"):  # fmt: skip
        ET.SubElement(_location(root, where), "handlers", accessPolicy="Read, Execute, Script")
    return root


def _site(
    parent: ET.Element, site_id: str, name: str, physical: str, bindings: str, install: str
) -> None:
    site = ET.SubElement(parent, "site", name=name, id=site_id, serverAutoStart="true")
    top = ET.SubElement(site, "application", path="/")
    if site_id == "1":
        top.set("applicationPool", "MSExchangeOWAAppPool")
    ET.SubElement(top, "virtualDirectory", path="/", physicalPath=physical)
    for app in _APPS.split(";"):
        sid, path, pool, where = app.split(" ", 3)
        if sid == site_id:
            where = where if where.startswith("%") else f"{install}\\{where}"
            node = ET.SubElement(
                site, "application", path=path, applicationPool=f"MSExchange{pool}AppPool"
            )
            ET.SubElement(node, "virtualDirectory", path="/", physicalPath=where)
    container = ET.SubElement(site, "bindings")
    for binding in bindings.split("|"):
        protocol, info = binding.split(" ")
        ET.SubElement(container, "binding", protocol=protocol, bindingInformation=info)


def _location(root: ET.Element, path: str) -> ET.Element:
    return ET.SubElement(ET.SubElement(root, "location", path=path), "system.webServer")


def _rule_element(rule: RewriteRule) -> ET.Element:
    node = ET.Element("rule", name=rule.name)
    if rule.stop_processing:
        node.set("stopProcessing", "true")
    ET.SubElement(node, "match", url=rule.match_url)
    conditions = ET.SubElement(node, "conditions")
    ET.SubElement(conditions, "add", input=rule.input, pattern=rule.pattern)
    ET.SubElement(node, "action", type=rule.action)
    return node


def _xml_text(root: ET.Element) -> str:
    """Indented XML with the declaration and CRLF line ends, as IIS writes its config."""
    ET.indent(root, space="    ")
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    return text.replace("\n", CRLF)
