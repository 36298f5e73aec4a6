"""Every evidence layout opens to the same view: files, drives, Windows paths, install."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import lzma
from datetime import UTC, datetime
from pathlib import Path

import pytest
from evidence_layouts import (
    INSTALL_FILES,
    SYSTEM_FILES,
    prefixed,
    server_files,
    tar_files,
    write_files,
    zip_files,
)

from exhunt.evidence import open_evidence

LOG_WIN = "C:\\inetpub\\logs\\LogFiles\\W3SVC1\\u_ex210303.log"
LOGON_WIN = "D:\\Exchange\\V15\\FrontEnd\\HttpProxy\\owa\\auth\\logon.aspx"


def windows_paths(evidence) -> dict[str, str | None]:
    return {f.rel: f.windows_path for f in evidence.files}


def test_drive_folders(tree) -> None:
    root = tree(server_files())
    with open_evidence([root]) as ev:
        assert ev.kind == "directory"
        assert ev.path == str(root)
        assert ev.sha256 is None
        assert ev.host is None
        assert dict(ev.drives) == {"C": "C", "D": "D"}
        assert ev.system_drive == "C"
        assert [f.rel for f in ev.files] == sorted(server_files())
        paths = windows_paths(ev)
        assert paths["C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log"] == LOG_WIN
        assert paths["D/Exchange/V15/FrontEnd/HttpProxy/owa/auth/logon.aspx"] == LOGON_WIN
        assert ev.exchange is not None
        assert ev.exchange.rel == "D/Exchange/V15"
        assert ev.exchange.windows_path == "D:\\Exchange\\V15\\"
        assert ev.iis is not None and ev.iis_file is not None
        assert ev.iis_file.rel == "C/Windows/System32/inetsrv/config/applicationHost.config"
        assert [s.name for s in ev.iis.sites] == ["Default Web Site", "Exchange Back End"]


def test_file_sizes_and_times_come_from_disk(tree) -> None:
    root = tree({"C/Windows/x.txt": b"12345"})
    with open_evidence([root]) as ev:
        (file,) = ev.files
        assert file.size == 5
        assert file.real == root / "C" / "Windows" / "x.txt"
        assert file.mtime == datetime.fromtimestamp(file.real.stat().st_mtime, tz=UTC)


@pytest.mark.parametrize("depth", ["", "kape-out", "case/HOST01"])
def test_kape_target_folder(tree, depth: str) -> None:
    files = prefixed(depth, {**server_files(), "C/$MFT": b"FILE0", "C/$Extend/$J": b"\0"})
    with open_evidence([tree(files)]) as ev:
        c_root = f"{depth}/C" if depth else "C"
        assert ev.drives["C"] == c_root
        assert ev.windows_path(f"{c_root}/$MFT") == "C:\\$MFT"
        assert ev.resolve(LOGON_WIN) is not None


def test_kape_second_drive_beside_the_first(tree) -> None:
    # D holds only logs: recognised because it sits beside a recognised C.
    files = {**prefixed("C", SYSTEM_FILES), "D/Logs/app.log": b"x"}
    with open_evidence([tree(files)]) as ev:
        assert dict(ev.drives) == {"C": "C", "D": "D"}
        assert ev.windows_path("D/Logs/app.log") == "D:\\Logs\\app.log"


def test_one_drive_root_is_the_evidence_root(tree) -> None:
    files = {**SYSTEM_FILES, "Program Files/Microsoft/Exchange Server/V15/Bin/a.dll": b"MZ"}
    files["Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/Owa/h.LOG"] = b"x"
    with open_evidence([tree(files)]) as ev:
        assert dict(ev.drives) == {"C": ""}
        assert ev.notes == []  # the letter comes from C:\Windows paths in applicationHost.config
        assert ev.windows_path("inetpub/logs/LogFiles/W3SVC1/u_ex210303.log") == LOG_WIN
        assert ev.exchange is not None
        assert ev.exchange.windows_path == "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\"


def test_bare_root_without_config_assumes_c_and_says_so(tree) -> None:
    files = {"Windows/System32/drivers/etc/hosts": b"x", "inetpub/wwwroot/a.aspx": b"x"}
    with open_evidence([tree(files)]) as ev:
        assert dict(ev.drives) == {"C": ""}
        assert ev.notes == ["the system drive's letter is not recorded; taken as C:"]
        assert ev.windows_path("inetpub/wwwroot/a.aspx") == "C:\\inetpub\\wwwroot\\a.aspx"


def test_install_and_logs_without_drive_mapped_from_iis_config(tree) -> None:
    files = {
        **prefixed("V15", {k.removeprefix("Exchange/V15/"): v for k, v in INSTALL_FILES.items()}),
        "LogFiles/W3SVC1/u_ex210303.log": b"x",
        "config/applicationHost.config": SYSTEM_FILES[
            "Windows/System32/inetsrv/config/applicationHost.config"
        ],
    }
    with open_evidence([tree(files)]) as ev:
        assert dict(ev.drives) == {}
        assert ev.system_drive == "C"
        assert ev.exchange is not None
        assert ev.exchange.rel == "V15"
        assert ev.exchange.windows_path == "D:\\Exchange\\V15\\"
        assert ev.windows_path("V15/FrontEnd/HttpProxy/owa/auth/logon.aspx") == LOGON_WIN
        assert ev.windows_path("LogFiles/W3SVC1/u_ex210303.log") == LOG_WIN
        assert ev.windows_path("config/applicationHost.config") is None
        assert ev.resolve("%ExchangeInstallDir%FrontEnd\\HttpProxy\\owa\\auth\\logon.aspx")


def test_several_paths_are_parts_of_one_server(tmp_path: Path) -> None:
    install = write_files(tmp_path / "copy" / "V15", {"Bin/a.dll": b"MZ", "Logging/x/y.log": b"x"})
    logs = write_files(tmp_path / "iis" / "W3SVC1", {"u_ex210303.log": b"x"})
    with open_evidence([install, str(logs)]) as ev:
        assert ev.path == f"{install}, {logs}"
        assert ev.kind == "directory"
        assert [f.rel for f in ev.files] == [
            "V15/Bin/a.dll",
            "V15/Logging/x/y.log",
            "W3SVC1/u_ex210303.log",
        ]
        assert ev.exchange is not None and ev.exchange.rel == "V15"
        assert ev.exchange.windows_path is None


def test_parts_with_the_same_name_stay_apart(tmp_path: Path) -> None:
    one = write_files(tmp_path / "a" / "logs", {"1.log": b"x"})
    two = write_files(tmp_path / "b" / "logs", {"2.log": b"x"})
    with open_evidence([one, two]) as ev:
        assert [f.rel for f in ev.files] == ["logs-2/2.log", "logs/1.log"]


ACQUIRE = {
    "fs/C:/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log": b"x",
    "fs/sysvol/Windows/System32/config/SYSTEM": b"regf",
    "fs/D:/Exchange/V15/Bin/a.dll": b"MZ",
    "fs/D:/Exchange/V15/Logging/HttpProxy/Ecp/h.LOG": b"x",
}


def test_acquire_layout(tree) -> None:
    with open_evidence([tree(ACQUIRE)]) as ev:
        assert dict(ev.drives) == {"C": "fs/C:", "D": "fs/D:"}
        paths = windows_paths(ev)
        assert paths["fs/C:/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log"] == LOG_WIN
        assert paths["fs/sysvol/Windows/System32/config/SYSTEM"] == (
            "C:\\Windows\\System32\\config\\SYSTEM"
        )
        assert ev.exchange is not None and ev.exchange.windows_path == "D:\\Exchange\\V15\\"


def test_acquire_tar(tmp_path: Path, workdir: Path) -> None:
    archive = tar_files(tmp_path / "HOST01.tar", ACQUIRE, mode="w")
    with open_evidence([archive], workdir=workdir) as ev:
        assert ev.kind == "archive"
        assert ev.resolve("c:\\WINDOWS\\system32\\config\\system") is not None


VELOCIRAPTOR = {
    "uploads/auto/C%3A/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log": b"x",
    "uploads/auto/C%3A/inetpub/wwwroot/aspnet_client/%2Eshell%3F.aspx": b"<%@ Page %>",
    "uploads/auto/C%3A/Program Files/Microsoft/Exchange Server/V15/Bin/a.dll": b"MZ",
    "uploads/auto/C%3A/Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/Owa/h.LOG": (
        b"x"
    ),
    "uploads/ntfs/%5C%5C.%5CC%3A/$Extend/$UsnJrnl%3A$J": b"\0",
    "uploads.json": b"{}\n",
    "client_info.json": json.dumps({"Hostname": "EXCH01", "Fqdn": "exch01.corp.example"}).encode(),
    "log.json": b"{}\n",
}


def check_velociraptor(ev, prefix: str = "") -> None:
    top = f"{prefix}/" if prefix else ""
    assert ev.host == "EXCH01"
    assert ev.drives["C"] == f"{top}uploads/auto/C%3A"
    assert {r.rel for r in ev.roots} == {
        f"{top}uploads/auto/C%3A",
        f"{top}uploads/ntfs/%5C%5C.%5CC%3A",
    }
    paths = windows_paths(ev)
    shell = f"{top}uploads/auto/C%3A/inetpub/wwwroot/aspnet_client/%2Eshell%3F.aspx"
    assert paths[shell] == "C:\\inetpub\\wwwroot\\aspnet_client\\.shell?.aspx"
    assert paths[f"{top}uploads/ntfs/%5C%5C.%5CC%3A/$Extend/$UsnJrnl%3A$J"] == (
        "C:\\$Extend\\$UsnJrnl:$J"
    )
    assert paths[f"{top}client_info.json"] is None
    assert ev.resolve("C:\\inetpub\\wwwroot\\aspnet_client\\.SHELL?.aspx").rel == shell
    assert ev.exchange is not None
    assert ev.exchange.windows_path == "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\"


def test_velociraptor_folder(tree) -> None:
    with open_evidence([tree(VELOCIRAPTOR)]) as ev:
        check_velociraptor(ev)


def test_velociraptor_zip(tmp_path: Path, workdir: Path) -> None:
    archive = zip_files(tmp_path / "Collection-EXCH01-2021-03-03.zip", VELOCIRAPTOR)
    with open_evidence([archive], workdir=workdir) as ev:
        assert ev.kind == "archive"
        assert ev.sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
        check_velociraptor(ev)


def test_velociraptor_zip_with_a_top_folder(tmp_path: Path, workdir: Path) -> None:
    archive = zip_files(tmp_path / "c.zip", prefixed("Collection-EXCH01", VELOCIRAPTOR))
    with open_evidence([archive], workdir=workdir) as ev:
        check_velociraptor(ev, "Collection-EXCH01")


def test_hostile_host_name_is_cleaned(tree) -> None:
    files = {**VELOCIRAPTOR, "client_info.json": b'{"Hostname": "EXCH\\n01<script>"}'}
    with open_evidence([tree(files)]) as ev:
        assert ev.host == "EXCH01script"


def test_broken_client_info_gives_no_host(tree) -> None:
    with open_evidence([tree({**VELOCIRAPTOR, "client_info.json": b"\xff{"})]) as ev:
        assert ev.host is None


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("triage.tar.gz", "w:gz"),
        ("triage.tgz", "w:gz"),
        ("triage.tar.bz2", "w:bz2"),
        ("triage.tar.xz", "w:xz"),
        ("triage.tar", "w"),
        ("renamed.bin", "w:gz"),
    ],
)
def test_tar_archives(tmp_path: Path, workdir: Path, name: str, mode: str) -> None:
    archive = tar_files(tmp_path / name, prefixed("triage", server_files()), mode)
    with open_evidence([archive], workdir=workdir) as ev:
        assert ev.kind == "archive"
        assert ev.sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
        assert dict(ev.drives) == {"C": "triage/C", "D": "triage/D"}
        assert ev.resolve(LOGON_WIN) is not None
        assert {f.mtime for f in ev.files} == {datetime(2021, 3, 3, 4, 5, 6, tzinfo=UTC)}
        assert all(f.real.is_relative_to(workdir) for f in ev.files)


def test_zip_archive_member_times(tmp_path: Path, workdir: Path) -> None:
    archive = zip_files(tmp_path / "kape.zip", server_files())
    with open_evidence([archive], workdir=workdir) as ev:
        assert ev.kind == "archive"
        assert ev.exchange is not None and ev.exchange.rel == "D/Exchange/V15"
        assert {f.mtime for f in ev.files} == {datetime(2021, 3, 3, 4, 5, 6, tzinfo=UTC)}


def test_windows_zip_with_backslash_names(tmp_path: Path, workdir: Path) -> None:
    files = {rel.replace("/", "\\"): data for rel, data in server_files().items()}
    archive = zip_files(tmp_path / "sent-to-compressed.zip", files)
    with open_evidence([archive], workdir=workdir) as ev:
        assert [f.rel for f in ev.files] == sorted(server_files())
        assert ev.resolve(LOG_WIN) is not None


def test_archive_temp_folder_is_removed_on_close(tmp_path: Path, workdir: Path) -> None:
    archive = zip_files(tmp_path / "kape.zip", server_files())
    ev = open_evidence([archive], workdir=workdir)
    assert len(list(workdir.iterdir())) == 1
    ev.close()
    assert list(workdir.iterdir()) == []
    ev.close()  # closing twice is harmless


def test_single_text_log(tmp_path: Path) -> None:
    log = tmp_path / "u_ex210303.log"
    log.write_bytes(b"#Software: Microsoft Internet Information Services 10.0\n")
    with open_evidence([log]) as ev:
        assert ev.kind == "file"
        assert [(f.rel, f.real, f.windows_path) for f in ev.files] == [
            ("u_ex210303.log", log, None)
        ]
        assert ev.drives == {}
        assert ev.exchange is None and ev.iis is None


def test_single_utf16_log_and_evtx(tmp_path: Path) -> None:
    utf16 = tmp_path / "EOMT.log"
    utf16.write_bytes("\ufeffMitigation applied\r\n".encode("utf-16-le"))
    evtx = tmp_path / "MSExchange Management.evtx"
    evtx.write_bytes(b"ElfFile\x00" + bytes(120))
    for path in (utf16, evtx):
        with open_evidence([path]) as ev:
            assert ev.kind == "file"
            assert [f.rel for f in ev.files] == [path.name]


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [(".gz", gzip.compress), (".bz2", bz2.compress), (".xz", lzma.compress)],
)
def test_single_compressed_log(tmp_path: Path, workdir: Path, suffix: str, compress) -> None:
    path = tmp_path / f"HttpProxy_2021030100-1.LOG{suffix}"
    path.write_bytes(compress(b"DateTime,RequestId\n"))
    with open_evidence([path], workdir=workdir) as ev:
        assert ev.kind == "archive"
        (file,) = ev.files
        assert file.rel == "HttpProxy_2021030100-1.LOG"
        assert ev.head(file) == b"DateTime,RequestId\n"


def test_gzip_member_time_is_kept(tmp_path: Path, workdir: Path) -> None:
    path = tmp_path / "u_ex210303.log.gz"
    path.write_bytes(gzip.compress(b"x\n", mtime=1614744306))
    with open_evidence([path], workdir=workdir) as ev:
        assert ev.files[0].mtime == datetime(2021, 3, 3, 4, 5, 6, tzinfo=UTC)


def test_a_part_inside_another_is_read_once(tmp_path: Path) -> None:
    root = write_files(tmp_path / "ev", {"C/Windows/a.log": b"x", "C/inetpub/b.log": b"x"})
    with open_evidence([root / "C" / "inetpub", root]) as ev:
        assert [f.rel for f in ev.files] == ["C/Windows/a.log", "C/inetpub/b.log"]
        assert ev.skipped == [f"{root / 'C' / 'inetpub'}: inside {root}, read once as part of it"]
        assert ev.path == f"{root / 'C' / 'inetpub'}, {root}"


def test_collection_names_are_recognised_at_any_depth(tree) -> None:
    deep = "cases/2021-03/acme/exch01/collections/Collection-EXCH01"
    with open_evidence([tree(prefixed(deep, VELOCIRAPTOR))]) as ev:
        check_velociraptor(ev, deep)


def test_plain_letter_folders_deep_down_are_not_drives(tree) -> None:
    files = {"a/b/c/d/e/C/Windows/x.log": b"x"}
    with open_evidence([tree(files)]) as ev:
        assert ev.drives == {}
        assert ev.windows_path("a/b/c/d/e/C/Windows/x.log") is None


def test_a_bare_path_is_taken_as_one_path(tree) -> None:
    root = tree(server_files())
    with open_evidence(str(root)) as ev:  # type: ignore[arg-type]
        assert ev.path == str(root)
        assert len(ev.files) == len(server_files())
