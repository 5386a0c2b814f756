"""Searching the rule library the way the agent's `search_sigma_rules` tool does."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_ctirealm.sigma.library import load_library, search


def test_keyword_search_finds_rules_and_ranks_title_matches_first() -> None:
    found = search(keyword="crontab")
    assert found
    assert all("crontab" in rule.text.lower() for rule in found)
    in_title = ["crontab" in rule.title.lower() for rule in found]
    assert in_title == sorted(in_title, reverse=True)  # title matches come first


def test_technique_search_includes_sub_techniques() -> None:
    parent = search(technique_id="T1552", limit=100)
    assert parent
    assert any(any(t.startswith("T1552.") for t in r.techniques) for r in parent)
    exact = search(technique_id="T1552.007", limit=100)
    assert exact and all("T1552.007" in r.techniques for r in exact)


@pytest.mark.parametrize(
    ("platform", "products"),
    [("linux", {"linux"}), ("aks", {"kubernetes"}), ("cloud", {"azure", "m365"})],
)
def test_platform_filter(platform: str, products: set[str]) -> None:
    found = search(platform=platform, limit=1000)
    assert found and {r.product for r in found} <= products


def test_criteria_combine_and_limit_applies() -> None:
    found = search(keyword="secret", platform="kubernetes", limit=3)
    assert 0 < len(found) <= 3
    assert all(r.product == "kubernetes" and "secret" in r.text.lower() for r in found)
    assert search(keyword="no-such-word-anywhere-xyz") == []


def test_unknown_platform_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown platform 'windows'"):
        search(platform="windows")


def test_a_users_own_folder_can_replace_the_library(tmp_path: Path) -> None:
    (tmp_path / "mine.yml").write_text(
        "title: My Curl Rule\nlogsource: {product: linux, category: process_creation}\n"
        "tags: [attack.t1105]\ndetection:\n  sel:\n    Image|endswith: /curl\n  condition: sel\n"
    )
    (tmp_path / "notes.yml").write_text("just: some config\n")
    (tmp_path / "broken.yml").write_text("title: [oops\n")
    assert [r.title for r in load_library(tmp_path)] == ["My Curl Rule"]
    assert [r.summary()["title"] for r in search(technique_id="t1105", directory=tmp_path)] == [
        "My Curl Rule"
    ]
