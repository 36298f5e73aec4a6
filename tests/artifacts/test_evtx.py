"""Windows event logs: the record schema, read from real public samples."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from evtxsamples import ATTACK_MITRE, ATTACK_SB, PARSER_SAMPLES, evtx_sample

from exhunt.artifacts.base import ARTIFACTS
from exhunt.artifacts.evtx import (
    SYSTEM_FIELDS,
    EvtxLog,
    EvtxReader,
    flatten,
    iter_evtx_records,
    parse_system_time,
)
from exhunt.evidence import EvidenceFile, open_evidence
from exhunt.exceptions import ArtifactError
from exhunt.model import Record, Source


def by_id(path: Path, record_id: int) -> Record:
    (record,) = [r for r in iter_evtx_records(path) if r.record == record_id]
    return record


def test_sysmon_process_creation_record() -> None:
    path = evtx_sample(ATTACK_MITRE, "ID10-Mimikatz LSASS process dump.evtx")
    record = next(iter_evtx_records(path))
    assert record.source == Source("evtx", str(path))
    assert record.line is None
    assert record.time == datetime(2021, 10, 21, 20, 40, 12, 867822, tzinfo=UTC)
    assert json.loads(record.raw)["Event"]["System"]["EventRecordID"] == 82849
    assert dict(record.fields) == {
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Provider_Name": "Microsoft-Windows-Sysmon",
        "Provider_Guid": "5770385F-C22A-43E0-BF4C-06F5698FFBD9",
        "EventID": "1",
        "Version": "5",
        "Level": "4",
        "Task": "1",
        "Opcode": "0",
        "Keywords": "0x8000000000000000",
        "EventRecordID": "82849",
        "Computer": "FS03.offsec.lan",
        "TimeCreated": "2021-10-21T20:40:12.867822Z",
        "ExecutionProcessID": "1152",
        "ExecutionThreadID": "1764",
        "SecurityUserID": "S-1-5-18",
        "RuleName": "technique_id=T1059,technique_name=Command-Line Interface",
        "UtcTime": "2021-10-21 20:40:12.867",
        "ProcessGuid": "7CF65FC7-D02C-6171-1203-000000001200",
        "ProcessId": "2032",
        "Image": "C:\\TOOLS\\Mimikatzx64\\mimikatz.exe",
        "FileVersion": "2.2.0.0",
        "Description": "mimikatz for Windows",
        "Product": "mimikatz",
        "Company": "gentilkiwi (Benjamin DELPY)",
        "OriginalFileName": "mimikatz.exe",
        "CommandLine": "mimikatz.exe",
        "CurrentDirectory": "C:\\TOOLS\\Mimikatzx64\\",
        "User": "OFFSEC\\admmig",
        "LogonGuid": "7CF65FC7-7ABF-616E-5FC6-F40100000000",
        "LogonId": "0x1f4c65f",
        "TerminalSessionId": "2",
        "IntegrityLevel": "High",
        "Hashes": "SHA1=D241DF7B9D2EC0B8194751CD5CE153E27CC40FA4,"
        "MD5=A3CB3B02A683275F7E0A0F8A9A5C9E07,"
        "SHA256=31EB1DE7E840A342FD468E558E5AB627BCB4C542A8FE01AEC4D5BA01D539A0FC,"
        "IMPHASH=DBDEA7B557F0E6B5D9E18ABE9CE5220A",
        "ParentProcessGuid": "7CF65FC7-886C-616E-B201-000000001200",
        "ParentProcessId": "2908",
        "ParentImage": "C:\\Windows\\System32\\cmd.exe",
        "ParentCommandLine": '"C:\\Windows\\system32\\cmd.exe" ',
    }


def test_record_id_is_the_events_own_not_the_record_header_number() -> None:
    # An exported, filtered file: the record headers say 1..3, the events their own ids.
    path = evtx_sample(ATTACK_MITRE, "ID10-Mimikatz LSASS process dump.evtx")
    assert [event.number for event in EvtxReader(path).events()] == [1, 2, 3]
    assert [r.record for r in iter_evtx_records(path)] == [82849, 82852, 82853]


def test_msexchange_management_unnamed_data_in_order() -> None:
    path = evtx_sample(ATTACK_MITRE, "ID6-Failed to install an Exchange transport agent.evtx")
    record = by_id(path, 7184)
    fields = record.fields
    assert fields["Channel"] == "MSExchange Management"
    assert fields["Provider_Name"] == "MSExchange CmdletLogs"
    assert fields["EventID"] == "6"  # written with Qualifiers 49152, dropped
    assert [fields[f"Data{n}" if n > 1 else "Data"] for n in range(1, 8)] == [
        "Install-TransportAgent",
        '-Name "Evil" -AssemblyPath ".\\NetshHelperBeacon.dll" -TransportAgentFactory "hack"',
        "offsec.lan/OFFSEC-COMPANY/Administrators/admmig",
        "S-1-5-21-4230534742-2542757381-3142984815-1111",
        "S-1-5-21-4230534742-2542757381-3142984815-1111",
        "Remote-ManagementShell-Unknown",
        "8372 w3wp#MSExchangePowerShellAppPool",
    ]
    assert fields["Data27"] == "en-US"
    assert "Data28" not in fields
    assert fields["Binary"] == ""  # <Binary/> written empty
    # Fields the event does not have are present and empty.
    assert (fields["Version"], fields["Opcode"], fields["SecurityUserID"]) == ("", "", "")


def test_forwarded_event_with_text_numbers_and_long_fraction() -> None:
    # Collected by Windows Event Forwarding: numbers as text, 100 ns precision.
    record = by_id(evtx_sample(PARSER_SAMPLES, "MSExchange_Management_wec.evtx"), 3229)
    assert record.time == datetime(2021, 11, 19, 16, 52, 33, 833733, tzinfo=UTC)
    assert record.fields["EventID"] == "1"
    assert record.fields["EventRecordID"] == "3229"
    assert record.fields["TimeCreated"] == "2021-11-19T16:52:33.833733Z"
    assert record.fields["Data"] == "Set-Mailbox"
    assert record.fields["Data2"] == (
        '-Identity "Administrateur" -DeliverToMailboxAndForward "False" '
        '-ForwardingSmtpAddress "smtp:test2@example.com"'
    )


def test_security_log_cleared_user_data_leaves() -> None:
    path = evtx_sample(ATTACK_MITRE, "ID4688,4624-RottenPotatoNG.evtx")
    fields = by_id(path, 1122929).fields
    assert {k: v for k, v in fields.items() if k not in SYSTEM_FIELDS} == {
        "SubjectUserSid": "S-1-5-21-4230534742-2542757381-3142984815-1234",
        "SubjectUserName": "hack1",
        "SubjectDomainName": "OFFSEC",
        "SubjectLogonId": "0x767a7ed",
    }
    # Written as {fc65ddd8-...} by this provider: normalised.
    assert fields["Provider_Guid"] == "FC65DDD8-D6EF-4962-83D5-6E5CFE9CE148"
    assert fields["SecurityUserID"] == ""


def test_event_data_template_name_is_not_a_field() -> None:
    path = evtx_sample(ATTACK_SB, "LsassSilentProcessExit_process_exit_monitor_3001_lsass.evtx")
    fields = by_id(path, 32887).fields
    assert {k: v for k, v in fields.items() if k not in SYSTEM_FIELDS} == {
        "param1": "C:\\Windows\\System32\\lsass.exe",
        "param2": "C:\\Users\\IEUser\\Desktop\\LsassSilentProcessExit.exe",
        "param3": "0",
        "param4": "01d75d3714c3280e",
    }


def test_event_data_name_clashing_with_system_field() -> None:
    # Sysmon 4 (service state) has <Data Name="Version">.
    fields = by_id(evtx_sample(ATTACK_SB, "babyshark_mimikatz_powershell.evtx"), 2).fields
    assert fields["Version"] == "3"
    assert fields["EventData_Version"] == "9.01"


def test_booleans_as_xml_writes_them() -> None:
    path = evtx_sample(PARSER_SAMPLES, "sample-with-irregular-bool-values.evtx")
    fields = by_id(path, 2).fields
    assert (fields["IsServiceRestart"], fields["IsMachineBoot"]) == ("false", "true")


def test_zero_time_falls_back_to_the_record_header() -> None:
    path = evtx_sample(PARSER_SAMPLES, "Microsoft-Windows-HelloForBusiness%4Operational.evtx")
    record = by_id(path, 0)
    assert record.fields["TimeCreated"] == ""
    assert record.fields["Channel"] == ""
    assert record.time == datetime(2018, 7, 12, 0, 42, 14, 285536, tzinfo=UTC)


def test_capi2_user_data_clashes_are_numbered() -> None:
    path = evtx_sample(
        PARSER_SAMPLES,
        "E_ShadowCopy6_windows_system32_winevt_logs_Microsoft-Windows-CAPI2%4Operational.evtx",
    )
    fields = by_id(path, 466).fields
    assert fields["Provider_Guid"] == "5BBCA4A8-B209-48DC-A8C7-B23D3E5216FB"
    assert fields["ValidationTime"] == "2016-03-03T03:57:47Z"
    assert (fields["ErrorStatus"], fields["TrustStatus_ErrorStatus"]) == ("", "")
    assert "TrustStatus_ErrorStatus3" in fields
    assert "TrustStatus_ErrorStatus4" not in fields


def test_flatten_user_data_parent_leaf_and_numbering() -> None:
    event = {
        "System": {"EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7045}},
        "UserData": {
            "Root": {
                "#attributes": {"xmlns": "urn:x"},
                "Name": "a",
                "Inner": {"Name": "b", "Value": {"#attributes": {"k": "v"}, "#text": 5}},
                "Other": {"Name": ["c", "d"]},
                "Flag": True,
                "Empty": None,
            }
        },
    }
    fields = flatten(event)
    assert fields["EventID"] == "7045"
    assert {k: v for k, v in fields.items() if k not in SYSTEM_FIELDS} == {
        "Name": "a",
        "Inner_Name": "b",
        "Value": "5",
        "Other_Name": "c",
        "Other_Name2": "d",
        "Flag": "true",
        "Empty": "",
    }


def test_flatten_unnamed_data_forms() -> None:
    single = flatten({"EventData": {"Data": {"#text": "only"}}})
    assert single["Data"] == "only" and "Data2" not in single
    listed = flatten({"EventData": {"Data": ["x", 3, None]}})
    assert (listed["Data"], listed["Data2"], listed["Data3"]) == ("x", "3", "")
    bare = flatten({"EventData": "text"})
    assert bare["Data"] == "text"


def test_flatten_hostile_shapes_never_raise() -> None:
    deep: dict[str, object] = {"Leaf": "bottom"}
    for _ in range(5000):
        deep = {"Level": deep}
    fields = flatten({"System": ["not", "a", "dict"], "EventData": 5, "UserData": deep})
    assert fields["Leaf"] == "bottom"
    assert fields["Channel"] == "" and fields["Data"] == "5"
    assert list(fields)[: len(SYSTEM_FIELDS)] == list(SYSTEM_FIELDS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-11-19T16:52:33.833733500Z", datetime(2021, 11, 19, 16, 52, 33, 833733, tzinfo=UTC)),
        ("2021-10-20T14:18:43Z", datetime(2021, 10, 20, 14, 18, 43, tzinfo=UTC)),
        ("1601-01-01T00:00:00.000000Z", None),
        ("", None),
        ("yesterday", None),
    ],
)
def test_parse_system_time(text: str, expected: datetime | None) -> None:
    assert parse_system_time(text) == expected


def test_registered_and_claims_by_signature(tmp_path: Path) -> None:
    assert ARTIFACTS.get("evtx") is EvtxLog
    file = EvidenceFile("x.evtx", tmp_path / "x.evtx", 0, None)
    assert EvtxLog.claims(file, b"ElfFile\x00" + bytes(100)) == 10
    assert EvtxLog.claims(file, b"ElfChnk\x00") == 0
    assert EvtxLog.claims(file, b"") == 0


def test_iter_records_through_the_artifact_keeps_evidence_paths() -> None:
    folder = evtx_sample(ATTACK_MITRE)
    with open_evidence([folder]) as evidence:
        (file,) = [f for f in evidence.files if f.rel.startswith("ID10-")]
        records = list(EvtxLog().iter_records(evidence, file))
    assert [r.source.path for r in records] == ["ID10-Mimikatz LSASS process dump.evtx"] * 3


def test_not_an_evtx_file_raises_artifact_error(tmp_path: Path) -> None:
    path = tmp_path / "Security.evtx"
    path.write_text("not an event log\n")
    with pytest.raises(ArtifactError, match=r"not an EVTX file \(it looks like text\)"):
        list(iter_evtx_records(path))
