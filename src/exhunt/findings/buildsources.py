"""The Exchange build as the install on disk records it: ExSetup.exe and the SOFTWARE hive.

* ``<install>\\Bin\\ExSetup.exe``: its file version is the installed build, security update
  included (Health Checker reads ``FileBuildPart``/``FilePrivatePart`` of this file).
* ``HKLM\\SOFTWARE\\Microsoft\\ExchangeServer\\v15\\Setup`` (``v14`` for Exchange 2010):
  ``MsiProductMajor``/``MsiProductMinor``/``MsiBuildMajor``/``MsiBuildMinor`` are the installed
  CU's build (security updates do not change them: the revision is the CU's, so only the first
  three parts are compared), ``OwaVersion`` (read by EOMT) and ``MsiInstallPath``.

Neither says when it was installed (setup keeps the files' own times), so both describe the
install at collection time and carry no time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

from exhunt.artifacts.hive import Hive
from exhunt.artifacts.pe_version import format_version, read_version
from exhunt.evidence import Evidence, EvidenceFile
from exhunt.findings.exposure import Observation, observe

log = logging.getLogger(__name__)

MAX_EXSETUP = 64 << 20
MAX_HIVE = 1 << 30
SETUP_KEYS = ("Microsoft\\ExchangeServer\\v15\\Setup", "Microsoft\\ExchangeServer\\v14\\Setup")
SOURCE_EXSETUP = "ExSetup.exe version resource"
SOURCE_REGISTRY = "SOFTWARE hive Setup MsiBuild values"
SOURCE_OWA_VERSION = "SOFTWARE hive Setup OwaVersion"


@dataclass(frozen=True, slots=True)
class SetupKey:
    """What the Setup key of the SOFTWARE hive says."""

    path: str
    install_path: str | None
    build: str | None
    owa_version: str | None
    dirty: bool


def disk_observations(evidence: Evidence) -> Iterator[Observation]:
    """Builds from ExSetup.exe and the SOFTWARE hive, where the evidence has them."""
    exsetup = find_exsetup(evidence)
    if exsetup is not None:
        obs = _exsetup(evidence, exsetup)
        if obs is not None:
            yield obs
    setup = read_setup_key(evidence)
    if setup is not None:
        for text, source, precision in (
            (setup.build, SOURCE_REGISTRY, "cu"),
            (setup.owa_version, SOURCE_OWA_VERSION, "build"),
        ):
            obs = observe(text, None, source, setup.path) if text else None
            if obs is not None:
                yield Observation(obs.build, None, source, setup.path, precision)


def find_exsetup(evidence: Evidence) -> EvidenceFile | None:
    install = evidence.exchange
    if install is None:
        return None
    wanted = f"{install.rel}/bin/exsetup.exe".lower()
    return next((f for f in evidence.iter_under(install.rel) if f.rel.lower() == wanted), None)


def _exsetup(evidence: Evidence, file: EvidenceFile) -> Observation | None:
    data = _read(evidence, file, MAX_EXSETUP)
    version = read_version(data) if data else None
    if version is None or version.file_version is None:
        return None
    return observe(format_version(version.file_version), None, SOURCE_EXSETUP, file.rel)


def find_software_hive(evidence: Evidence) -> EvidenceFile | None:
    """The live SOFTWARE hive (``Windows\\System32\\config\\SOFTWARE``), not RegBack copies."""
    found = [f for f in evidence.files if f.rel.lower().endswith("system32/config/software")]
    return min(found, key=lambda f: len(f.rel)) if found else None


def read_setup_key(evidence: Evidence) -> SetupKey | None:
    """The Exchange Setup key of the evidence's SOFTWARE hive, if there is one."""
    file = find_software_hive(evidence)
    return _setup_key(evidence, file) if file else None


@lru_cache(maxsize=4)
def _setup_key(evidence: Evidence, file: EvidenceFile) -> SetupKey | None:
    """Read once per scan: the hive may be hundreds of megabytes."""
    data = _read(evidence, file, MAX_HIVE)
    if not data:
        return None
    hive = Hive(data)
    for path in SETUP_KEYS:
        key = hive.key(path)
        if key is not None:
            values = key.values()
            return SetupKey(
                path=f"{file.rel} SOFTWARE\\{path}",
                install_path=_text(values.get("MsiInstallPath")),
                build=_msi_build(values),
                owa_version=_text(values.get("OwaVersion")),
                dirty=hive.dirty,
            )
    return None


def _msi_build(values: Mapping[str, object]) -> str | None:
    parts = [values.get(n) for n in ("MsiProductMajor", "MsiProductMinor", "MsiBuildMajor",
                                     "MsiBuildMinor")]  # fmt: skip
    if not all(isinstance(p, int) for p in parts):
        return None
    return ".".join(str(p) for p in parts)


def _text(value: object) -> str | None:
    return value[:300] if isinstance(value, str) and value else None


def _read(evidence: Evidence, file: EvidenceFile, limit: int) -> bytes | None:
    if file.size > limit:
        log.warning("%s: larger than %d bytes, not read", file.rel, limit)
        return None
    try:
        with evidence.open(file) as handle:
            return handle.read(limit)
    except OSError as exc:
        log.warning("could not read %s: %s", file.rel, exc)
        return None


def registry_install_path(evidence: Evidence) -> str | None:
    """``MsiInstallPath`` of the SOFTWARE hive's Setup key, where the evidence has it."""
    setup = read_setup_key(evidence)
    return setup.install_path if setup else None
