"""Processing pipelines: ours for the Azure, Entra, Microsoft 365 and Kubernetes log
sources, and Microsoft XDR's for Linux with the one mapping it gets wrong fixed."""

from __future__ import annotations

from typing import Any

from sigma.exceptions import SigmaTransformationError
from sigma.pipelines.kusto_common.postprocessing import create_prepend_query_table_item
from sigma.pipelines.microsoftxdr.microsoftxdr import microsoft_xdr_pipeline
from sigma.processing.conditions import IncludeFieldCondition, LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldMappingTransformation
from sigma.processing.transformations.base import (
    DetectionItemTransformation,
    PreprocessingTransformation,
)
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import SigmaNumber, SigmaString

from pytest_ctirealm.sigma.fields import UnknownFieldError, resolve
from pytest_ctirealm.sigma.logsources import kubernetes_table, service_table, supported_logsources
from pytest_ctirealm.telemetry.schema import benchmark_tables


def _field_values(detection: SigmaDetection, name: str) -> list[str]:
    values: list[str] = []
    for item in detection.detection_items:
        if isinstance(item, SigmaDetection):
            values += _field_values(item, name)
        elif item.field is not None and item.field.lower() == name:
            values += [str(v.to_plain()) for v in item.value if hasattr(v, "to_plain")]
    return values


class SelectTable(PreprocessingTransformation):
    """Sets the rule's table from its (product, service)."""

    def apply(self, rule: Any) -> None:
        logsource = rule.logsource
        table = service_table(logsource.product, logsource.service)
        if table is None:
            raise SigmaTransformationError(
                f"log source (product: {logsource.product}, service: {logsource.service}, "
                f"category: {logsource.category}) is not one of the benchmark's; supported: "
                + "; ".join(supported_logsources())
            )
        if table == "AKSAudit":
            verbs = [
                v for d in rule.detection.detections.values() for v in _field_values(d, "verb")
            ]
            table = kubernetes_table(verbs)
        self._pipeline.state["query_table"] = table  # type: ignore[union-attr]
        self.processing_item_applied(rule)


class ResolveFields(DetectionItemTransformation):
    """Rewrites each detection item's field into KQL on the rule's table."""

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> None:
        if detection_item.field is None:  # a keyword, not bound to a field
            return
        schema = benchmark_tables()[self._pipeline.state["query_table"]]  # type: ignore[union-attr]
        numeric = bool(detection_item.value) and all(
            isinstance(v, SigmaNumber) for v in detection_item.value
        )
        try:
            resolved = resolve(schema, detection_item.field, numeric)
        except UnknownFieldError as exc:
            raise SigmaTransformationError(str(exc), source=detection_item.source) from None
        detection_item.field = resolved.expression
        values = []
        for value in detection_item.value:
            if isinstance(value, SigmaString) and resolved.values and not value.contains_special():
                value = SigmaString(resolved.values.get(value.to_plain().lower(), value.to_plain()))
            elif isinstance(value, SigmaNumber) and resolved.is_text:
                value = SigmaString(str(value.number))
            values.append(value)
        detection_item.value = values


def ctirealm_pipeline() -> ProcessingPipeline:
    """Azure activity, Entra sign-in and audit, Graph, storage, Key Vault, Office and
    Kubernetes audit rules onto our tables."""
    return ProcessingPipeline(
        name="pytest-ctirealm cloud and Kubernetes log sources",
        priority=20,
        items=[
            ProcessingItem(identifier="ctirealm_select_table", transformation=SelectTable()),
            ProcessingItem(identifier="ctirealm_resolve_fields", transformation=ResolveFields()),
        ],
        postprocessing_items=[create_prepend_query_table_item()],  # type: ignore[no-untyped-call]
    )


def linux_pipeline() -> ProcessingPipeline:
    """Microsoft XDR's pipeline for Linux process and file rules, with `User` on
    file_event mapped to the writing process's account: XDR maps it to
    RequestAccountName, the remote SMB account, which Linux never fills."""
    fix = ProcessingPipeline(
        name="pytest-ctirealm Linux fixes",
        priority=5,
        items=[
            ProcessingItem(
                identifier="ctirealm_linux_file_user",
                transformation=FieldMappingTransformation({"User": "InitiatingProcessAccountName"}),
                rule_conditions=[LogsourceCondition(category="file_event")],
                field_name_conditions=[IncludeFieldCondition(["User"])],
            )
        ],
    )
    return fix + microsoft_xdr_pipeline()


def is_linux_rule(rule: SigmaRule) -> bool:
    return (rule.logsource.product or "").lower() == "linux"
