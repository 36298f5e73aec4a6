"""exhunt's file scan against a bare yara-x scan of the same rules over the same tree.

    python bench/bench_files.py [--files N] [--yara DIR]

Writes a tree of ASP.NET-like pages (a few web shells among them) as an IIS web root, then
times ``scan_tree`` (hashes + YARA, one read per file, worker processes) and a bare loop of
``yara_x.Scanner.scan_file`` over the same files with the same compiled rules, and prints the
ratio (aim: at most 1.25).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import yara_x

from exhunt.detect.context import ScanContext
from exhunt.detect.engine import scan_tree
from exhunt.detect.rules import RuleSpec, load_ruleset
from exhunt.detect.treecontent import yara_of
from exhunt.evidence import open_evidence

PAGE = (
    '<%@ Page Language="C#" %>\n<script runat="server">\nvoid Page_Load(){{ '
    'Label{n}.Text = Server.HtmlEncode(Request.QueryString["q{n}"]); }}\n</script>\n'
)


def write_tree(root: Path, count: int) -> int:
    rnd = random.Random(1)
    web = root / "C" / "inetpub" / "wwwroot"
    total = 0
    for n in range(count):
        folder = web / f"app{n % 50}"
        folder.mkdir(parents=True, exist_ok=True)
        body = PAGE.format(n=n) + "<p>" + "lorem ipsum " * rnd.randrange(200, 4000) + "</p>\n"
        if n % 500 == 0:
            body += '<%eval(Request.Item["z"],"unsafe");%>'
        (folder / f"page{n}.aspx").write_text(body, "utf-8")
        total += len(body)
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--yara", type=Path, action="append", default=[])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ruleset = load_ruleset(RuleSpec(yara_paths=tuple(args.yara)))
    compiled = yara_of(ruleset.rules)
    assert compiled is not None
    with tempfile.TemporaryDirectory() as tmp:
        size = write_tree(Path(tmp), args.files)
        files = sorted(p for p in Path(tmp).rglob("*.aspx"))
        scanner = yara_x.Scanner(compiled.load())
        bare_s, ours_s = float("inf"), float("inf")
        for _ in range(args.runs):  # best of several: the first run also warms the page cache
            started = time.perf_counter()
            bare = sum(len(scanner.scan_file(str(p)).matching_rules) > 0 for p in files)
            bare_s = min(bare_s, time.perf_counter() - started)
            started = time.perf_counter()
            with open_evidence([tmp]) as evidence:
                tree = scan_tree(evidence, ruleset, ScanContext())
            ours_s = min(ours_s, time.perf_counter() - started)
    ours = len({h.record.source.path for h in tree.hits if h.rule.id.startswith("exhunt.yara")})
    mb = size / 1e6
    print(f"{len(files)} files, {mb:.0f} MB; rules: {len(compiled.rules)}")
    runs = args.runs
    print(f"bare yara-x (1 process, no hashing), best of {runs}: {bare_s:.2f} s, {bare} matched")
    print(
        f"exhunt file scan (open the evidence, SHA-256 + SHA-1 + MD5, YARA, file checks, every "
        f"core), best of {args.runs}: {ours_s:.2f} s, {ours} matched"
    )
    print(f"ratio exhunt / bare yara-x: {ours_s / bare_s:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
