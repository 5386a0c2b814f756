"""The pytest plugin: registered through its entry point, silent unless used."""

from __future__ import annotations

import pytest


def test_plugin_is_registered_through_its_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("--co", "-q")
    result.stdout.fnmatch_lines(["*1 test collected*"])
    config = pytester.parseconfig()
    assert config.pluginmanager.hasplugin("ctirealm")


def test_a_project_that_does_not_use_it_sees_no_change(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_one():
            assert 1 + 1 == 2

        def test_two():
            assert "a" in "abc"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert "kql" not in result.stdout.str().lower()


def test_kql_engine_fixture_runs_detections_in_user_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_detection(kql_engine):
            engine = kql_engine({"DeviceProcessEvents": [
                {"FileName": "curl", "ProcessCommandLine": "curl -o /tmp/x http://h/x"},
                {"FileName": "curl", "ProcessCommandLine": "curl https://h/health"},
            ]})
            hits = engine.query(
                "DeviceProcessEvents | where FileName == 'curl' and ProcessCommandLine has '/tmp/'"
            )
            assert len(hits.rows) == 1
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
