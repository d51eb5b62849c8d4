#!/usr/bin/env python3
"""The requirements of docs/requirements.md and the tests that prove them.

Each requirement row names the tests that prove it, and each of those tests names the
requirement back in a comment line just above it (among its attributes and doc comment):

    // Proves: SIG-08, AT-02.
    #[tokio::test]
    async fn a_signature_shows_its_role_and_whether_it_still_binds_in_every_export() {

`check` fails (exit 1) when a requirement names no test, a test it names does not exist or
does not name it back, or a test names a requirement that does not list it. The OQ report
(scripts/oq_report.py) reads the same rows and markers.
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "docs" / "requirements.md"
SOURCES = ("app", "server")
ROW = re.compile(r"^\| ([A-Z]+-\d+) \|(.*)\|$")
MARKER = re.compile(r"^\s*//+\s*Proves:\s*((?:[A-Z]+-\d+)(?:\s*,\s*[A-Z]+-\d+)*)\.?\s*$")
TEST_FN = re.compile(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?(?:async\s+)?fn\s+([a-z0-9_]+)\s*\(")
ABOVE_A_FN = re.compile(r"^\s*(#\[|//|\)\]|$)")


def requirements(path=REQUIREMENTS):
    """Each row: id, requirement, clause and the tests it names, in the document's order."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if not match:
            continue
        cells = [cell.strip() for cell in match.group(2).split("|")]
        text, clause, proved_by = cells[0], cells[-2], cells[-1]
        rows.append(
            {
                "id": match.group(1),
                "text": text,
                "clause": clause,
                "tests": re.findall(r"`([a-z0-9_]+)`", proved_by),
            }
        )
    return rows


def tests_and_markers(roots=SOURCES, base=ROOT):
    """Every `fn` in the Rust sources, with the requirement ids named just above it."""
    found = {}
    for root in roots:
        for source in sorted((base / root).rglob("*.rs")):
            if "target" in source.parts or "node_modules" in source.parts:
                continue
            lines = source.read_text(encoding="utf-8").splitlines()
            for number, line in enumerate(lines):
                match = TEST_FN.match(line)
                if not match:
                    continue
                ids = set()
                above = number - 1
                while above >= 0 and ABOVE_A_FN.match(lines[above]) and lines[above].strip():
                    marker = MARKER.match(lines[above])
                    if marker:
                        ids.update(i.strip() for i in marker.group(1).split(","))
                    above -= 1
                entry = found.setdefault(match.group(1), {"ids": set(), "at": []})
                entry["ids"] |= ids
                entry["at"].append(f"{source.relative_to(base)}:{number + 1}")
    return found


def problems(rows, found):
    """What keeps the requirements and the tests from naming each other, a line each."""
    said = []
    if not rows:
        said.append(f"no requirement rows found in {REQUIREMENTS.relative_to(ROOT)}")
    listed = {}
    for row in rows:
        if not row["tests"]:
            said.append(f"{row['id']} names no test that proves it")
        for test in row["tests"]:
            listed.setdefault(test, set()).add(row["id"])
            if test not in found:
                said.append(f"{row['id']} names {test}, which is not a test in the tree")
            elif row["id"] not in found[test]["ids"]:
                said.append(
                    f"{row['id']} names {test} ({found[test]['at'][0]}), which does not say "
                    f"`// Proves: {row['id']}` above it"
                )
    known = {row["id"] for row in rows}
    for test, entry in sorted(found.items()):
        for requirement in sorted(entry["ids"]):
            if requirement not in known:
                said.append(f"{test} ({entry['at'][0]}) proves {requirement}, which is no requirement")
            elif requirement not in listed.get(test, set()):
                said.append(
                    f"{test} ({entry['at'][0]}) proves {requirement}, whose row does not name it"
                )
    return said


def main(argv):
    if argv[1:] != ["check"]:
        print("usage: scripts/requirements.py check", file=sys.stderr)
        return 2
    rows = requirements()
    said = problems(rows, tests_and_markers())
    for line in said:
        print(f"requirements: {line}")
    if said:
        return 1
    print(f"requirements: each of {len(rows)} requirements names tests that name it back")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
