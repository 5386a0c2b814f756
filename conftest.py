"""Project-wide test configuration: pytester for plugin tests, Hypothesis profiles."""

import os

from hypothesis import HealthCheck, settings

pytest_plugins = ["pytester"]

# CI gets more examples and no per-example deadline (a shared 2-core machine is slow
# at times); locally the default profile keeps the suite quick.
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
