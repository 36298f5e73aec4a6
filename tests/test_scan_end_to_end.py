"""The whole pipeline on the seeded example servers: verdicts, findings, coverage and read-only.

Each server is generated once per test session (per worker under xdist) and scanned once; the
tests then check the result document against the generator's manifest of what it planted.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import struct
import tarfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from exhunt.document import Finding, ScanDocument
from exhunt.model import Category, Severity
from exhunt.options import ScanOptions
from exhunt.scan import scan
from exhunt.testing.generator import LOG_START, PlantedFile, ServerManifest, write_server

pytestmark = [pytest.mark.slow, pytest.mark.integration]

PROXYLOGON = ["CVE-2021-26855", "CVE-2021-26857", "CVE-2021-26858", "CVE-2021-27065"]
OTHER_INSTALL = r"D:\Exchange Server\V15"
_FILETIME_EPOCH = 116_444_736_000_000_000  # 1601-01-01 to 1970-01-01 in 100 ns
_LOG_TYPES = (
    ("iis.w3c", re.compile(r"/W3SVC\d+/u_ex\d{6}\.log$", re.IGNORECASE)),
    ("exchange.httpproxy", re.compile(r"/Logging/HttpProxy/\w+/HttpProxy_\d{10}-\d+\.LOG$")),
    ("exchange.ecp_server", re.compile(r"/Logging/ECP/Server/ECPServer\d{8}-\d+\.LOG$")),
    ("exchange.oab_generator", re.compile(r"/Logging/OABGeneratorLog/OABGeneratorLog\d{8}-")),
    ("exchange.rps_http", re.compile(r"/Powershell-Proxy/Http/Rps_Http_\d{10}-\d+\.LOG$")),
    ("exchange.rps_cmdlet", re.compile(r"/Powershell-Proxy/Cmdlet/Rps_Cmdlet_\d{10}-\d+\.LOG$")),
)


# -- helpers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """A generated server, what it looked like before any scan, and its result document."""

    manifest: ServerManifest
    before: dict[str, tuple[object, ...]]
    doc: ScanDocument

    @property
    def root(self) -> Path:
        return self.manifest.root


def options(**values: object) -> ScanOptions:
    return ScanOptions(jobs=1, **values)  # type: ignore[arg-type]


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Every file and folder under ``root``: kind, size, mtime and content hash."""
    state: dict[str, tuple[object, ...]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            path = Path(folder, name)
            state[path.relative_to(root).as_posix()] = ("dir", path.stat().st_mtime_ns)
        for name in files:
            path = Path(folder, name)
            st = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            state[path.relative_to(root).as_posix()] = ("file", st.st_size, st.st_mtime_ns, digest)
    return state


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def floor(moment: datetime | None) -> datetime | None:
    return moment.replace(microsecond=0) if moment else None


def locations(finding: Finding) -> set[tuple[str, int | None]]:
    return {(e.path, e.line) for e in finding.evidence}


def signature(doc: ScanDocument) -> list[tuple[object, ...]]:
    """What two scans of the same evidence must agree on, finding by finding."""
    return [
        (
            f.rule, f.severity, f.category, tuple(f.cves), f.count, f.first_seen, f.last_seen,
            tuple(sorted(locations(f), key=str)), tuple(sorted(f.indicators.ips)),
        )
        for f in doc.findings
    ]  # fmt: skip


def coverage_files(doc: ScanDocument) -> dict[str, int]:
    return {a.type: a.files for a in doc.coverage.artifacts}


def expected_log_files(files: Iterable[str]) -> dict[str, int]:
    """Log files per artifact type, from the manifest's list of written files."""
    counts: dict[str, int] = {}
    for rel in files:
        for artifact, pattern in _LOG_TYPES:
            if pattern.search("/" + rel):
                counts[artifact] = counts.get(artifact, 0) + 1
    return counts


def lines_with(root: Path, files: Iterable[str], needles: Iterable[str]) -> set[tuple[str, int]]:
    """(file, 1-based line) of every line of the given log files holding any needle."""
    wanted = [n.encode() for n in needles]
    found: set[tuple[str, int]] = set()
    for rel in files:
        if not rel.lower().endswith(".log"):
            continue
        data = (root / rel).read_bytes()
        if not any(n in data for n in wanted):
            continue
        for number, line in enumerate(data.split(b"\n"), start=1):
            if any(n in line for n in wanted):
                found.add((rel, number))
    return found


def findings_at(doc: ScanDocument, path: str) -> list[Finding]:
    return [f for f in doc.findings if any(e.path == path for e in f.evidence)]


def planted(manifest: ServerManifest, kind: str) -> PlantedFile:
    return next(p for p in manifest.planted if p.kind == kind)


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, [f.title for f in findings]
    return findings[0]


def only_text(texts: list[str]) -> str:
    assert len(texts) == 1, texts
    return texts[0]


def check_locations_open(doc: ScanDocument, read: Callable[[str], bytes | None]) -> int:
    """Every evidence location names a file that exists; a given line holds the excerpt."""
    checked = 0
    for finding in doc.findings:
        assert finding.evidence, finding.id
        assert finding.count == len(finding.evidence), finding.id
        for location in finding.evidence:
            data = read(location.path)
            assert data is not None, location.path
            if location.line is None:
                continue
            lines = data.split(b"\n")
            assert location.line <= len(lines), (location.path, location.line)
            text = lines[location.line - 1].decode("utf-8", "replace")
            assert location.excerpt, (location.path, location.line)
            assert location.excerpt in text, (location.path, location.line)
            checked += 1
    return checked


def folder_reader(root: Path) -> Callable[[str], bytes | None]:
    def read(rel: str) -> bytes | None:
        path = root / rel
        return path.read_bytes() if path.is_file() else None

    return read


def ntfs_times(mtime_ns: int) -> bytes:
    """A zip NTFS extra field (0x000a) as Windows archivers write it: exact modification time."""
    filetime = mtime_ns // 100 + _FILETIME_EPOCH
    body = struct.pack("<IHH3Q", 0, 1, 24, filetime, filetime, filetime)
    return struct.pack("<HH", 0x000A, len(body)) + body


def write_zip(
    root: Path, dest: Path, name: Callable[[str], str] = lambda rel: rel, ntfs: bool = True
) -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo.from_file(path, name(path.relative_to(root).as_posix()))
                info.compress_type = zipfile.ZIP_DEFLATED
                if ntfs:
                    info.extra = ntfs_times(path.stat().st_mtime_ns)
                archive.writestr(info, path.read_bytes())
    return dest


def write_tgz(root: Path, dest: Path, arcname: str | None = None) -> Path:
    with tarfile.open(dest, "w:gz", compresslevel=1) as archive:
        if arcname is not None:
            archive.add(root, arcname=arcname)
        else:
            for child in sorted(root.iterdir()):
                archive.add(child, arcname=child.name)
    return dest


def velociraptor_name(rel: str) -> str:
    """A Velociraptor offline collection's member name: the drive colon percent-encoded."""
    drive, _, rest = rel.partition("/")
    return f"uploads/auto/{drive}%3A/{rest}"


def copy_server(server: Server, dest: Path) -> Path:
    shutil.copytree(server.root, dest)
    return dest


def log_rel(manifest: ServerManifest, *parts: str) -> str:
    return "/".join((manifest.drive, "inetpub", "logs", "LogFiles", *parts))


# -- fixtures ---------------------------------------------------------------------------------


def _server(factory: pytest.TempPathFactory, profile: str, **kwargs: object) -> Server:
    manifest = write_server(factory.mktemp(profile) / "server", profile, **kwargs)  # type: ignore[arg-type]
    before = snapshot(manifest.root)
    return Server(manifest, before, scan([manifest.root], options()))


@pytest.fixture(scope="session")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Server:
    return _server(tmp_path_factory, "clean")


@pytest.fixture(scope="session")
def compromised(tmp_path_factory: pytest.TempPathFactory) -> Server:
    return _server(tmp_path_factory, "compromised")


@pytest.fixture(scope="session")
def compromised_d(tmp_path_factory: pytest.TempPathFactory) -> Server:
    """The same compromised server with Exchange installed on D: at another path."""
    return _server(tmp_path_factory, "compromised", install=OTHER_INSTALL)


@pytest.fixture(params=["clean", "compromised"])
def server(request: pytest.FixtureRequest) -> Server:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def archives(tmp_path_factory: pytest.TempPathFactory, compromised: Server) -> dict[str, Path]:
    """The compromised server as a zip, a tar.gz and a Velociraptor collection zip."""
    folder = tmp_path_factory.mktemp("archives")
    velociraptor = write_zip(
        compromised.root, folder / "velociraptor.zip", velociraptor_name, ntfs=False
    )
    with zipfile.ZipFile(velociraptor, "a") as archive:
        archive.writestr("client_info.json", '{"Hostname": "EXCH01", "OS": "windows"}')
    return {
        "zip": write_zip(compromised.root, folder / "server.zip"),
        "tar.gz": write_tgz(compromised.root, folder / "server.tar.gz"),
        "velociraptor": velociraptor,
    }


# -- 1. the verdict and findings of each server -------------------------------------------------


def test_clean_server_is_clean(clean: Server) -> None:
    doc = clean.doc
    assert doc.verdict.status.value == "clean"
    assert doc.verdict.first_malicious is None and doc.verdict.last_malicious is None
    assert [f.title for f in doc.findings if f.severity.rank >= Severity.LOW.rank] == []
    assert doc.coverage.gaps == []
    assert doc.errors == []


def test_compromised_server_is_compromised(compromised: Server) -> None:
    doc, attack = compromised.doc, compromised.manifest.attack
    assert attack is not None
    assert doc.verdict.status.value == "compromised"
    # IIS logs whole seconds: the front end's line of the first SSRF request is the earliest
    # record, at the manifest's time cut to the second.
    first = doc.verdict.first_malicious
    assert first == floor(attack.steps[0].time)
    assert first is not None and attack.steps[0].time - first < timedelta(seconds=1)
    assert doc.verdict.last_malicious == attack.webshell_requests[-1]


def _chain(server: Server) -> Finding:
    return only([f for f in server.doc.findings if f.category is Category.EXPLOITATION])


def test_proxylogon_chain_is_one_exploitation_finding(compromised: Server) -> None:
    manifest, attack = compromised.manifest, compromised.manifest.attack
    assert attack is not None
    chain = _chain(compromised)
    assert chain.severity is Severity.CRITICAL
    assert {"CVE-2021-26855", "CVE-2021-27065"} <= set(chain.cves)
    assert chain.indicators.ips == [attack.attacker_ip]
    assert chain.first_seen == floor(attack.steps[0].time)
    assert chain.last_seen == attack.steps[-1].time
    excerpts = " ".join(e.excerpt or "" for e in chain.evidence)
    for step in attack.steps:
        assert step.request_id in excerpts, step.name
    # Every web log line of every SSRF request (front-end IIS, back-end IIS, HttpProxy).
    ids = [step.request_id for step in attack.steps]
    request_lines = lines_with(manifest.root, manifest.files, ids)
    assert len(request_lines) == 3 * len(ids)
    assert request_lines <= locations(chain)
    # The ECP Server log line that wrote the script into the OAB virtual directory.
    ecp = [rel for rel in manifest.files if "/Logging/ECP/Server/" in rel]
    markup = lines_with(
        manifest.root, ecp, ["Set-OabVirtualDirectory.ExternalUrl=''http://f/<script"]
    )
    assert len(markup) == 1
    assert markup <= locations(chain)


def test_web_shell_finding(compromised: Server) -> None:
    manifest, attack = compromised.manifest, compromised.manifest.attack
    assert attack is not None
    shell = planted(manifest, "webshell")
    finding = only([f for f in compromised.doc.findings if f.category is Category.WEBSHELL])
    assert finding.severity is Severity.CRITICAL
    assert shell.windows_path in finding.indicators.paths
    assert (shell.path, None) in locations(finding)
    assert set(finding.indicators.ips) == {attack.attacker_ip, attack.webshell_ip}
    assert shell.sha256 in finding.indicators.sha256
    assert finding.first_seen == shell.mtime
    assert finding.last_seen == attack.webshell_requests[-1]
    # Every logged request for the shell: front-end IIS and HttpProxy, one each.
    requests = lines_with(manifest.root, manifest.files, [attack.webshell_url])
    assert len(requests) == 2 * len(attack.webshell_requests)
    assert requests <= locations(finding)


@pytest.mark.parametrize("kind", ["lsass-dump", "archive"])
def test_post_exploitation_files(compromised: Server, kind: str) -> None:
    file = planted(compromised.manifest, kind)
    finding = only(findings_at(compromised.doc, file.path))
    assert finding.category is Category.POST_EXPLOITATION
    assert finding.severity is Severity.HIGH
    assert finding.indicators.paths == [file.windows_path]
    assert finding.first_seen == file.mtime
    assert finding.evidence[0].windows_path == file.windows_path


def test_antivirus_archive_is_not_escalated(server: Server) -> None:
    benign = planted(server.manifest, "benign-archive")
    finding = only(findings_at(server.doc, benign.path))
    assert finding.severity is Severity.INFO
    assert finding.category is Category.INFORMATIONAL


def test_near_misses_give_nothing_above_info(server: Server) -> None:
    manifest = server.manifest
    admin_change = lines_with(
        manifest.root, manifest.files, ["Set-OwaVirtualDirectory", "schema=OWAVirtualDirectory"]
    )
    oab_failure = lines_with(manifest.root, manifest.files, ["Download failed and temporary"])
    assert len(admin_change) == 4  # ECP Server, HttpProxy, front-end and back-end IIS
    assert len(oab_failure) == 1
    near = admin_change | oab_failure | {(planted(manifest, "benign-archive").path, None)}
    raised = [f for f in server.doc.findings if f.severity is not Severity.INFO]
    assert [(f.id, locations(f) & near) for f in raised if locations(f) & near] == []


def test_exchange_build_and_exposure(clean: Server, compromised: Server) -> None:
    for server, exposed in ((clean, []), (compromised, PROXYLOGON)):
        exchange = server.doc.exchange
        assert exchange.build == server.manifest.build
        assert exchange.product == "Exchange Server 2016"
        assert exchange.install_path == server.manifest.install_path + "\\"
        assert exchange.vulnerable_to == exposed
    assert clean.doc.exchange.cu == "CU19"
    assert compromised.doc.exchange.cu == "CU18"
    # The clean server was updated during the logs: first the CU19 build, then the SU.
    (_, before), (updated, after) = clean.manifest.build_history
    history = clean.doc.exchange.build_history
    assert history[0].build == before
    assert history[-1].build == after
    assert history[-1].first is not None
    assert updated <= history[-1].first < updated + timedelta(minutes=1)


def test_coverage_counts_every_log_file(server: Server) -> None:
    manifest, doc = server.manifest, server.doc
    assert coverage_files(doc) == expected_log_files(manifest.files)
    web = [a for a in doc.coverage.artifacts if a.type in ("iis.w3c", "exchange.httpproxy")]
    assert floor(min(a.first for a in web if a.first)) == floor(manifest.first_log)
    assert floor(max(a.last for a in web if a.last)) == floor(manifest.last_log)
    assert all(a.bad_records == 0 for a in doc.coverage.artifacts)


def test_timeline_is_sorted_and_points_at_findings(server: Server) -> None:
    doc = server.doc
    ids = {f.id for f in doc.findings}
    assert doc.timeline
    times = [entry.time for entry in doc.timeline]
    assert times == sorted(times)
    for entry in doc.timeline:
        assert entry.finding_ids and set(entry.finding_ids) <= ids, entry.summary


def test_every_evidence_location_opens(clean: Server, compromised: Server) -> None:
    assert check_locations_open(clean.doc, folder_reader(clean.root)) == 0  # files only
    assert check_locations_open(compromised.doc, folder_reader(compromised.root)) > 50


def test_install_on_another_drive_gives_the_same_findings(
    compromised: Server, compromised_d: Server
) -> None:
    moved = compromised_d.doc
    assert moved.exchange.install_path == OTHER_INSTALL + "\\"
    assert moved.verdict.status == compromised.doc.verdict.status
    assert moved.verdict.first_malicious == compromised.doc.verdict.first_malicious

    def shape(doc: ScanDocument) -> list[tuple[object, ...]]:
        return [
            (f.rule, f.severity, f.category, f.cves, f.count, f.first_seen) for f in doc.findings
        ]

    assert shape(moved) == shape(compromised.doc)
    shell = planted(compromised_d.manifest, "webshell")
    assert shell.windows_path.startswith(OTHER_INSTALL + "\\")
    assert shell.windows_path in only(findings_at(moved, shell.path)).indicators.paths
    assert coverage_files(moved) == coverage_files(compromised.doc)
    assert check_locations_open(moved, folder_reader(compromised_d.root)) > 50


# -- 2. evidence is never written; archives read like folders --------------------------------


def test_scan_never_writes_the_evidence(server: Server) -> None:
    assert snapshot(server.root) == server.before
    assert set(server.before) >= set(server.manifest.files)


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_archive_scan_matches_the_folder(
    compromised: Server, archives: dict[str, Path], kind: str, tmp_path: Path
) -> None:
    archive = archives[kind]
    digest, before = sha256_file(archive), snapshot(archive.parent)
    doc = scan([archive], options(workdir=tmp_path))
    assert snapshot(archive.parent) == before
    assert list(tmp_path.iterdir()) == []  # the unpacked copy is gone
    assert doc.evidence.kind == "archive"
    assert doc.evidence.sha256 == digest
    assert doc.verdict.status == compromised.doc.verdict.status
    assert doc.verdict.first_malicious == compromised.doc.verdict.first_malicious
    assert signature(doc) == signature(compromised.doc)
    assert doc.coverage == compromised.doc.coverage


def test_velociraptor_collection(compromised: Server, archives: dict[str, Path]) -> None:
    archive = archives["velociraptor"]
    doc = scan([archive], options())
    assert doc.evidence.kind == "archive"
    assert doc.evidence.host == "EXCH01"
    assert doc.evidence.sha256 == sha256_file(archive)
    assert doc.exchange.install_path == compromised.doc.exchange.install_path
    assert [(f.rule, f.severity, f.count) for f in doc.findings] == [
        (f.rule, f.severity, f.count) for f in compromised.doc.findings
    ]
    shell = planted(compromised.manifest, "webshell")
    finding = only(findings_at(doc, velociraptor_name(shell.path)))
    assert finding.evidence[0].windows_path == shell.windows_path
    with zipfile.ZipFile(archive) as members:
        names = set(members.namelist())
        assert check_locations_open(doc, lambda rel: members.read(rel) if rel in names else None)


def test_tar_of_a_folder_with_dot_root(compromised: Server, tmp_path: Path) -> None:
    rel = log_rel(compromised.manifest, "W3SVC1", "u_ex210303.log")
    folder = tmp_path / "evidence"
    (folder / rel).parent.mkdir(parents=True)
    shutil.copy(compromised.root / rel, folder / rel)
    archive = write_tgz(folder, tmp_path / "dot.tar.gz", arcname=".")
    doc = scan([archive], options())
    assert doc.coverage.artifacts[0].files == 1
    assert doc.coverage.skipped == []


# -- 3. coverage honesty ------------------------------------------------------------------------


def test_a_missing_day_is_a_gap(clean: Server, tmp_path: Path) -> None:
    root = copy_server(clean, tmp_path / "server")
    (root / log_rel(clean.manifest, "W3SVC1", "u_ex210305.log")).unlink()
    removed = [p for p in root.rglob("HttpProxy_20210305*.LOG")]
    assert len(removed) == 24 * 10  # every hour of every protocol
    for path in removed:
        path.unlink()
    doc = scan([root], options())
    assert doc.verdict.status.value == "inconclusive"
    gaps = {gap.type: gap for gap in doc.coverage.gaps}
    assert set(gaps) == {"iis.w3c W3SVC1", "exchange.httpproxy"}
    day, next_day = datetime(2021, 3, 5, tzinfo=UTC), datetime(2021, 3, 6, tzinfo=UTC)
    for gap in gaps.values():
        assert gap.from_ is not None and gap.to is not None
        assert day - timedelta(hours=1) < gap.from_ < day
        assert next_day <= gap.to < next_day + timedelta(hours=1)
    for kind in gaps:
        reason = only_text([r for r in doc.verdict.reasons if r.startswith(f"Gap in {kind}:")])
        assert re.search(r"no log for 24\.\d hours, 2021-03-04T23:\S+ to 2021-03-06T00:", reason)


def test_no_web_logs_is_inconclusive(clean: Server, tmp_path: Path) -> None:
    root = copy_server(clean, tmp_path / "server")
    for pattern in ("u_ex*.log", "HttpProxy_*.LOG"):
        for path in root.rglob(pattern):
            path.unlink()
    doc = scan([root], options())
    assert doc.verdict.status.value == "inconclusive"
    assert doc.verdict.reasons[0].startswith("No IIS or HttpProxy logs")
    assert not {"iis.w3c", "exchange.httpproxy"} & set(coverage_files(doc))
    assert doc.exchange.build == clean.manifest.build  # still read from the other logs


def test_a_truncated_last_line_is_reported(clean: Server, tmp_path: Path) -> None:
    root = copy_server(clean, tmp_path / "server")
    rel = log_rel(clean.manifest, "W3SVC1", "u_ex210303.log")
    data = (root / rel).read_bytes()
    assert data.endswith(b"\r\n")
    (root / rel).write_bytes(data[:-25])
    doc = scan([root], options())
    truncations = [g for g in doc.coverage.gaps if g.reason == "truncated file"]
    assert [(g.type, g.path) for g in truncations] == [("iis.w3c", rel)]
    assert coverage_files(doc) == coverage_files(clean.doc)
    assert rel in {e.path for e in doc.errors}
    assert doc.verdict.status.value == "inconclusive"


def _garbage(seed: int) -> bytes:
    return random.Random(seed).randbytes(64 * 1024)


def test_a_garbage_log_file_is_counted(compromised: Server, tmp_path: Path) -> None:
    root = copy_server(compromised, tmp_path / "server")
    rel = log_rel(compromised.manifest, "W3SVC1", "u_ex210223.log")
    (root / rel).write_bytes(_garbage(1))
    doc = scan([root], options())
    before = {a.type: a for a in compromised.doc.coverage.artifacts}
    after = {a.type: a for a in doc.coverage.artifacts}
    assert after["iis.w3c"].files == before["iis.w3c"].files + 1
    assert after["iis.w3c"].bad_records > 0
    assert rel in {e.path for e in doc.errors}
    assert signature(doc) == signature(compromised.doc)
    assert doc.verdict.status.value == "compromised"


def test_a_garbage_httpproxy_file_is_counted(clean: Server, tmp_path: Path) -> None:
    root = copy_server(clean, tmp_path / "server")
    folder = next(root.rglob("HttpProxy_2021030312-1.LOG")).parent
    (folder / "HttpProxy_2021030312-9.LOG").write_bytes(_garbage(2))
    doc = scan([root], options())
    rel = (folder / "HttpProxy_2021030312-9.LOG").relative_to(root).as_posix()
    assert rel in {e.path for e in doc.errors} | {g.path for g in doc.coverage.gaps}


# -- 4. the time window ---------------------------------------------------------------------


def test_window_before_the_attack(compromised: Server) -> None:
    attack = compromised.manifest.attack
    assert attack is not None
    until = attack.steps[0].time - timedelta(minutes=1)
    doc = scan([compromised.root], options(since=LOG_START, until=until))
    assert [f.title for f in doc.findings if f.category.malicious] == []
    assert doc.verdict.first_malicious is None
    assert doc.verdict.status.value == "vulnerable"


def test_window_after_the_chain(compromised: Server) -> None:
    attack = compromised.manifest.attack
    assert attack is not None
    since = datetime(2021, 3, 4, tzinfo=UTC)
    until = datetime(2021, 3, 6, tzinfo=UTC)
    doc = scan([compromised.root], options(since=since, until=until))
    assert not [f for f in doc.findings if f.category is Category.EXPLOITATION]
    times = [e.time for f in doc.findings for e in f.evidence]
    assert times and all(t is not None and since <= t <= until for t in times)
    shell_use = [t for t in attack.webshell_requests if since <= t <= until]
    finding = only([f for f in doc.findings if f.category is Category.WEBSHELL])
    assert finding.count == 2 * len(shell_use)  # the shell file itself is older than the window
    assert doc.verdict.first_malicious == floor(shell_use[0])
    lsass = planted(compromised.manifest, "lsass-dump")
    assert findings_at(doc, lsass.path)


def test_coverage_speaks_of_the_window_only(clean: Server) -> None:
    since, until = datetime(2021, 3, 2, tzinfo=UTC), datetime(2021, 3, 4, 12, tzinfo=UTC)
    doc = scan([clean.root], options(since=since, until=until))
    assert doc.verdict.status.value == "clean"
    for artifact in doc.coverage.artifacts:
        assert artifact.first and artifact.last, artifact.type
        assert since <= artifact.first <= artifact.last <= until, artifact.type
    web = {a.type: a.files for a in doc.coverage.artifacts}
    assert web["iis.w3c"] == 2 * 3  # both sites, 2, 3 and 4 March
    # Ten protocols, hourly: 2 and 3 March, 00-11h on 4 March; and the update's -2 file.
    assert web["exchange.httpproxy"] == 10 * (24 + 24 + 12) + 1
    assert "in web logs from 2021-03-02T00:" in doc.verdict.reasons[0]
    assert "to 2021-03-04T12:00:00Z;" in doc.verdict.reasons[0]  # the daily IIS file, cut


def test_a_window_without_logs_is_never_clean(clean: Server) -> None:
    doc = scan([clean.root], options(since=datetime(2022, 1, 1, tzinfo=UTC)))
    assert doc.verdict.status.value == "inconclusive"
    assert doc.verdict.reasons[0].startswith("No IIS or HttpProxy logs")
    assert doc.coverage.artifacts == []
