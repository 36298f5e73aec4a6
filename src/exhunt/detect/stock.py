"""What a stock Exchange install has in its web folders (``data/stock_web_files.csv``).

Paths are relative to the install root with version folders written ``{version}``, taken from
Microsoft's per-build file baselines. A server-side script in a web folder that is not on the
list is what CISA asks responders to examine.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

_VERSION = re.compile(r"^\d+\.\d+\.\d+(\.\d+)?$")

FRONT_END = "frontend/httpproxy/"
BACK_END = "clientaccess/"

# Folders the front end serves from disk itself, where web shells were dropped (CISA
# AA21-062A, Microsoft): a request for a script here that a stock install lacks stands out.
DROP_FOLDERS = ("/owa/auth/", "/ecp/auth/", "/aspnet_client/", "/oab/")

# Prefilter for the same condition: a server-side script below a drop folder, in one line. The
# second form finds a stem that a CSV log quoted because it holds a comma.
_FOLDERS = r"/(?:owa/auth|ecp/auth|aspnet_client|oab)/"
_EXTENSIONS = r"\.(?:as[pachm]x?|asa|cshtml|vbhtml|svc|soap|rem|cer|shtml|stm|config)\b"
DROP_SCRIPT_PATTERNS = (
    rf'{_FOLDERS}[^ \t\r\n",]*{_EXTENSIONS}',
    rf'"[^"\r\n]*{_FOLDERS}[^"\r\n]*{_EXTENSIONS}',
)

SERVER_SIDE = (
    ".aspx", ".ashx", ".asmx", ".asp", ".asa", ".asax", ".ascx", ".cshtml", ".vbhtml",
    ".svc", ".soap", ".rem", ".cer", ".shtml", ".stm", ".config",
)  # fmt: skip


def normalise(path: str) -> str:
    """Lower case, ``/`` separated, version folders as ``{version}``."""
    parts = path.replace("\\", "/").lower().split("/")
    # Most parts are names: the first character rules the version pattern out cheaply.
    return "/".join(
        "{version}" if part[:1].isdigit() and _VERSION.match(part) else part for part in parts
    )


@dataclass(frozen=True, slots=True)
class StockFiles:
    install_paths: frozenset[str]
    urls: frozenset[str]

    def has_file(self, install_rel: str) -> bool:
        """Whether a stock install has this install-relative path."""
        return normalise(install_rel) in self.install_paths

    def has_url(self, stem: str) -> bool:
        """Whether a stock install serves this URL path from a file."""
        return normalise(stem.split("?")[0]) in self.urls


@cache
def stock_files() -> StockFiles:
    text = (resources.files("exhunt") / "data" / "stock_web_files.csv").read_text("utf-8")
    paths = {normalise(row["path"]) for row in csv.DictReader(text.splitlines())}
    urls = set()
    for path in paths:
        for prefix in (FRONT_END, BACK_END):
            if path.startswith(prefix):
                urls.add("/" + path[len(prefix) :])
    return StockFiles(frozenset(paths), frozenset(urls))


def url_key(url: str) -> str:
    """Correlation key joining a script file and the requests for it."""
    return "url:" + normalise(url.split("?")[0])


def url_of_file(rel: str, install_rel: str | None) -> str | None:
    """The front-end URL of a file in the install's front end or in ``inetpub/wwwroot``."""
    if install_rel is not None:
        lowered = install_rel.replace("\\", "/").lower()
        if lowered.startswith(FRONT_END):
            return "/" + install_rel[len(FRONT_END) :]
        return None
    index = rel.lower().find("inetpub/wwwroot/")
    if index == -1:
        return None
    return "/" + rel[index + len("inetpub/wwwroot/") :]
