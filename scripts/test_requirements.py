"""Tests of scripts/requirements.py and scripts/oq_report.py (make test runs them):
a requirement is proved only by its own tests, all run and passed, and the check catches a
requirement and its tests that do not name each other."""

import pathlib
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import oq_report  # noqa: E402
import requirements  # noqa: E402

ROW = {"id": "SIG-08", "text": "roles", "clause": "11.50", "tests": ["shows_role", "prints_role"]}


def case(name, outcome, suite="countersign-server::it"):
    return {"suite": suite, "name": name, "time": "0.1", "outcome": outcome}


class Verdicts(unittest.TestCase):
    def verdict(self, cases):
        return oq_report.verdicts([ROW], cases)[0]["verdict"]

    def test_a_requirement_is_proved_when_every_test_it_names_ran_and_passed(self):
        cases = [case("manifestations::shows_role", "passed"), case("record::prints_role", "passed")]
        self.assertEqual(self.verdict(cases), "proved")

    def test_a_failed_skipped_or_missing_test_leaves_it_unproved(self):
        passed = case("manifestations::shows_role", "passed")
        self.assertEqual(self.verdict([passed, case("prints_role", "failed")]), "NOT PROVED")
        self.assertEqual(self.verdict([passed, case("prints_role", "skipped")]), "NOT PROVED")
        self.assertEqual(self.verdict([passed]), "NOT PROVED")

    def test_a_test_of_one_name_failing_in_any_suite_fails(self):
        cases = [
            case("shows_role", "passed", "countersign-domain"),
            case("shows_role", "failed", "countersign-server::it"),
            case("prints_role", "passed"),
        ]
        self.assertEqual(self.verdict(cases), "NOT PROVED")

    def test_junit_from_nextest_and_playwright_is_read(self):
        junit = textwrap.dedent(
            """\
            <?xml version="1.0" encoding="UTF-8"?>
            <testsuites>
              <testsuite name="countersign-server::it">
                <testcase name="manifestations::shows_role" classname="countersign-server::it" time="0.1"/>
                <testcase name="manifestations::prints_role" time="0.2"><failure message="x"/></testcase>
              </testsuite>
              <testsuite name="accessibility.spec.ts">
                <testcase name="keyboard focus" time="0"><skipped/></testcase>
              </testsuite>
            </testsuites>
            """
        )
        with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
            f.write(junit)
        outcomes = [(c["name"], c["outcome"]) for c in oq_report.results([f.name])]
        self.assertEqual(
            outcomes,
            [
                ("manifestations::shows_role", "passed"),
                ("manifestations::prints_role", "failed"),
                ("keyboard focus", "skipped"),
            ],
        )


class NamingEachOther(unittest.TestCase):
    def found(self, source):
        with tempfile.TemporaryDirectory() as root:
            path = pathlib.Path(root, "app", "tests.rs")
            path.parent.mkdir()
            path.write_text(textwrap.dedent(source))
            return requirements.tests_and_markers(("app",), pathlib.Path(root))

    def test_tests_naming_their_requirement_back_pass(self):
        found = self.found(
            """\
            // Proves: SIG-08.
            #[tokio::test]
            async fn shows_role() {}

            /// Prints it.
            // Proves: SIG-08, AT-08.
            #[test]
            fn prints_role() {}
            """
        )
        rows = [ROW, {"id": "AT-08", "text": "", "clause": "", "tests": ["prints_role"]}]
        self.assertEqual(requirements.problems(rows, found), [])

    def test_each_way_they_fail_to_name_each_other_is_said(self):
        found = self.found(
            """\
            #[test]
            fn shows_role() {}

            // Proves: SIG-08, AT-09.
            #[test]
            fn prints_role() {}

            // Proves: SIG-08.
            fn unlisted() {}
            """
        )
        said = requirements.problems([ROW, {"id": "WF-09", "text": "", "clause": "", "tests": []}], found)
        self.assertEqual(len(said), 4, said)
        self.assertIn("does not say `// Proves: SIG-08` above it", said[0])
        self.assertIn("WF-09 names no test", said[1])
        self.assertIn("proves AT-09, which is no requirement", said[2])
        self.assertIn("unlisted", said[3])

    def test_the_real_requirements_and_tests_name_each_other(self):
        rows = requirements.requirements()
        self.assertGreaterEqual(len(rows), 30)
        self.assertEqual(requirements.problems(rows, requirements.tests_and_markers()), [])


if __name__ == "__main__":
    unittest.main()
