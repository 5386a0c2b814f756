"""The Sigma rule library the benchmark's agents search: every rule is complete, well
tagged, converts to KQL that runs on the benchmark telemetry, and is not noisy there."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sigma.collection import SigmaCollection
from sigma.rule import SigmaRule
from sigma.validation import SigmaValidator
from sigma.validators.core import validators

from pytest_ctirealm import sigma as sigma_package
from pytest_ctirealm.engines import EmbeddedEngine
from pytest_ctirealm.sigma import ConvertedRule, convert_rules
from pytest_ctirealm.telemetry.event_keys import EVENT_KEYS, event_family
from pytest_ctirealm.telemetry.simulator import Telemetry, generate

LIBRARY = Path(sigma_package.__file__).parent / "library"
GROUND_TRUTH = Path(__file__).resolve().parents[2] / "ground_truth"

MINIMUM_RULES = 80
MINIMUM_PER_PLATFORM = {"linux": 30, "kubernetes": 18, "azure": 16, "entra": 12, "m365": 4}

#: Per platform folder: the log sources its rules may use, as (product, category, service).
LOGSOURCES: dict[str, set[tuple[str, str | None, str | None]]] = {
    "linux": {("linux", "process_creation", None), ("linux", "file_event", None)},
    "kubernetes": {("kubernetes", None, "audit")},
    "azure": {
        ("azure", None, "activitylogs"),
        ("azure", None, "keyvault"),
        ("azure", None, "storagebloblogs"),
    },
    "entra": {
        ("azure", None, "signinlogs"),
        ("azure", None, "auditlogs"),
        ("azure", None, "serviceprincipalsigninlogs"),
        ("azure", None, "graphactivitylogs"),
    },
    "m365": {("m365", None, "audit")},
}

REQUIRED_KEYS = (
    "title",
    "id",
    "status",
    "description",
    "author",
    "date",
    "tags",
    "logsource",
    "detection",
    "falsepositives",
    "level",
)
TACTICS = {
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
}
TECHNIQUE_TAG = re.compile(r"^attack\.t\d{4}(\.\d{3})?$")
SLUG = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*\.yml$")
SENTENCE_END = re.compile(r"[.!?](\s|$)")

#: pySigma's own rule checks that need no download of ATT&CK or other reference data.
PYSIGMA_CHECKS = (
    "all_of_them_condition",
    "control_character",
    "dangling_condition",
    "dangling_detection",
    "double_wildcard",
    "duplicate_references",
    "duplicate_tag",
    "duplicate_title",
    "identifier_uniqueness",
    "invalid_modifier_combinations",
    "them_condition_with_single_detection",
    "wildcards_instead_of_modifiers",
)

#: A rule may match at most this many benign rows, or this share of its table.
NOISE_ROWS = 100
NOISE_SHARE = 0.02


@dataclass(frozen=True)
class LibraryRule:
    path: Path
    platform: str
    text: str
    doc: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.platform}/{self.path.stem}"


def _load_library() -> list[LibraryRule]:
    rules = []
    for path in sorted(LIBRARY.glob("*/*.yml")):
        text = path.read_text(encoding="utf-8")
        doc = yaml.safe_load(text)
        rules.append(
            LibraryRule(path, path.parent.name, text, doc if isinstance(doc, dict) else {})
        )
    return rules


RULES = _load_library()


def by_rule(test: Callable[[LibraryRule], None]) -> Callable[[LibraryRule], None]:
    """Parametrise *test* over every library rule, named platform/slug."""
    parametrize = pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
    return parametrize(test)


@pytest.fixture(scope="module")
def telemetry() -> Telemetry:
    return generate(seed=0, scale=0.5)


@pytest.fixture(scope="module")
def telemetry_engine(telemetry: Telemetry) -> Iterator[EmbeddedEngine]:
    with EmbeddedEngine.with_tables(telemetry.tables, now=telemetry.end) as engine:
        yield engine


@pytest.fixture(scope="module")
def attack_events(telemetry: Telemetry) -> dict[str, set[tuple[Any, ...]]]:
    """Per event family: the keys of the events some attack stage produced."""
    keys: dict[str, set[tuple[Any, ...]]] = {}
    for per_table in telemetry.stages.values():
        for table, events in per_table.items():
            keys.setdefault(event_family(table), set()).update(tuple(k) for k in events)
    return keys


def test_library_size_and_platforms() -> None:
    counts = Counter(rule.platform for rule in RULES)
    assert len(RULES) >= MINIMUM_RULES, f"{len(RULES)} rules, at least {MINIMUM_RULES} expected"
    for platform, minimum in MINIMUM_PER_PLATFORM.items():
        assert counts[platform] >= minimum, f"{platform}: {counts[platform]} < {minimum}"
    assert set(counts) <= set(MINIMUM_PER_PLATFORM), f"unknown platform folders: {set(counts)}"


def test_ids_and_titles_are_unique() -> None:
    ids = Counter(str(rule.doc.get("id")) for rule in RULES)
    titles = Counter(str(rule.doc.get("title")).lower() for rule in RULES)
    assert [i for i, n in ids.items() if n > 1] == []
    assert [t for t, n in titles.items() if n > 1] == []


def test_pysigma_validators_find_no_issue() -> None:
    """Unused selections, conditions naming missing selections, wildcards where a
    modifier belongs, duplicate tags and the like."""
    collection = SigmaCollection.load_ruleset([str(rule.path) for rule in RULES])
    checker = SigmaValidator([validators[name] for name in PYSIGMA_CHECKS])
    issues = checker.validate_rules(r for r in collection if isinstance(r, SigmaRule))
    assert [str(issue) for issue in issues] == []


def _ground_truth_rules() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(GROUND_TRUTH.glob("*/sigma.yml")):
        docs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return docs


def test_library_does_not_copy_ground_truth_rules() -> None:
    """The library must not hand agents the tasks' reference rules."""
    truth = _ground_truth_rules()
    truth_ids = {str(d.get("id")) for d in truth}
    truth_titles = {str(d.get("title")).lower() for d in truth}
    truth_detections = [d.get("detection") for d in truth]
    for rule in RULES:
        assert str(rule.doc.get("id")) not in truth_ids, rule.name
        assert str(rule.doc.get("title")).lower() not in truth_titles, rule.name
        assert rule.doc.get("detection") not in truth_detections, rule.name


@by_rule
def test_rule_is_complete(rule: LibraryRule) -> None:
    doc = rule.doc
    assert SLUG.match(rule.path.name), f"file name {rule.path.name!r} is not a slug"
    missing = [key for key in REQUIRED_KEYS if key not in doc]
    assert missing == [], f"missing keys: {missing}"
    assert uuid.UUID(str(doc["id"])).version == 4
    assert doc["status"] in ("test", "experimental")
    assert doc["level"] in ("informational", "low", "medium", "high", "critical")
    assert doc["author"] == "pytest-ctirealm"
    assert str(doc["date"]) == "2026-11-21"
    sentences = len(SENTENCE_END.findall(str(doc["description"]).strip()))
    assert 1 <= sentences <= 3, f"description has {sentences} sentences"
    references = doc.get("references", [])
    assert isinstance(references, list) and len(references) <= 2
    assert all(str(url).startswith("https://") for url in references)
    assert isinstance(doc["falsepositives"], list) and doc["falsepositives"]
    assert "condition" in doc["detection"]


@by_rule
def test_rule_tags_are_attack_tactics_and_techniques(rule: LibraryRule) -> None:
    tags = rule.doc["tags"]
    assert isinstance(tags, list) and len(tags) == len(set(tags))
    tactics = [t for t in tags if not TECHNIQUE_TAG.match(t)]
    techniques = [t for t in tags if TECHNIQUE_TAG.match(t)]
    assert techniques, "no technique tag"
    assert tactics, "no tactic tag"
    unknown = [t for t in tactics if not t.startswith("attack.") or t[7:] not in TACTICS]
    assert unknown == [], f"not ATT&CK tactic tags: {unknown}"


@by_rule
def test_rule_logsource_fits_its_platform(rule: LibraryRule) -> None:
    source = rule.doc["logsource"]
    key = (source.get("product"), source.get("category"), source.get("service"))
    assert key in LOGSOURCES[rule.platform], f"log source {key} in {rule.platform}/"


def _convert(rule: LibraryRule) -> ConvertedRule:
    converted = convert_rules(rule.text, rule.path)
    assert len(converted) == 1, f"{len(converted)} rules in one file"
    assert converted[0].rule_id == str(rule.doc["id"])
    return converted[0]


def test_rules_convert_and_run_without_noise(
    telemetry: Telemetry,
    telemetry_engine: EmbeddedEngine,
    attack_events: dict[str, set[tuple[Any, ...]]],
) -> None:
    """One test over all rules, so that a parallel run builds the telemetry only once.

    Prints, per rule, its table and how many benign and attack rows it matches."""
    problems: list[str] = []
    fired = 0
    for rule in RULES:
        try:
            converted = _convert(rule)
            records = telemetry_engine.query(converted.kql).records()
        except Exception as exc:  # conversion, assertion or engine error: report them all
            problems.append(f"{rule.name}: {type(exc).__name__}: {exc}")
            continue
        table = converted.table
        key_columns = EVENT_KEYS[table]
        attacks = attack_events.get(event_family(table), set())
        benign = sum(1 for r in records if tuple(r[c] for c in key_columns) not in attacks)
        fired += bool(records)
        print(f"{rule.name}: {table} benign={benign} attack={len(records) - benign}")
        limit = max(NOISE_ROWS, int(NOISE_SHARE * len(telemetry.tables[table])))
        if benign > limit:
            problems.append(f"{rule.name}: noisy, {benign} benign rows of {table} (limit {limit})")
    print(f"{fired} of {len(RULES)} rules match at least one row")
    assert problems == [], "\n".join(problems)
