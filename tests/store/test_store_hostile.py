"""Attacker-written text reaches the store: NUL characters, invalid Unicode, huge values and
direction overrides are stored (escaped where a database cannot hold them), never fatal."""

from __future__ import annotations

from store_docs import document, webshell_finding

from exhunt.store import open_store
from exhunt.store.prepare import clean

NUL_AGENT = "evil\x00agent/1.0"
BAD_UNICODE = "shell\udcff.aspx"
HUGE = "python-requests/2.25.1 " + "A" * 20000
RLO = "\u202easpx.txt"


def test_clean_escapes_only_what_a_database_cannot_hold() -> None:
    assert clean(NUL_AGENT) == "evil\\x00agent/1.0"
    assert clean(BAD_UNICODE) == "shell\\udcff.aspx"
    assert clean(RLO) == RLO
    assert clean("plain") == "plain"


def test_hostile_indicators_are_stored_and_pivot(target: str) -> None:
    finding = webshell_finding(agent=NUL_AGENT)
    finding.indicators.user_agents += [HUGE, RLO]
    finding.indicators.paths.append("/owa/auth/" + BAD_UNICODE)
    with open_store(target) as store:
        first = store.save(document(host="A", findings=[finding]), "Contoso")
        store.save(document(host="B", findings=[finding]), "Fabrikam")
        agents = {p.value for p in store.pivot(kinds=("user_agent",))}
        names = {p.value for p in store.pivot(kinds=("webshell_name",))}
        tools = {p.value for p in store.pivot(kinds=("tool",))}
        again = store.document(first.scan_id)
    assert agents == {"evil\\x00agent/1.0", "Mozilla/5.0 (Windows NT 10.0)", HUGE, RLO}
    assert names == {"shell.aspx", "shell\\udcff.aspx"}
    assert tools == {"evil\\x00agent", "python-requests", RLO}
    assert again.findings[0].indicators.user_agents[-2:] == [HUGE, RLO]
    assert again.findings[0].indicators.user_agents[0] == NUL_AGENT
    assert again.findings[0].indicators.paths[-1] == "/owa/auth/" + BAD_UNICODE
