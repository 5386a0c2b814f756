"""Sigma rules to KQL on the benchmark's tables, one query per rule, with errors that
name the rule file, the rule and the reason."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from pytest_ctirealm.sigma.backend import CtirealmKustoBackend
from pytest_ctirealm.sigma.pipeline import ctirealm_pipeline, is_linux_rule, linux_pipeline


class SigmaConversionError(ValueError):
    """A rule that cannot be parsed or converted."""

    def __init__(self, source: str, rule: str | None, reason: str) -> None:
        self.source = source
        self.rule = rule
        self.reason = reason
        where = f"{source}: rule '{rule}'" if rule else source
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class ConvertedRule:
    title: str
    rule_id: str | None
    table: str
    kql: str


def convert_rule(rule: SigmaRule, source: str = "<rule>") -> ConvertedRule:
    """One rule as one KQL query (a fresh pipeline per rule: tables are per rule)."""
    pipeline = linux_pipeline() if is_linux_rule(rule) else ctirealm_pipeline()
    backend = CtirealmKustoBackend(processing_pipeline=pipeline)  # type: ignore[arg-type]
    try:
        queries = backend.convert_rule(rule)
    except SigmaError as exc:
        raise SigmaConversionError(source, rule.title, str(exc).split("\n")[0]) from None
    if len(queries) != 1:
        raise SigmaConversionError(source, rule.title, f"converted to {len(queries)} queries")
    kql = str(queries[0])
    return ConvertedRule(
        rule.title, str(rule.id) if rule.id else None, kql.split("\n", 1)[0].strip(), kql
    )


def convert_rules(text: str, source: str | Path = "<rules>") -> list[ConvertedRule]:
    """Every rule in *text* (one or more YAML documents) converted."""
    name = str(source)
    try:
        collection = SigmaCollection.from_yaml(text)
    except SigmaError as exc:
        raise SigmaConversionError(name, None, f"not a valid Sigma rule ({exc})") from None
    except Exception as exc:  # YAML and type errors from pySigma's parser
        raise SigmaConversionError(name, None, f"not valid Sigma YAML ({exc})") from None
    rules = [r for r in collection.rules if isinstance(r, SigmaRule)]
    if not rules:
        raise SigmaConversionError(name, None, "holds no Sigma rule")
    return [convert_rule(rule, name) for rule in rules]
