"""Exchange install discovery: by the folder's children, on any drive, at any depth."""

from __future__ import annotations

from evidence_layouts import SYSTEM_FILES, prefixed, write_files

from exhunt.evidence import open_evidence


def test_non_default_drive_and_path_with_only_logs(tree) -> None:
    files = {
        **prefixed("C", SYSTEM_FILES),
        "E/Apps/Mail/ExchangeServer/Logging/HttpProxy/Ecp/HttpProxy_2021030100-1.LOG": b"x",
    }
    with open_evidence([tree(files)]) as ev:
        assert ev.exchange is not None
        assert ev.exchange.rel == "E/Apps/Mail/ExchangeServer"
        assert ev.exchange.windows_path == "E:\\Apps\\Mail\\ExchangeServer\\"
        assert ev.exchange.found_by == "folder with Logging\\HttpProxy"


def test_children_are_matched_in_any_case(tree) -> None:
    files = {"x/bin/a.dll": b"MZ", "x/FRONTEND/b.txt": b"x"}
    with open_evidence([tree(files)]) as ev:
        assert ev.exchange is not None
        assert ev.exchange.rel == "x"
        assert ev.exchange.found_by == "folder with bin, FRONTEND"
        assert ev.exchange.windows_path is None


def test_frontend_httpproxy_alone_is_enough(tree) -> None:
    with open_evidence([tree({"V15/FrontEnd/HttpProxy/owa/auth/logon.aspx": b"x"})]) as ev:
        assert ev.exchange is not None
        assert ev.exchange.found_by == "folder with FrontEnd\\HttpProxy"


def test_one_marker_is_not_enough(tree) -> None:
    with open_evidence([tree({"App/Bin/a.dll": b"MZ", "App/Data/b": b"x"})]) as ev:
        assert ev.exchange is None


def test_install_with_logs_is_preferred_and_the_choice_explained(tree) -> None:
    files = {
        "C/Program Files/Microsoft/Exchange Server/V15/Bin/a.dll": b"MZ",
        "C/Program Files/Microsoft/Exchange Server/V15/ClientAccess/b": b"x",
        "C/Program Files/Microsoft/Exchange Server/V15/Mailbox/c": b"x",
        "C/Program Files/Microsoft/Exchange Server/V15/TransportRoles/d": b"x",
        "D/Exchange/V15/Bin/a.dll": b"MZ",
        "D/Exchange/V15/FrontEnd/x": b"x",
        "D/Exchange/V15/Logging/HttpProxy/Owa/h.LOG": b"x",
    }
    with open_evidence([tree(files)]) as ev:
        assert ev.exchange is not None
        assert ev.exchange.rel == "D/Exchange/V15"
        assert ev.exchange.windows_path == "D:\\Exchange\\V15\\"
        assert ev.exchange.found_by == (
            "folder with Bin, FrontEnd, Logging, Logging\\HttpProxy; chosen over "
            "'C/Program Files/Microsoft/Exchange Server/V15' because it has logs"
        )


def test_exchange_specific_folders_beat_a_generic_bin_and_logging(tree) -> None:
    files = {
        "C/Tools/Agent/Bin/a.exe": b"MZ",
        "C/Tools/Agent/Logging/agent.log": b"x",
        "F/Ex/V15/ClientAccess/a": b"x",
        "F/Ex/V15/Mailbox/b": b"x",
    }
    with open_evidence([tree(files)]) as ev:
        assert ev.exchange is not None
        assert ev.exchange.rel == "F/Ex/V15"
        assert ev.exchange.found_by.endswith(
            "chosen over 'C/Tools/Agent' because it has Exchange-specific folders"
        )


def test_iis_config_breaks_a_tie(tree) -> None:
    config = SYSTEM_FILES["Windows/System32/inetsrv/config/applicationHost.config"]
    files = {
        "C/Windows/System32/inetsrv/config/applicationHost.config": config,
        "C/Exchange/V15/Bin/a": b"x",
        "C/Exchange/V15/FrontEnd/a": b"x",
        "D/Exchange/V15/Bin/a": b"x",
        "D/Exchange/V15/FrontEnd/a": b"x",
    }
    with open_evidence([tree(files)]) as ev:
        assert ev.exchange is not None
        assert ev.exchange.rel == "D/Exchange/V15"
        assert ev.exchange.found_by == (
            "folder with Bin, FrontEnd; applicationHost.config points to it; chosen over "
            "'C/Exchange/V15' because applicationHost.config points to it"
        )


def test_install_folder_given_alone_maps_through_the_config(tmp_path) -> None:
    # An install folder copied out with its FrontEnd, and the IIS config passed beside it.

    config = SYSTEM_FILES["Windows/System32/inetsrv/config/applicationHost.config"]
    install = write_files(
        tmp_path / "V15",
        {"FrontEnd/HttpProxy/owa/auth/logon.aspx": b"x", "Bin/a.dll": b"MZ"},
    )
    config_dir = write_files(tmp_path / "config", {"applicationHost.config": config})
    with open_evidence([install, config_dir]) as ev:
        assert ev.exchange is not None
        assert ev.exchange.rel == "V15"
        assert ev.exchange.windows_path == "D:\\Exchange\\V15\\"
        assert ev.windows_path("V15/Bin/a.dll") == "D:\\Exchange\\V15\\Bin\\a.dll"
