"""Sigma rules on the benchmark's tables: table and field mapping, conversion to KQL."""

from pytest_ctirealm.sigma.convert import (
    ConvertedRule,
    SigmaConversionError,
    convert_rule,
    convert_rules,
)

__all__ = ["ConvertedRule", "SigmaConversionError", "convert_rule", "convert_rules"]
