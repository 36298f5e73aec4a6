"""The evidence layer: a read-only, case-insensitive view of one Exchange server's evidence.

``open_evidence(paths)`` takes a folder copy of a server's drives, a KAPE, acquire or
Velociraptor collection, a triage archive of any of these, or a single log file, and returns an
:class:`Evidence` that lists the files, maps them to Windows paths, finds the Exchange install
folder and parses IIS's applicationHost.config. Nothing is ever written inside the evidence:
archives are unpacked into a temporary folder that :meth:`Evidence.close` removes.
"""

from __future__ import annotations

from exhunt.evidence.archive import ArchiveLimits
from exhunt.evidence.evidence import Evidence, open_evidence
from exhunt.evidence.files import EvidenceFile
from exhunt.evidence.iisconfig import IisConfig, load_iis_config
from exhunt.evidence.install import ExchangeInstall
from exhunt.evidence.webconfig import WebConfig, load_web_config

__all__ = [
    "ArchiveLimits",
    "Evidence",
    "EvidenceFile",
    "ExchangeInstall",
    "IisConfig",
    "WebConfig",
    "load_iis_config",
    "load_web_config",
    "open_evidence",
]
