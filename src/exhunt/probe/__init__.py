"""A safe remote check of Exchange servers: read the build over HTTP(S), judge its exposure.

Layer: detect. This package imports only the foundation (``exhunt.exceptions``,
``exhunt.timeutil``) and the builds table (:mod:`exhunt.detect.builds` and the CVE list it judges
by, :mod:`exhunt.detect.cves`); front ends (the CLI) import it.

For each host it sends three GET requests and nothing else (``docs/probe.md`` lists them byte
for byte): the OWA logon page, the eDiscovery export tool manifest under ECP, and
AutoDiscover.xml. No exploit traffic: no SSRF cookies, no ``autodiscover.json`` requests, no POST.
Redirects are followed only on the same host; bodies are read up to a cap; every request has a
timeout and every host a deadline.

Modules: ``targets`` (what the user wrote to a :class:`Target`), ``fetch`` (bounded GETs),
``errors`` (exceptions to per-host errors), ``versions`` (versions in answers), ``exposure``
(build to CVEs through the builds table), ``signs`` (visible mitigations), ``host`` (one host),
``runner`` (many hosts, bounded concurrency), ``render`` (JSON, CSV, text).
"""

from __future__ import annotations

from exhunt.probe.options import ProbeOptions
from exhunt.probe.results import (
    ErrorKind,
    Exposure,
    HostResult,
    ProbeError,
    RequestRecord,
    Sighting,
    Sign,
    Source,
    Status,
)
from exhunt.probe.runner import probe_hosts, probe_hosts_async
from exhunt.probe.signs import PATHS
from exhunt.probe.targets import Target, load_targets, parse_target

__all__ = [
    "PATHS",
    "ErrorKind",
    "Exposure",
    "HostResult",
    "ProbeError",
    "ProbeOptions",
    "RequestRecord",
    "Sighting",
    "Sign",
    "Source",
    "Status",
    "Target",
    "load_targets",
    "parse_target",
    "probe_hosts",
    "probe_hosts_async",
]
