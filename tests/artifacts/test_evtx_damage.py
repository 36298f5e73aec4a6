"""Damaged event logs: what can be read is read, the rest is counted and named."""

from __future__ import annotations

from pathlib import Path

import pytest
from evtxsamples import PARSER_SAMPLES, evtx_sample

from exhunt.artifacts.evtx import EvtxReader, iter_evtx_records
from exhunt.exceptions import ArtifactError

CHUNK_MAGIC_ZERO = (
    "Failed to parse chunk header: Invalid EVTX chunk header magic, expected `ElfChnk0`, "
    "found `[ 0,  0,  0,  0,  0,  0,  0,  0]`"
)


def read(path: Path) -> tuple[EvtxReader, int]:
    reader = EvtxReader(path)
    return reader, sum(1 for _ in reader.events())


def bad_parts(reader: EvtxReader) -> list[tuple[str, int]]:
    return [(part.describe(), part.records) for part in reader.bad]


@pytest.mark.parametrize(
    ("name", "records"),
    [
        ("2-system-Microsoft-Windows-LiveId%4Operational.evtx", 399),
        ("2-vss_7-System.evtx", 1160),
        ("Application_no_crc32.evtx", 17),
        ("E_Windows_system32_winevt_logs_Microsoft-Windows-Shell-Core%4Operational.evtx", 1146),
        ("MSExchange_Management_wec.evtx", 1),
        ("Security_with_size_t.evtx", 636),
        ("post-Security.evtx", 126),
        ("sample-with-irregular-bool-values.evtx", 3028),
        ("security.evtx", 2261),
        ("system.evtx", 1881),
    ],
)
def test_sound_files_read_whole(name: str, records: int) -> None:
    reader, count = read(evtx_sample(PARSER_SAMPLES, name))
    assert (count, reader.records, reader.bad, reader.bad_records) == (records, records, [], 0)
    assert reader.layout is not None and not reader.layout.truncated


def test_bad_string_cache_reads_the_same_events() -> None:
    # Two bytes of chunk 0's string cache are zeroed; the parser reads names inline.
    good = list(iter_evtx_records(evtx_sample(PARSER_SAMPLES, "security.evtx")))
    bad = list(iter_evtx_records(evtx_sample(PARSER_SAMPLES, "security_bad_string_cache.evtx")))
    assert len(bad) == 2261
    assert [r.raw for r in bad] == [r.raw for r in good]


def test_bad_chunk_magic_and_wiped_chunks() -> None:
    reader, count = read(evtx_sample(PARSER_SAMPLES, "sample_with_a_bad_chunk_magic.evtx"))
    assert count == 270
    assert bad_parts(reader) == [
        (f"chunk 6 (offset 397312): {CHUNK_MAGIC_ZERO}", 1),
        (f"chunk 10 (offset 659456): {CHUNK_MAGIC_ZERO}", 1),
        (
            "chunks 1-5, 11-15: they hold only zeros, though the file header counts them as in "
            "use: wiped or never copied",
            10,
        ),
    ]
    assert reader.bad_records == 12


def test_sysmon_with_garbage_chunks() -> None:
    reader, count = read(evtx_sample(PARSER_SAMPLES, "sysmon.evtx"))
    assert count == 358
    found = [
        "[ 0,  0,  0,  0,  0,  0,  0,  0]",
        "[ 0, 79,  0,  0,  0,  0, 84, 7D]",
        "[FF, 78,  0,  0,  0,  0, 54, 10]",
        "[ 0, B0, 15, 96, 6D,  0,  0,  0]",
        "[ 0,  0, 24,  0,  0,  0, 18,  3]",
        "[ 9, 4D,  0, 40,  0,  0,  0,  0]",
        "[EF,  1,  0, 42, 9C, 46, 7B, 56]",
        "[ 3,  0, 44, DB, EE, 27, AE, AD]",
    ]
    assert bad_parts(reader) == [
        (f"chunk {n} (offset {4096 + n * 65536}): {CHUNK_MAGIC_ZERO.replace(found[0], bytes_)}", 1)
        for n, bytes_ in enumerate(found, start=9)
    ]
    assert reader.bad_records == 8


def test_zero_size_event() -> None:
    reader, count = read(evtx_sample(PARSER_SAMPLES, "sample-with-zero-data-size-event.evtx"))
    assert count == 335
    assert bad_parts(reader) == [
        (
            "after record number 2: Invalid EVTX record data size, should be equals or greater "
            "than 28, found `0`",
            1,
        )
    ]


def test_shadow_copy_records_with_broken_binxml() -> None:
    name = "2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx"
    reader, count = read(evtx_sample(PARSER_SAMPLES, name))
    assert count == 1910
    assert bad_parts(reader) == [
        (
            "record number 6335011: buffer too small for NullType Descriptor at offset 78404 "
            "(need 0 bytes, have 0)",
            1,
        ),
        (
            "after record number 6335010: Invalid EVTX record header magic, expected `2a2a0000`, "
            "found `[ 0, 6E,  0, 64]`",
            1,
        ),
        ("record number 6914519: An out-of-range date, invalid month and/or day", 1),
        (
            "after record number 6914518: Invalid EVTX record header magic, expected `2a2a0000`, "
            "found `[3D, 13, 6A,  0]`",
            1,
        ),
    ]


def test_shadow_copy_invalid_token() -> None:
    name = "2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx"
    reader, count = read(evtx_sample(PARSER_SAMPLES, name))
    assert count == 1774
    assert [where.split(":")[0] for where, _ in bad_parts(reader)] == [
        "record number 463011",
        "after record number 463010",
    ]
    assert reader.bad_records == 2


@pytest.fixture
def security_bytes() -> bytes:
    return evtx_sample(PARSER_SAMPLES, "security.evtx").read_bytes()


MISSING = "missing: the file ends before them, though its header counts 26 chunks"


@pytest.mark.parametrize(
    ("size", "records", "parts"),
    [
        # Chunk 10 holds records 889..976: 975 is cut in two, 976 is gone.
        (
            659456 + 64039,
            974,
            [
                ("chunk 10 (offset 659456): file ends 64039 bytes into this chunk; "
                 "records lost: 2 of its 88", 2),
                (f"chunks 11-25: {MISSING}", 15),
            ],
        ),
        (
            659456 + 30000,
            926,
            [
                ("chunk 10 (offset 659456): file ends 30000 bytes into this chunk; "
                 "records lost: 50 of its 88", 50),
                (f"chunks 11-25: {MISSING}", 15),
            ],
        ),
        # The chunk header survives, no record does.
        (
            659456 + 200,
            888,
            [
                ("chunk 10 (offset 659456): file ends 200 bytes into this chunk; "
                 "records lost: 88 of its 88", 88),
                (f"chunks 11-25: {MISSING}", 15),
            ],
        ),
        # Not even the chunk header: its record count is unknown, the chunk counts as one.
        (
            659456 + 20,
            888,
            [
                ("chunk 10 (offset 659456): file ends 20 bytes into this chunk; "
                 "its records after the cut are lost", 1),
                (f"chunks 11-25: {MISSING}", 15),
            ],
        ),
        # Cut at a chunk boundary: only the checksummed file header tells.
        (4096 + 11 * 65536, 976, [(f"chunks 11-25: {MISSING}", 15)]),
        (2000, 0, [("file ends 2000 bytes into its 4096-byte header", 0),
                   (f"chunks 0-25: {MISSING}", 26)]),
        # The header's chunk count is not readable: the file counts as one bad record.
        (100, 0, [("file ends 100 bytes into its 4096-byte header", 1)]),
    ],
)  # fmt: skip
def test_truncated_copies(
    tmp_path: Path,
    security_bytes: bytes,
    size: int,
    records: int,
    parts: list[tuple[str, int]],
) -> None:
    path = tmp_path / "Security.evtx"
    path.write_bytes(security_bytes[:size])
    reader, count = read(path)
    assert (count, reader.records) == (records, records)
    assert bad_parts(reader) == parts
    assert reader.layout is not None and reader.layout.truncated
    assert reader.layout.size == size


@pytest.mark.parametrize(("size", "records"), [(659456 + 64039, 974), (659456 + 30000, 926)])
def test_truncated_file_gives_only_whole_original_records(
    tmp_path: Path, security_bytes: bytes, size: int, records: int
) -> None:
    # The parser reads the zero padding as the tail of the record cut in two: that record is
    # left out, not handed on with a made-up tail.
    path = tmp_path / "Security.evtx"
    path.write_bytes(security_bytes[:size])
    original = [r.raw for r in iter_evtx_records(evtx_sample(PARSER_SAMPLES, "security.evtx"))]
    assert [r.raw for r in iter_evtx_records(path)] == original[:records]


@pytest.mark.parametrize(
    ("content", "looks"),
    [
        (b"", "an empty file"),
        (b"Date,Time,Client\r\n" * 20, "it looks like text"),
        (b"MZ" + bytes(200), "it looks like a Windows executable or DLL"),
        (b"ElfFile", "it looks like text"),
        (bytes(5000), "it looks like binary data"),
    ],
)
def test_not_evtx(tmp_path: Path, content: bytes, looks: str) -> None:
    path = tmp_path / "System.evtx"
    path.write_bytes(content)
    reader = EvtxReader(path)
    with pytest.raises(ArtifactError, match=f"could not read: not an EVTX file \\({looks}\\)"):
        list(reader.events())
    assert (reader.records, reader.bad_records) == (0, 0)


def test_unreadable_file_is_an_artifact_error(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="could not read: No such file or directory"):
        list(EvtxReader(tmp_path / "gone.evtx").events())


def test_garbage_after_the_header_is_counted_not_fatal(
    tmp_path: Path, security_bytes: bytes
) -> None:
    # A valid file header followed by chunks of noise: every chunk is a bad record.
    noise = bytes((i * 7919) % 251 for i in range(3 * 65536))
    path = tmp_path / "noise.evtx"
    path.write_bytes(security_bytes[:4096] + noise)
    reader, count = read(path)
    assert count == 0
    assert [where.split(":")[0] for where, _ in bad_parts(reader)] == [
        "chunk 0 (offset 4096)",
        "chunk 1 (offset 69632)",
        "chunk 2 (offset 135168)",
        "chunks 3-25",
    ]
    assert reader.bad_records == 3 + 23
