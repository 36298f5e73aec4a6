"""Builders of evidence layouts for the evidence tests: small files in tmp_path."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest

SHARED = Path(__file__).parents[2] / ".." / "shared"
CONFIG_SAMPLES = SHARED / "data" / "exchange-config"

# A minimal applicationHost.config: Exchange on D:\Exchange\V15, logs in the default folder.
SMALL_APPHOST = r"""<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <sites>
      <site name="Default Web Site" id="1">
        <application path="/" applicationPool="MSExchangeOWAAppPool">
          <virtualDirectory path="/" physicalPath="%SystemDrive%\inetpub\wwwroot" />
        </application>
        <application path="/owa" applicationPool="MSExchangeOWAAppPool">
          <virtualDirectory path="/" physicalPath="D:\Exchange\V15\FrontEnd\HttpProxy\owa" />
        </application>
        <application path="/ecp" applicationPool="MSExchangeECPAppPool">
          <virtualDirectory path="/" physicalPath="D:\Exchange\V15\FrontEnd\HttpProxy\ecp" />
        </application>
        <bindings><binding protocol="https" bindingInformation="*:443:" /></bindings>
      </site>
      <site name="Exchange Back End" id="2">
        <application path="/owa" applicationPool="MSExchangeOWAAppPool">
          <virtualDirectory path="/" physicalPath="D:\Exchange\V15\ClientAccess\owa" />
        </application>
        <bindings><binding protocol="https" bindingInformation="*:444:" /></bindings>
      </site>
      <siteDefaults>
        <logFile logFormat="W3C" directory="%SystemDrive%\inetpub\logs\LogFiles" />
      </siteDefaults>
    </sites>
  </system.applicationHost>
  <system.webServer>
    <globalModules>
      <add name="HttpLoggingModule" image="C:\Windows\System32\inetsrv\loghttp.dll" />
    </globalModules>
  </system.webServer>
</configuration>
"""

INSTALL = "Exchange/V15"
INSTALL_FILES = {
    f"{INSTALL}/Bin/Microsoft.Exchange.Diagnostics.dll": b"MZ",
    f"{INSTALL}/FrontEnd/HttpProxy/owa/auth/logon.aspx": b"<%@ Page %>",
    f"{INSTALL}/ClientAccess/ecp/web.config": b"<configuration/>",
    f"{INSTALL}/Logging/HttpProxy/Owa/HttpProxy_2021030100-1.LOG": b"#Software: Exchange\n",
}
SYSTEM_FILES = {
    "Windows/System32/inetsrv/config/applicationHost.config": SMALL_APPHOST.encode(),
    "inetpub/logs/LogFiles/W3SVC1/u_ex210303.log": b"#Software: IIS\n",
    "inetpub/wwwroot/aspnet_client/system_web/x.aspx": b"<%@ Page %>",
}


def write_files(root: Path, files: Mapping[str, bytes]) -> Path:
    """Create each ``rel -> content`` file under ``root``; return ``root``."""
    for rel, data in files.items():
        path = root.joinpath(*rel.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def prefixed(prefix: str, files: Mapping[str, bytes]) -> dict[str, bytes]:
    return {f"{prefix}/{rel}" if prefix else rel: data for rel, data in files.items()}


def server_files(c: str = "C", d: str = "D") -> dict[str, bytes]:
    """System drive with IIS, Exchange on the second drive (D:\\Exchange\\V15)."""
    return {**prefixed(c, SYSTEM_FILES), **prefixed(d, INSTALL_FILES)}


def zip_files(path: Path, files: Mapping[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel, data in files.items():
            archive.writestr(zipfile.ZipInfo(rel, (2021, 3, 3, 4, 5, 6)), data)
    return path


def tar_files(path: Path, files: Mapping[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as archive:
        for rel, data in files.items():
            info = tarfile.TarInfo(rel)
            info.size = len(data)
            info.mtime = 1614744306  # 2021-03-03T04:05:06Z
            archive.addfile(info, io.BytesIO(data))
    return path


def shared_sample(name: str) -> Path:
    """A file of ../shared/data/exchange-config; skip when absent (fail under CI)."""
    path = CONFIG_SAMPLES / name
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared sample missing: {path}")
        pytest.skip(f"shared sample missing: {path}")
    return path
