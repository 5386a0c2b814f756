"""Kubernetes campaigns on Contoso's AKS cluster as its API server audits them (AKSAudit and
AKSAuditAdmin): one module per campaign, holding the attack and its benign look-alikes.
Importing this package registers them all."""

from pytest_ctirealm.telemetry.scenarios.aks import (
    anonymous_scan,
    certificate_backdoor,
    poisoned_pipeline,
    stolen_kubeconfig,
    web_pod_takeover,
)

__all__ = [
    "anonymous_scan",
    "certificate_backdoor",
    "poisoned_pipeline",
    "stolen_kubeconfig",
    "web_pod_takeover",
]
