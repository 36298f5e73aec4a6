"""Hosts as users write them: names, addresses, host:port, URLs, and files of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from exhunt.exceptions import UsageError
from exhunt.probe.targets import iter_target_lines, load_targets, parse_target, unique


@pytest.mark.parametrize(
    ("text", "scheme", "host", "port", "origin"),
    [
        ("mail.example.org", "https", "mail.example.org", 443, "https://mail.example.org"),
        ("MAIL.Example.org.", "https", "mail.example.org", 443, "https://mail.example.org"),
        ("mail.example.org:8443", "https", "mail.example.org", 8443, "https://mail.example.org:8443"),
        ("10.0.0.5", "https", "10.0.0.5", 443, "https://10.0.0.5"),
        ("10.0.0.5:444", "https", "10.0.0.5", 444, "https://10.0.0.5:444"),
        ("2001:db8::1", "https", "2001:db8::1", 443, "https://[2001:db8::1]"),
        ("[2001:db8::1]:8443", "https", "2001:db8::1", 8443, "https://[2001:db8::1]:8443"),
        ("http://exch01", "http", "exch01", 80, "http://exch01"),
        ("https://mail.example.org/owa/", "https", "mail.example.org", 443, "https://mail.example.org"),
        ("HTTPS://mail.example.org:443/x?y", "https", "mail.example.org", 443, "https://mail.example.org"),
        ("  webmail.bücher.example  ", "https", "webmail.xn--bcher-kva.example", 443,
         "https://webmail.xn--bcher-kva.example"),
    ],
)  # fmt: skip
def test_parse_target(text: str, scheme: str, host: str, port: int, origin: str) -> None:
    target = parse_target(text)
    assert (target.text, target.scheme, target.host, target.port) == (
        text.strip(),
        scheme,
        host,
        port,
    )
    assert target.origin == origin
    assert target.url("/owa/") == origin + "/owa/"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "not a host: ''"),
        ("ftp://mail.example.org", "only http:// and https:// are probed"),
        ("mail.example.org:99999", "not a host"),
        ("mail.example.org:http", "not a host"),
        ("https://user:secret@mail.example.org", "no user names or passwords"),
        ("mail.example.org/owa", "write a URL with https:// to give a path"),
        ("mail example org", "invalid name"),
        ("-bad-.example.org", "invalid name"),
        ("a" * 64 + ".example.org", "invalid name"),
        ("x" * 2001, "not a host"),
    ],
)
def test_parse_target_refuses(text: str, reason: str) -> None:
    with pytest.raises(UsageError, match="not a host") as caught:
        parse_target(text)
    assert reason in str(caught.value)


def test_file_lines_skip_comments_and_blanks() -> None:
    lines = [
        "# Exchange front ends",
        "",
        "mail.example.org   # the published name",
        "   10.0.0.5:444",
        "#10.0.0.6",
        "https://[2001:db8::1]/owa",
    ]
    targets = list(iter_target_lines(lines, "hosts.txt"))
    assert [t.origin for t in targets] == [
        "https://mail.example.org",
        "https://10.0.0.5:444",
        "https://[2001:db8::1]",
    ]


def test_a_bad_line_is_named_by_file_and_number(tmp_path: Path) -> None:
    path = tmp_path / "hosts.txt"
    path.write_text("mail.example.org\n\nftp://x.example.org\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"hosts.txt:3: not a host: 'ftp://x.example.org'"):
        load_targets(path)


def test_a_file_with_a_byte_order_mark_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "hosts.txt"
    path.write_bytes(b"\xef\xbb\xbfmail.example.org\r\nexch02:8443\r\n")
    assert [t.origin for t in load_targets(path)] == [
        "https://mail.example.org",
        "https://exch02:8443",
    ]


def test_a_file_that_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "hosts.bin"
    path.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(UsageError, match="cannot read"):
        load_targets(path)


def test_unique_keeps_the_first_of_each_origin() -> None:
    targets = [
        parse_target(t) for t in ("mail.example.org", "https://MAIL.example.org:443/owa", "exch02")
    ]
    assert [t.text for t in unique(targets)] == ["mail.example.org", "exch02"]
