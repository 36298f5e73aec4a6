"""The registry hive reader, on hives written by the test (exhunt.testing.hive)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from exhunt.artifacts.hive import Hive, Value
from exhunt.testing.hive import hive_with

SETUP = "Microsoft\\ExchangeServer\\v15\\Setup"
VALUES: dict[str, Value] = {
    "MsiInstallPath": "D:\\Exchange Server\\V15\\",
    "MsiProductMajor": 15,
    "MsiProductMinor": 1,
    "MsiBuildMajor": 2176,
    "MsiBuildMinor": 2,
    "OwaVersion": "15.1.2176.9",
    "Roles": ["Mailbox", "ClientAccess"],
    "Blob": b"\x01\x02\x03\x04\x05\x06",
}
WRITTEN = datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_key_by_path_any_case_and_prefix() -> None:
    hive = Hive(hive_with({SETUP: VALUES, "Microsoft\\Other": {"x": 1}}, WRITTEN))
    assert hive.valid and not hive.dirty
    key = hive.key("HKLM\\SOFTWARE\\microsoft\\EXCHANGESERVER\\V15\\setup")
    assert key is not None
    assert (key.name, key.last_written, key.values()) == ("Setup", WRITTEN, VALUES)
    microsoft = hive.key("Microsoft")
    assert microsoft is not None
    assert sorted(k.name for k in microsoft.subkeys()) == ["ExchangeServer", "Other"]
    assert hive.key("Microsoft\\Missing") is None


def test_dirty_hive_and_not_a_hive() -> None:
    assert Hive(hive_with({SETUP: {"a": 1}}, dirty=True)).dirty
    assert Hive(b"not a hive").root is None
    assert Hive(b"not a hive").key(SETUP) is None


def test_hostile_bytes_never_raise() -> None:
    good = hive_with({SETUP: VALUES, "MSERTBootstrap\\PatchState": {"Timestamp": "x"}})
    rng = random.Random(3)
    for _ in range(300):
        data = bytearray(good)
        for _ in range(rng.randrange(1, 16)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        hive = Hive(bytes(data))
        key = hive.key(SETUP)
        if key is not None:
            assert isinstance(key.values(), dict)
            assert key.last_written is None or key.last_written.year > 1600
        Hive(bytes(data[: rng.randrange(len(data))])).key(SETUP)
