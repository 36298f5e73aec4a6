"""Windows event log sources: channel and event id conditions, field renames, keywords, literals."""

from __future__ import annotations

import pytest
from sigma_helpers import SYSMON, RuleFactory, evtx

from exhunt.detect.sigma.fields import field_getter
from exhunt.detect.sigma.logsources import artifacts_for, variants_for

PROCESS = "product: windows\ncategory: process_creation"
CMD = "C:\\Windows\\System32\\cmd.exe"
W3WP = "C:\\Windows\\System32\\inetsrv\\w3wp.exe"


@pytest.mark.parametrize(
    ("logsource", "where"),
    [
        (
            {"product": "windows", "category": "file_event"},
            [(("Channel", (SYSMON,)), ("EventID", ("11",)))],
        ),
        (
            {"product": "windows", "category": "registry_event"},
            [(("Channel", (SYSMON,)), ("EventID", ("12", "13", "14")))],
        ),
        (
            {"product": "windows", "category": "file_delete"},
            [(("Channel", (SYSMON,)), ("EventID", ("23", "26")))],
        ),
        (
            {"product": "windows", "category": "ps_script"},
            [
                (
                    (
                        "Channel",
                        ("Microsoft-Windows-PowerShell/Operational", "PowerShellCore/Operational"),
                    ),
                    ("EventID", ("4104",)),
                )
            ],
        ),
        (
            {"product": "windows", "category": "ps_classic_start"},
            [(("Channel", ("Windows PowerShell",)), ("EventID", ("400",)))],
        ),
        (
            {"product": "windows", "service": "msexchange-management"},
            [(("Channel", ("MSExchange Management",)),)],
        ),
        (
            {"product": "windows", "service": "windefend"},
            [(("Channel", ("Microsoft-Windows-Windows Defender/Operational",)),)],
        ),
        ({"product": "windows"}, [()]),
    ],
)
def test_windows_logsource_rows(logsource: dict[str, str], where: list[tuple[object, ...]]) -> None:
    variants = variants_for(logsource)
    assert [variant.where for variant in variants] == where
    assert artifacts_for(logsource) == {"evtx"}


def test_process_creation_is_sysmon_1_or_security_4688() -> None:
    variants = variants_for({"product": "windows", "category": "process_creation"})
    assert [(v.where, v.field_table) for v in variants] == [
        ((("Channel", (SYSMON,)), ("EventID", ("1",))), "evtx"),
        ((("Channel", ("Security",)), ("EventID", ("4688",))), "evtx.security-4688"),
    ]


@pytest.mark.parametrize(
    ("sigma_field", "native", "value", "expected"),
    [
        ("Image", "NewProcessName", CMD, CMD),
        ("ParentImage", "ParentProcessName", W3WP, W3WP),
        ("User", "SubjectUserName", "EXCH01$", "EXCH01$"),
        ("LogonId", "SubjectLogonId", "0x3e7", "0x3e7"),
        ("IntegrityLevel", "MandatoryLabel", "S-1-16-12288", "High"),
        ("IntegrityLevel", "MandatoryLabel", "S-1-16-16384", "System"),
        ("IntegrityLevel", "MandatoryLabel", "odd", "odd"),
        ("CommandLine", "CommandLine", "cmd /c whoami", "cmd /c whoami"),
    ],
)
def test_security_4688_names(sigma_field: str, native: str, value: str, expected: str) -> None:
    assert field_getter("evtx.security-4688", sigma_field)({native: value}) == expected


def test_system_attribute_names_of_the_specification() -> None:
    fields = {"ExecutionProcessID": "4", "SecurityUserID": "S-1-5-18", "Threat Name": "EICAR"}
    assert field_getter("evtx", "Execution_ProcessID")(fields) == "4"
    assert field_getter("evtx", "Security_UserID")(fields) == "S-1-5-18"
    assert field_getter("evtx", "ThreatName")(fields) == "EICAR"
    assert field_getter("evtx", "threatname")(fields) == "EICAR"


def test_rule_matches_sysmon_and_security_events(make_rule: RuleFactory) -> None:
    rule = make_rule(
        "sel:\n  Image|endswith: '\\cmd.exe'\n  ParentImage|endswith: '\\w3wp.exe'\ncondition: sel",
        PROCESS,
    )
    assert rule.matches(evtx(Channel=SYSMON, EventID="1", Image=CMD, ParentImage=W3WP))
    assert rule.matches(
        evtx(Channel="Security", EventID="4688", NewProcessName=CMD, ParentProcessName=W3WP)
    )
    # The right names in the wrong event, channel or table
    assert not rule.matches(evtx(Channel=SYSMON, EventID="5", Image=CMD, ParentImage=W3WP))
    assert not rule.matches(evtx(Channel="Security", EventID="4688", Image=CMD, ParentImage=W3WP))
    assert not rule.matches(
        evtx(Channel=SYSMON, EventID="1", NewProcessName=CMD, ParentProcessName=W3WP)
    )
    assert not rule.matches(evtx(Channel="System", EventID="1", Image=CMD, ParentImage=W3WP))


def test_channel_is_compared_case_insensitively(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  Image|endswith: '\\cmd.exe'\ncondition: sel", PROCESS)
    assert rule.matches(evtx(Channel=SYSMON.lower(), EventID="1", Image=CMD))


def test_integrity_level_on_4688(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  IntegrityLevel: System\ncondition: sel", PROCESS)
    assert rule.matches(evtx(Channel="Security", EventID="4688", MandatoryLabel="S-1-16-16384"))
    assert rule.matches(evtx(Channel=SYSMON, EventID="1", IntegrityLevel="System"))
    assert not rule.matches(evtx(Channel="Security", EventID="4688", MandatoryLabel="S-1-16-8192"))
    # The raw text holds the SID, not "system": the 4688 variant gives no literal.
    assert rule.literals("evtx") is None


def test_literals_never_span_json_escapes(make_rule: RuleFactory) -> None:
    rule = make_rule(
        "sel:\n  CommandLine|contains: '\\\\localhost\\c$\\inetpub\\x.aspx'\ncondition: sel",
        PROCESS,
    )
    assert rule.literals("evtx") == {"localhost"}
    record = evtx(Channel=SYSMON, EventID="1", CommandLine="x \\\\localhost\\c$\\inetpub\\x.aspx")
    assert rule.matches(record)
    assert "\\\\\\\\localhost" in record.raw
    rule = make_rule("sel:\n  CommandLine|contains: 'a \"quoted\" b'\ncondition: sel", PROCESS)
    assert rule.literals("evtx") == {"quoted"}


def test_keywords_search_values_not_json(make_rule: RuleFactory) -> None:
    rule = make_rule(
        "keywords:\n  '|all':\n    - 'New-MailboxExportRequest'\n    - ' -FilePath \"\\\\'\n"
        "condition: keywords",
        "product: windows\nservice: msexchange-management",
    )
    record = evtx(
        Channel="MSExchange Management",
        EventID="1",
        Data="New-MailboxExportRequest",
        Data2='-Mailbox "a" -FilePath "\\\\localhost\\c$\\x.aspx"',
    )
    assert rule.matches(record)
    assert rule.literals("evtx") == {"new-mailboxexportrequest"}
    assert not rule.matches(evtx(Channel="MSExchange Management", EventID="1", Data="-FilePath"))


def test_data_reads_every_unnamed_value(make_rule: RuleFactory) -> None:
    rule = make_rule(
        "sel:\n  Data|contains: 'HostName=ConsoleHost'\ncondition: sel",
        "product: windows\ncategory: ps_classic_start",
    )
    text = "NewEngineState=Available\r\n\tHostName=ConsoleHost\r\n\tHostVersion=5.1"
    record = evtx(
        Channel="Windows PowerShell", EventID="400", Data="Available", Data2="None", Data3=text
    )
    assert rule.matches(record)
    assert not rule.matches(evtx(Channel="Windows PowerShell", EventID="400", Data="Available"))
    missing = make_rule(
        "sel:\n  Data: null\ncondition: sel", "product: windows\ncategory: ps_classic_start"
    )
    assert missing.matches(evtx(Channel="Windows PowerShell", EventID="400"))


def test_antivirus_category_reads_defender_names(make_rule: RuleFactory) -> None:
    rule = make_rule(
        "sel:\n  Signature|contains: Chopper\n  Filename|contains: aspnet_client\ncondition: sel",
        "category: antivirus",
    )
    record = evtx(
        Channel="Microsoft-Windows-Windows Defender/Operational",
        EventID="1116",
        **{
            "Threat Name": "Backdoor:ASP/Chopper.F!dha",
            "Path": "file:_C:\\inetpub\\wwwroot\\aspnet_client\\s.aspx",
        },
    )
    assert rule.matches(record)
    other = dict(record.fields, EventID="5007")
    assert not rule.matches(evtx(**other))


@pytest.mark.parametrize(
    ("value", "expected"), [("0x1410", True), ("0X1410", True), ("5136", True), ("0x1411", False)]
)
def test_numbers_match_hex_text_in_event_logs(
    make_rule: RuleFactory, value: str, expected: bool
) -> None:
    rule = make_rule(
        "sel:\n  GrantedAccess: 0x1410\ncondition: sel",
        "product: windows\ncategory: process_access",
    )
    assert rule.matches(evtx(Channel=SYSMON, EventID="10", GrantedAccess=value)) is expected
    assert rule.literals("evtx") == {"5136", "1410"}


def test_numbers_are_decimal_in_web_logs(make_rule: RuleFactory) -> None:
    from sigma_helpers import iis

    rule = make_rule("sel:\n  sc-status: 200\ncondition: sel")
    assert not rule.matches(iis(sc_status="0xc8"))
