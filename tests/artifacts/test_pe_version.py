"""The version resource of a PE file (ExSetup.exe), read from a PE built by the test."""

from __future__ import annotations

import random

from exhunt.artifacts.pe_version import PeVersion, read_version
from exhunt.testing.pe import pe_with_version

STRINGS = {"CompanyName": "Microsoft Corporation", "FileVersion": "15.01.2176.009",
           "ProductName": "Microsoft® Exchange"}  # fmt: skip


def test_fixed_file_info_and_strings() -> None:
    data = pe_with_version((15, 1, 2176, 9), STRINGS, product_version=(15, 1, 2176, 0))
    assert read_version(data) == PeVersion(
        (15, 1, 2176, 9), (15, 1, 2176, 0), STRINGS, "resource directory"
    )


def test_damaged_headers_fall_back_to_searching_the_block() -> None:
    data = bytearray(pe_with_version((15, 2, 1118, 20), STRINGS))
    data[0x40:0x44] = b"XX\0\0"  # no PE signature
    found = read_version(bytes(data))
    assert found is not None
    assert (found.file_version, found.found_by) == ((15, 2, 1118, 20), "search")


def test_not_a_pe_or_no_version_resource() -> None:
    assert read_version(b"") is None
    assert read_version(b"MZ" + b"\0" * 200) is None
    assert read_version(b"#!/bin/sh\necho hi\n") is None


def test_hostile_bytes_never_raise() -> None:
    good = pe_with_version((15, 1, 2507, 6), STRINGS)
    rng = random.Random(7)
    for _ in range(500):
        data = bytearray(good)
        for _ in range(rng.randrange(1, 12)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        read_version(bytes(data))
        read_version(bytes(data[: rng.randrange(len(data))]))
