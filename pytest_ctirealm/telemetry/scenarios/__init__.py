"""Attack scenarios: each emits the events one attack leaves, grouped into named stages.

Tasks claim stages as their positives (`scenario.stage`); stages no task claims are the
attack's other traces, which a precise detection must not confuse with its target.
Importing this package registers every scenario.
"""

from pytest_ctirealm.telemetry.scenarios import aks, cloud, linux
from pytest_ctirealm.telemetry.scenarios.base import (
    LOOKALIKES,
    SCENARIOS,
    LookalikeSet,
    Scenario,
    Stages,
)

__all__ = ["LOOKALIKES", "SCENARIOS", "LookalikeSet", "Scenario", "Stages", "aks", "cloud", "linux"]
