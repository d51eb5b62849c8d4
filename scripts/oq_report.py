#!/usr/bin/env python3
"""The operational-qualification report `make oq` writes (21 CFR 11.10(a); EU GMP Annex 11
§4; GAMP 5): what was tested (version, commit, Cargo.lock, toolchain, date), every test's
result from the suites' JUnit XML files, each requirement of docs/requirements.md with the
tests that prove it and its verdict (the traceability matrix), and the end-to-end
screenshots as evidence.

    scripts/oq_report.py OUT JUNIT...

Writes OUT/index.html, OUT/traceability.csv and OUT/requirements-junit.xml (one test case
per requirement). Exits 1 when a test failed or a requirement is not proved: one of its
tests failed or did not run.
"""

import csv
import datetime
import hashlib
import html
import pathlib
import platform
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import requirements  # noqa: E402

ROOT = requirements.ROOT


ATTACHMENT = re.compile(r"\[\[ATTACHMENT\|([^\]]+)\]\]")


def results(junit_files):
    """Every test case in the JUnit files: suite, name, outcome (passed, failed, skipped),
    and the images attached to it (Playwright's screenshots), as paths."""
    cases = []
    for path in junit_files:
        here = pathlib.Path(path).resolve().parent
        for suite in ET.parse(path).getroot().iter("testsuite"):
            project = suite.get("hostname")
            for case in suite.iter("testcase"):
                said = "".join(out.text or "" for out in case.iter("system-out"))
                images = [here / found for found in ATTACHMENT.findall(said) if found.endswith(".png")]
                if case.find("failure") is not None or case.find("error") is not None:
                    outcome = "failed"
                elif case.find("skipped") is not None:
                    outcome = "skipped"
                else:
                    outcome = "passed"
                suite_name = suite.get("name", "")
                cases.append(
                    {
                        "suite": f"{suite_name} ({project})" if project else suite_name,
                        "name": case.get("name", ""),
                        "time": case.get("time", ""),
                        "outcome": outcome,
                        "images": images,
                    }
                )
    return cases


def function_name(case_name):
    """The Rust function a test case runs: the last `::` segment of its name."""
    return case_name.rsplit("::", 1)[-1]


def verdicts(rows, cases):
    """Each requirement with its tests' outcomes and its verdict: proved when every test it
    names ran and passed (a test of one name in several suites ran in each)."""
    by_function = {}
    for case in cases:
        by_function.setdefault(function_name(case["name"]), []).append(case)
    judged = []
    for row in rows:
        tests = []
        for test in row["tests"]:
            ran = by_function.get(test, [])
            outcomes = {case["outcome"] for case in ran}
            if not ran or outcomes == {"skipped"}:
                outcome = "not run"
            elif "failed" in outcomes:
                outcome = "failed"
            else:
                outcome = "passed"
            tests.append({"name": test, "outcome": outcome, "suites": sorted({c["suite"] for c in ran})})
        proved = bool(tests) and all(t["outcome"] == "passed" for t in tests)
        judged.append({**row, "results": tests, "verdict": "proved" if proved else "NOT PROVED"})
    return judged


def facts():
    """What was qualified: version, commit, Cargo.lock digest, toolchain, machine, date."""

    def said(*command):
        try:
            return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "unknown"

    version = "unknown"
    for line in (ROOT / "Cargo.toml").read_text(encoding="utf-8").splitlines():
        if line.startswith("version = "):
            version = line.split('"')[1]
            break
    dirty = said("git", "status", "--porcelain")
    return [
        ("Software", "Countersign"),
        ("Version", version),
        ("Commit", said("git", "rev-parse", "HEAD") + (" (with uncommitted changes)" if dirty else "")),
        ("Cargo.lock SHA-256", hashlib.sha256((ROOT / "Cargo.lock").read_bytes()).hexdigest()),
        ("Toolchain", f"{said('rustc', '--version')}; {said('cargo', '--version')}"),
        ("Test runner", said("cargo", "nextest", "--version").splitlines()[0]),
        ("Build", "Rust suites: the release profile without its whole-program link (Cargo profile qualify); end-to-end: the release binary (fat LTO) and the size-optimised site"),
        ("Machine", f"{platform.system()} {platform.release()} {platform.machine()}, {platform.node()}"),
        ("Date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")),
    ]


def evidence(cases, out):
    """The screenshots attached to the tests, copied under OUT/evidence, each with its test."""
    shots = []
    target = out / "evidence"
    for case in cases:
        for image in case.get("images", []):
            if not image.is_file():
                continue
            target.mkdir(exist_ok=True)
            name = f"{len(shots):03d}.png"
            shutil.copy(image, target / name)
            shots.append({"file": f"evidence/{name}", "test": f"{case['suite']}: {case['name']}"})
    return shots


def code(text):
    """Markdown's `code` spans as HTML."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def write_html(out, about, cases, judged, shots):
    e = html.escape
    failed = [c for c in cases if c["outcome"] == "failed"]
    counts = {o: sum(1 for c in cases if c["outcome"] == o) for o in ("passed", "failed", "skipped")}
    proved = sum(1 for r in judged if r["verdict"] == "proved")
    overall = "PASSED" if not failed and proved == len(judged) and cases else "FAILED"
    rows = []
    for r in judged:
        tests = "<br>".join(
            f"<code>{e(t['name'])}</code> <span class=\"{e(t['outcome'].replace(' ', '-'))}\">{e(t['outcome'])}</span>"
            for t in r["results"]
        )
        rows.append(
            f"<tr><th scope=\"row\">{e(r['id'])}</th><td>{code(e(r['text']))}</td><td>{e(r['clause'])}</td>"
            f"<td>{tests}</td><td class=\"{'passed' if r['verdict'] == 'proved' else 'failed'}\">{e(r['verdict'])}</td></tr>"
        )
    tests = "\n".join(
        f"<tr><td>{e(c['suite'])}</td><td><code>{e(c['name'])}</code></td><td class=\"{c['outcome']}\">{c['outcome']}</td><td>{e(c['time'])}</td></tr>"
        for c in cases
    )
    figures = "\n".join(
        f"<figure><img src=\"{e(s['file'])}\" alt=\"Screenshot: {e(s['test'])}\" loading=\"lazy\"><figcaption>{e(s['test'])}</figcaption></figure>"
        for s in shots
    ) or "<p>No screenshots were taken.</p>"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Countersign operational qualification</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #111; }}
table {{ border-collapse: collapse; margin: 1rem 0; width: 100%; }}
th, td {{ border: 1px solid #999; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }}
.passed {{ color: #0a5c2a; font-weight: 600; }} .failed, .not-run {{ color: #a00; font-weight: 700; }}
.skipped {{ color: #555; }} figure {{ display: inline-block; margin: 0.5rem; max-width: 420px; }}
img {{ max-width: 100%; border: 1px solid #999; }} code {{ overflow-wrap: anywhere; }}
</style></head><body><main>
<h1>Countersign: operational qualification report</h1>
<p>Result: <strong class="{'passed' if overall == 'PASSED' else 'failed'}">{overall}</strong>:
{proved} of {len(judged)} requirements proved; {counts['passed']} tests passed, {counts['failed']} failed, {counts['skipped']} skipped.</p>
<h2>What was qualified</h2>
<table><tbody>{''.join(f'<tr><th scope="row">{e(k)}</th><td>{e(v)}</td></tr>' for k, v in about)}</tbody></table>
<h2>Traceability matrix</h2>
<p>Each requirement of <code>docs/requirements.md</code>, the tests that prove it and their results. A requirement is proved when every one of its tests ran and passed.</p>
<table><thead><tr><th>id</th><th>requirement</th><th>clause</th><th>tests</th><th>verdict</th></tr></thead><tbody>
{''.join(rows)}
</tbody></table>
<h2>Evidence: end-to-end screenshots</h2>
{figures}
<h2>Every test</h2>
<table><thead><tr><th>suite</th><th>test</th><th>result</th><th>seconds</th></tr></thead><tbody>
{tests}
</tbody></table>
</main></body></html>
"""
    (out / "index.html").write_text(page, encoding="utf-8")
    return overall


def write_traceability(out, judged):
    with (out / "traceability.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["requirement", "clause", "test", "suites", "result", "verdict"])
        for r in judged:
            for t in r["results"]:
                writer.writerow([r["id"], r["clause"], t["name"], " ".join(t["suites"]), t["outcome"], r["verdict"]])


def write_requirements_junit(out, judged):
    failures = sum(1 for r in judged if r["verdict"] != "proved")
    suite = ET.Element("testsuite", name="requirements", tests=str(len(judged)), failures=str(failures))
    for r in judged:
        case = ET.SubElement(suite, "testcase", classname="requirements", name=f"{r['id']}: {r['text']}")
        unproved = [f"{t['name']}: {t['outcome']}" for t in r["results"] if t["outcome"] != "passed"]
        if r["verdict"] != "proved":
            failure = ET.SubElement(case, "failure", message="not proved")
            failure.text = "\n".join(unproved) or "names no test"
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(out / "requirements-junit.xml", encoding="utf-8", xml_declaration=True)


def main(argv):
    args = argv[1:]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out, junit_files = pathlib.Path(args[0]), [pathlib.Path(a) for a in args[1:]]
    out.mkdir(parents=True, exist_ok=True)
    missing = [str(p) for p in junit_files if not p.is_file()]
    if missing:
        print(f"oq: no test results at {', '.join(missing)}", file=sys.stderr)
    cases = results([p for p in junit_files if p.is_file()])
    rows = requirements.requirements()
    judged = verdicts(rows, cases)
    overall = write_html(out, facts(), cases, judged, evidence(cases, out))
    write_traceability(out, judged)
    write_requirements_junit(out, judged)
    proved = sum(1 for r in judged if r["verdict"] == "proved")
    print(f"oq: {overall}: {proved} of {len(judged)} requirements proved, {len(cases)} tests; report at {out / 'index.html'}")
    for r in judged:
        if r["verdict"] != "proved":
            print(f"oq: {r['id']} NOT PROVED: " + ", ".join(f"{t['name']} {t['outcome']}" for t in r["results"] if t["outcome"] != "passed"))
    return 0 if overall == "PASSED" and not missing else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
