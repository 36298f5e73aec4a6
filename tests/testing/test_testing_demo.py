"""``python -m exhunt.testing.demo DIR`` writes the two example servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from exhunt.testing.demo import main

pytestmark = pytest.mark.slow


def test_demo_writes_both_servers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "clean-server" / "C" / "stale.txt"
    stale.parent.mkdir(parents=True)
    stale.write_text("left over from an older version")
    assert main([str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean-server", "compromised-server"]
    assert not stale.exists()
    clean, compromised = capsys.readouterr().err.splitlines()
    assert clean.startswith(f"{tmp_path / 'clean-server'}: ") and clean.endswith(
        "Exchange 15.1.2176.9, 4411 files, logs 2021-02-24..2021-03-10, no attack"
    )
    assert compromised.startswith(f"{tmp_path / 'compromised-server'}: ")
    assert (
        "Exchange 15.1.2106.2" in compromised
        and "ProxyLogon from 104.140.114.110 at 2021-03-03" in compromised
    )
    assert compromised.endswith("web shell /owa/auth/RedirSuiteServerProxy.aspx")
    webshell = "Program Files/Microsoft/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth"
    assert (
        tmp_path / "compromised-server" / "C" / webshell / "RedirSuiteServerProxy.aspx"
    ).is_file()
