"""A credential added to a privileged application, which then signs in with it from the
intruder's server and grants a privileged Azure role (T1098.001, T1078.004, T1098.003).

An application administrator's stolen session (replayed on the intruder's machine, no
registered device) adds a credential to an application whose service principal may
assign Azure roles, requests a token as that application with the new credential, and
uses it to give an account of the intruder's lasting access to the subscription.

Per instance: whose session (an administrator who may manage application credentials),
the client replayed (the Entra admin center in the portal, Azure CLI, Microsoft Graph
PowerShell) and its user agent, the attacker's server (`hosted`), when, the application
(the deployment pipeline, which owns the production subscription, or the backup
application, which administers access to the data resource group), where the credential
goes (the application registration or its service principal) and what it is (a client
secret or a certificate), the credential's display name (imitations of the names the
platform team's rotations use), its key id (and thumbprint), whether an outside account is
invited as a guest or an existing member account of the intruder's receives the role, the
role (Owner, Contributor, User Access Administrator) and its scope (the subscription or a
resource group), and how many tokens the application requests.

Look-alikes: the platform team rotates application secrets and certificates in the admin
center, tests a new secret from its own network now and then, and removes the old ones;
the pipeline rotates the secrets of the applications it owns (app-only) from hosted
runners; the applications then sign in with their new credentials from their usual
egress; the pipeline signs in from hosted runners (a new address every run) and deploys,
granting workload identities data roles; owners invite partners as guests and grant
people, guests and workload identities roles, Owner included.

Correlation follows one rule for attack and look-alikes: a Graph write's ClientRequestId is
the CorrelationId of the directory audit it causes; Graph and ARM requests made with a
token a sign-in issued carry that sign-in's UniqueTokenIdentifier (SignInActivityId, the
`uti` claim).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import azure_activity as arm
from pytest_ctirealm.telemetry.benign import entra, graph
from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext, guid
from pytest_ctirealm.telemetry.scenarios.base import Stages, incident_start, lookalikes, scenario
from pytest_ctirealm.telemetry.scenarios.cloud.common import (
    PROD,
    Attack,
    Family,
    Login,
    Row,
    arm_operation,
    audit,
    graph_call,
    hosted,
    person_profile,
    sign_in,
    token_of,
    unregistered,
    user_arm_caller,
    user_by,
    user_caller,
)

CAMPAIGN = "app_credential_abuse"

#: Administrators who may manage application credentials.
ADMINS = ("raj.patel", "dmitri.ivanov", "alice.smith")
#: Applications whose service principal may assign Azure roles: (its role, where it may
#: assign roles, the subscription weighted as intruders favour it).
PRIVILEGED_APPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ci-deployer": (
        "Owner",
        (
            f"/subscriptions/{PROD}",
            f"/subscriptions/{PROD}",
            f"/subscriptions/{PROD}",
            f"/subscriptions/{PROD}/resourceGroups/rg-prod-web",
            f"/subscriptions/{PROD}/resourceGroups/rg-prod-data",
            f"/subscriptions/{PROD}/resourceGroups/rg-aks-prod",
        ),
    ),
    "backup-runner": (
        "User Access Administrator",
        (f"/subscriptions/{PROD}/resourceGroups/rg-prod-data",),
    ),
}
#: The roles an intruder grants itself.
PRIVILEGED_ROLES = ("Owner", "Contributor", "User Access Administrator")
#: Where the credential goes and what it is.
VARIANTS = (
    "application-password",
    "application-certificate",
    "serviceprincipal-password",
    "serviceprincipal-certificate",
)
_APP_OPERATION = "Update application \u2013 Certificates and secrets management "
_SP_OPERATION = "Add service principal credentials"
#: Which clients reach each kind of target (the admin center has no service principal
#: credentials blade).
_CLIENTS = {
    "application": ("portal", "cli"),
    "serviceprincipal": ("graph-powershell", "cli"),
}
_CLIENT_APPS = {
    "portal": entra.PORTAL,
    "cli": entra.CLI,
    "graph-powershell": entra.GRAPH_CLI,
}
#: The intruder's own tooling (no build Contoso's staff or pipelines use).
_AGENTS = {
    "portal": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.5 Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/125.0.0.0 Safari/537.36",
    ),
    "cli": (
        "python/3.10.12 (Linux-5.15.0-107-generic-x86_64-with-glibc2.35) AZURECLI/2.60.0 (DEB)",
        "python/3.11.9 (Windows-10-10.0.22631-SP0) AZURECLI/2.62.0 (MSI)",
        "python/3.12.4 (macOS-14.5-arm64-arm-64bit) AZURECLI/2.61.0 (HOMEBREW)",
    ),
    "graph-powershell": (
        "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.19045; en-US) PowerShell/7.4.2",
        "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.22621; en-US) PowerShell/5.1.22621",
        "Mozilla/5.0 (Linux; Debian GNU/Linux 12; en-US) PowerShell/7.4.3",
    ),
}
#: The MSAL build an application's token request reports: the CLI's (as the pipeline's
#: runners) or the .NET one the workloads use.
_LIBRARIES = (
    "Family: MSAL Library: MSAL.Python 1.28.0 Platform: Python",
    "Family: MSAL Library: MSAL.NetCore 4.61.3.0 Platform: .NET 8",
)
PIPELINE_LIBRARY = _LIBRARIES[0]
#: Credential display names: how rotations are labelled here, and what intruders imitate.
_LABEL_STEMS = ("pipeline", "deploy", "rotation", "automation", "ci", "backup", "sync", "svc")
_LABEL_SEPARATORS = ("-", "_", " ")
_LABEL_TAILS = ("2026-03", "2026-04", "2026q1", "q2", "hotfix", "temp", "renewal", "new", "02")
_CERT_SUBJECTS = ("contoso-automation", "deploy", "pipeline", "backup", "sync", "runner")
_CERT_TAILS = ("", "-2026", "-renewal", "-new", "-prod")
#: Outside accounts an intruder invites: local part pieces and free mail domains.
_GUEST_FIRST = ("d", "m", "a", "j", "k", "s", "t", "n", "r")
_GUEST_LAST = ("kovacs", "novak", "horvat", "petrov", "lindqvist", "moreau", "kowalski", "rossi")
_GUEST_TAILS = (".it", ".admin", ".ops", "", "01", ".cloud", "-support")
_GUEST_DOMAINS = ("@outlook.com", "@gmail.com", "@proton.me", "@hotmail.com", "@gmx.net")
#: When the intrusion starts: an evening, a night or a working day (UTC hours).
_WINDOWS = ((17, 23), (0, 5), (9, 16))


@dataclass(frozen=True)
class Credential:
    """A credential added to an application or a service principal."""

    key_id: str
    kind: str  # "Password" or "AsymmetricX509Cert"
    label: str
    thumbprint: str = ""

    @property
    def description(self) -> str:
        return entra._key_description(self.key_id, self.kind, self.label)


# -- shared between the intrusion and its look-alikes ---------------------------------------


def existing_credentials(ctx: SimContext, app: str, moment: dt.datetime) -> list[str]:
    """The KeyDescription entries an application registration holds at *moment*."""
    if entra.CREDENTIAL_KINDS.get(app) == "certificate":
        key = env.stable_guid("credential", app, "certificate")
        return [entra._key_description(key, "AsymmetricX509Cert", f"CN={app}")]
    old = [entra._key_description(entra._initial_key(app), "Password", f"{app}-2025-09")]
    if app == "ci-deployer":
        old = [entra._key_description(entra._initial_key(app), "Password", "pipeline-2025-09")]
        rotated = entra._one_off_time(ctx, "rotate_app_secret")
        if rotated is not None and rotated < moment:
            key = entra._rotated_key(ctx, "rotate_app_secret")
            old.append(entra._key_description(key, "Password", "pipeline-2026-03"))
    return old


def credential_paths(target: str, app: env.App, certificate: bool) -> tuple[str, str, str]:
    """(object path, write method, write path) of a credential change on *target*
    ("application" or "serviceprincipal")."""
    if target == "application":
        base = f"/v1.0/applications/{entra._application_object_id(app.name)}"
    else:
        base = f"/v1.0/servicePrincipals/{app.object_id}"
    if certificate:
        return base, "PATCH", base
    return base, "POST", f"{base}/addPassword"


def credential_change(
    a: Attack,
    stage: str,
    caller: graph.Caller,
    initiator: tuple[dict[str, Any], str],
    app: env.App,
    target: str,
    before: list[str],
    after: list[str],
    agent: str,
    *,
    certificate: bool,
    lookup: bool = True,
    removal: bool = False,
) -> Row:
    """The Graph requests of a credential change and the directory audit they cause (its
    CorrelationId is the write's ClientRequestId). Returns the write request."""
    base, method, path = credential_paths(target, app, certificate)
    if removal and not certificate:
        path = f"{base}/removePassword"
    if lookup:
        a.add(stage, "MicrosoftGraphActivityLogs", graph_call(a, caller, "GET", base))
        a.wait(8, 60)
    status = (200, a.rng.randint(600, 900)) if method == "POST" and not removal else (204, 0)
    write = graph_call(a, caller, method, path, status)
    a.add(stage, "MicrosoftGraphActivityLogs", write)
    change = [entra._change("KeyDescription", json.dumps(before), json.dumps(after))]
    if target == "application":
        object_id = entra._application_object_id(app.name)
        steps = (
            (
                _APP_OPERATION,
                entra._target(
                    "Application",
                    object_id,
                    app.name,
                    [
                        *change,
                        entra._change("Included Updated Properties", None, '"KeyDescription"'),
                    ],
                ),
                "Update application",
                entra._target("Application", object_id, app.name),
            ),
        )
    else:
        steps = (
            (
                _SP_OPERATION if not removal else "Remove service principal credentials",
                entra._target("ServicePrincipal", app.object_id, app.name, change),
                "Update service principal",
                entra._target("ServicePrincipal", app.object_id, app.name),
            ),
        )
    for operation, changed, follow_up, plain in steps:
        for delay, name, targets, details in (
            (
                a.rng.uniform(0.2, 0.9),
                operation,
                [changed],
                [("User-Agent", agent), ("AppId", app.app_id)],
            ),
            (a.rng.uniform(0.5, 1.5), follow_up, [plain], [("User-Agent", agent)]),
        ):
            a.wait(delay)
            row = audit(
                a,
                initiator,
                name,
                "ApplicationManagement",
                targets,
                correlation=write["ClientRequestId"],
                op_type="Update",
                details=details,
            )
            a.add(stage, "AuditLogs", row)
    return write


def app_token(
    a: Attack,
    app: env.App,
    resource: str,
    ip: str,
    credential: Credential | None,
    *,
    place: entra.Place | None = None,
    library: str | None = None,
) -> Row:
    """An application's token request (AADServicePrincipalSignInLogs) with *credential*
    (None: the credential the background uses at that moment)."""
    if credential is None:
        key, thumbprint, federated = entra._credential(a.ctx, app.name, a.now)
    else:
        key, thumbprint, federated = credential.key_id, credential.thumbprint, ""
    token = entra.SpToken(
        app,
        resource,
        a.now,
        entra._token_id(a.rng),
        ip,
        "0",
        key,
        thumbprint,
        federated,
        a.guid(),
        a.guid(),
    )
    row = entra._sp_row(token)
    if place is not None:
        row["Location"] = place.country
        row["LocationDetails"] = json.dumps(place.details())
    if library is not None:
        row["AuthenticationProcessingDetails"] = json.dumps(
            [{"key": "Azure AD App Authentication Library", "value": library}]
        )
    return row


def app_arm_caller(app: env.App, role: str) -> arm._Caller:
    return arm._app_caller(app, role)


# -- the intrusion ---------------------------------------------------------------------------


def _start(ctx: SimContext, instance: Instance) -> dt.datetime:
    """When the intrusion begins: an evening, a night or a working day, never in the
    window's first hours (the telemetry's opening rows would be the attack's)."""
    start = incident_start(ctx, CAMPAIGN, instance.rng.choice(_WINDOWS))
    if start < ctx.start + dt.timedelta(hours=8) and ctx.days > 1:
        start += dt.timedelta(days=1)
    return start


@scenario(
    CAMPAIGN,
    "cloud",
    ("signin", "grantee", "credential_added", "app_signin", "role_assignment", "policy_audit"),
)
def app_credential_abuse(ctx: SimContext) -> Stages:
    """Replay the administrator's session, add the credential, sign in as the application
    with it, grant the role."""
    instance = Instance(ctx, CAMPAIGN)
    admin = env.person(instance.pick("admin", ADMINS))
    infra = hosted(instance, "operator_ip")
    app = env.application(instance.pick("app", sorted(PRIVILEGED_APPS)))
    app_role, scopes = PRIVILEGED_APPS[app.name]
    variant = instance.pick("variant", VARIANTS)
    target, _, kind = variant.partition("-")
    client_name = instance.pick("client", _CLIENTS[target])
    client = _CLIENT_APPS[client_name]
    agent = instance.pick("user_agent", _AGENTS[client_name])
    a = Attack(ctx, CAMPAIGN, _start(ctx, instance))

    risk = instance.rng.choice((("none", ()), ("low", ("unfamiliarFeatures",))))
    login = Login(client, entra.GRAPH_RESOURCE, agent=agent, risk=risk[0], risk_events=risk[1])
    profile = unregistered(person_profile(ctx, admin))
    signin = sign_in(a, profile, infra.network, login)
    a.add("signin", "SigninLogs", signin)
    caller = user_caller(admin, client.app_id, infra.ip, agent, token_of(signin))
    by = user_by(admin, infra.ip)

    a.wait(60, 300)
    grantee = _grantee(a, instance, caller, by)

    a.wait(120, 600)
    credential = _credential(instance, app, kind)
    before = existing_credentials(ctx, app.name, a.now) if target == "application" else []
    credential_change(
        a,
        "credential_added",
        caller,
        by,
        app,
        target,
        before,
        [*before, credential.description],
        agent,
        certificate=kind == "certificate",
    )

    a.wait(120, 900)
    library = instance.pick("library", _LIBRARIES)
    tokens = []
    for _ in range(instance.pick("token_requests", (1, 1, 2, 3))):
        token = app_token(
            a, app, entra.ARM_RESOURCE, infra.ip, credential, place=infra.place, library=library
        )
        a.add("app_signin", "AADServicePrincipalSignInLogs", token)
        tokens.append(token)
        a.wait(40, 400)
    role = instance.pick("role", PRIVILEGED_ROLES)
    scope = instance.pick("scope", scopes)
    assignment = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{a.guid()}"
    rows, policy = arm_operation(
        a,
        app_arm_caller(app, app_role),
        infra.ip,
        arm._ROLE_WRITE,
        assignment,
        request=arm._role_request(grantee, "User", role, scope),
        uti=str(tokens[-1]["UniqueTokenIdentifier"]),
    )
    a.add("role_assignment", "AzureActivity", *rows)
    a.add("policy_audit", "AzureActivity", *policy)
    return a.stages


def _credential(instance: Instance, app: env.App, kind: str) -> Credential:
    key = instance.keep("key_id", guid(instance.rng))
    if kind == "password":
        label = instance.name_like("label", _LABEL_STEMS, _LABEL_SEPARATORS, _LABEL_TAILS)
        return Credential(key, "Password", label)
    label = instance.keep("label", "CN=" + instance.name_like("label", _CERT_SUBJECTS, _CERT_TAILS))
    thumbprint = instance.hex("thumbprint", 40).upper()
    return Credential(key, "AsymmetricX509Cert", label, thumbprint)


def _grantee(
    a: Attack, instance: Instance, caller: graph.Caller, by: tuple[dict[str, Any], str]
) -> str:
    """Invite an outside account, or look up a member account the intruder holds; the
    object id that later receives the role."""
    if instance.pick("grantee_kind", ("invited-guest", "member-account")) == "member-account":
        pool = [p for p in env.PEOPLE[40:] if not p.is_admin]
        member = env.person(instance.pick("grantee", [p.upn.split("@")[0] for p in pool]))
        path = f"/v1.0/users/{member.object_id}?$select=id,displayName,userPrincipalName"
        a.add("grantee", "MicrosoftGraphActivityLogs", graph_call(a, caller, "GET", path))
        return member.object_id
    email = instance.name_like(
        "grantee", _GUEST_FIRST, (".",), _GUEST_LAST, _GUEST_TAILS, _GUEST_DOMAINS
    )
    guest_id = env.stable_guid("guest", email)
    invite = graph_call(a, caller, "POST", "/v1.0/invitations")
    a.add("grantee", "MicrosoftGraphActivityLogs", invite)
    a.wait(0.3, 1.5)
    target = entra._target("User", guest_id, email)
    a.add(
        "grantee",
        "AuditLogs",
        audit(
            a,
            by,
            "Invite external user",
            "UserManagement",
            [target],
            correlation=invite["ClientRequestId"],
            service="Invited Users",
        ),
    )
    a.wait(120, 900)
    redeemer: tuple[dict[str, Any], str] = (
        {
            "user": {
                "id": guest_id,
                "displayName": None,
                "userPrincipalName": email,
                "ipAddress": "",
                "roles": [],
            }
        },
        email,
    )
    a.add(
        "grantee",
        "AuditLogs",
        audit(
            a,
            redeemer,
            "Redeem external user invite",
            "UserManagement",
            [target],
            service="Invited Users",
            op_type="Update",
        ),
    )
    return guest_id


# -- look-alikes -------------------------------------------------------------------------------

#: Applications the platform team rotates credentials of, and the pipeline's own apps.
ROTATED_APPS = (
    "ci-deployer",
    "backup-runner",
    "siem-connector",
    "hr-sync",
    "intune-reporting",
    "invoice-processor",
    "contoso-api",
)
PIPELINE_OWNED = ("hr-sync", "invoice-processor", "intune-reporting", "siem-connector")
#: The resources each application's workload asks tokens for.
_APP_RESOURCES = {
    "ci-deployer": (entra.ARM_RESOURCE, entra.GRAPH_RESOURCE),
    "backup-runner": (entra.ARM_RESOURCE, "Azure Storage"),
    "siem-connector": (entra.GRAPH_RESOURCE, entra.ARM_RESOURCE),
    "hr-sync": (entra.GRAPH_RESOURCE,),
    "intune-reporting": (entra.GRAPH_RESOURCE,),
    "invoice-processor": (entra.GRAPH_RESOURCE, "Azure Storage"),
    "contoso-api": ("Azure Key Vault", "Azure Storage", "Azure SQL Database"),
}
#: Azure Automation's outbound addresses (the backup runbooks' sandboxes).
_AUTOMATION_IPS = ("20.50.2.71", "20.50.2.84", "20.61.150.14")
_PIPELINE_AGENT = graph.DAEMONS["ci-deployer"][0]


def _present(ctx: SimContext, day: int, pool: tuple[str, ...]) -> list[entra.Presence]:
    present = entra._day_plan(ctx, day).present
    return [present[alias] for alias in pool if alias in present]


def _label(f: Family, app: str, certificate: bool) -> str:
    if certificate:
        return f"CN={app}{f.rng.choice(_CERT_TAILS)}"
    stem = f.rng.choice((*_LABEL_STEMS, app))
    return f"{stem}{f.rng.choice(_LABEL_SEPARATORS)}{f.rng.choice(_LABEL_TAILS)}"


def _uses(f: Family, app: env.App, credential: Credential, count: int, spread: float) -> None:
    """The application's workload signs in with *credential* from its usual egress."""
    start = f.now
    ip = entra.SP_NETWORKS[app.name][0]
    for _ in range(count):
        f.at(start + dt.timedelta(seconds=f.rng.uniform(300, spread)))
        if f.now >= f.ctx.end:
            continue
        resource = f.rng.choice(_APP_RESOURCES[app.name])
        f.add(f.name, "AADServicePrincipalSignInLogs", app_token(f, app, resource, ip, credential))
    f.at(start)


def _platform_rotation(ctx: SimContext) -> dict[str, list[Row]]:
    """The platform team rotates an application's secret or certificate in the admin
    center; the workload picks the new one up, sometimes after an engineer tried it from
    the office; the old one is removed later."""
    f = Family(ctx, CAMPAIGN, "platform_rotation")
    for day in ctx.day_range():
        admins = _present(ctx, day, ADMINS)
        for _ in range(f.rng.randint(1, 2) if admins else 0):
            presence = f.rng.choice(admins)
            who = presence.profile.person
            ip = presence.network.ip
            f.at(min(presence.moment(f.rng), ctx.end - dt.timedelta(minutes=40)))
            app = env.application(f.rng.choice(ROTATED_APPS))
            certificate = entra.CREDENTIAL_KINDS[app.name] == "certificate"
            signin = sign_in(
                f, presence.profile, presence.network, Login(entra.PORTAL, entra.GRAPH_RESOURCE)
            )
            f.add(f.name, "SigninLogs", signin)
            agent = entra._browser_agent(presence.profile, 124)
            caller = user_caller(who, entra.PORTAL.app_id, ip, agent, token_of(signin))
            f.wait(60, 400)
            credential = Credential(
                guid(f.rng),
                "AsymmetricX509Cert" if certificate else "Password",
                _label(f, app.name, certificate),
                f"{f.rng.getrandbits(160):040X}" if certificate else "",
            )
            before = existing_credentials(ctx, app.name, f.now)
            after = [*before, credential.description]
            by = user_by(who, ip)
            credential_change(
                f,
                f.name,
                caller,
                by,
                app,
                "application",
                before,
                after,
                agent,
                certificate=certificate,
            )
            if f.rng.random() < 0.35:
                f.wait(60, 600)
                f.add(
                    f.name,
                    "AADServicePrincipalSignInLogs",
                    app_token(f, app, entra.ARM_RESOURCE, ip, credential, library=PIPELINE_LIBRARY),
                )
            _uses(f, app, credential, f.rng.randint(2, 4), 5 * 3600)
            if f.rng.random() < 0.5:
                f.wait(1800, 3 * 3600)
                if f.now < ctx.end:
                    remaining = [credential.description]
                    credential_change(
                        f,
                        f.name,
                        caller,
                        by,
                        app,
                        "application",
                        after,
                        remaining,
                        agent,
                        certificate=certificate,
                        lookup=False,
                        removal=True,
                    )
    return f.stages.get(f.name, {})


def _automation_rotation(ctx: SimContext) -> dict[str, list[Row]]:
    """The pipeline rotates the secrets of the applications it owns, app-only, from a
    hosted runner; each application then uses its new secret."""
    f = Family(ctx, CAMPAIGN, "automation_rotation")
    pipeline = env.application("ci-deployer")
    for moment in f.times(1, 2, office=False):
        f.at(moment)
        ip = f.rng.choice(arm._CI_RUNNER_IPS)
        token = app_token(f, pipeline, entra.GRAPH_RESOURCE, ip, None, library=PIPELINE_LIBRARY)
        f.add(f.name, "AADServicePrincipalSignInLogs", token)
        caller = graph.Caller(
            app_id=pipeline.app_id,
            ip=ip,
            agent=_PIPELINE_AGENT,
            token=str(token["UniqueTokenIdentifier"]),
            issued=f.now,
            sp_id=pipeline.object_id,
            roles=graph.DAEMON_ROLES["ci-deployer"],
            auth_method=1,
        )
        by = (entra._app_initiator("ci-deployer"), "ci-deployer")
        for name in f.rng.sample(PIPELINE_OWNED, f.rng.choice((1, 1, 2))):
            app = env.application(name)
            f.wait(2, 20)
            credential = Credential(guid(f.rng), "Password", _label(f, name, False))
            before = existing_credentials(ctx, name, f.now)
            after = [*before, credential.description]
            credential_change(
                f,
                f.name,
                caller,
                by,
                app,
                "application",
                before,
                after,
                _PIPELINE_AGENT,
                certificate=False,
            )
            _uses(f, app, credential, f.rng.randint(1, 3), 3 * 3600)
    return f.stages.get(f.name, {})


_WORKLOAD_ROLES = (
    "Storage Blob Data Reader",
    "Azure Kubernetes Service Cluster User Role",
    "Reader",
)


def _ci_runner_signins(ctx: SimContext) -> dict[str, list[Row]]:
    """The pipeline requests Azure tokens from hosted runners (a new address nearly every
    run) and deploys; some runs grant a workload identity a data role. The backup
    runbooks sign in from Azure Automation's sandboxes."""
    f = Family(ctx, CAMPAIGN, "ci_runner_signins")
    pipeline = env.application("ci-deployer")
    ci = app_arm_caller(pipeline, "Owner")
    for moment in f.times(2, 5):
        f.at(moment)
        ip = f.rng.choice(arm._CI_RUNNER_IPS)
        token = app_token(f, pipeline, entra.ARM_RESOURCE, ip, None, library=PIPELINE_LIBRARY)
        f.add(f.name, "AADServicePrincipalSignInLogs", token)
        uti = str(token["UniqueTokenIdentifier"])
        group = f.rng.choice(("rg-prod-web", "rg-prod-data", "rg-aks-prod"))
        scope = f"/subscriptions/{PROD}/resourceGroups/{group}"
        deployment = (
            f"{scope}/providers/Microsoft.Resources/deployments/pr-{f.rng.randrange(300, 999)}"
        )
        f.wait(5, 40)
        rows, _ = arm_operation(f, ci, ip, arm._VALIDATE, deployment, uti=uti)
        f.add(f.name, "AzureActivity", *rows)
        f.wait(5, 30)
        rows, policy = arm_operation(f, ci, ip, arm._DEPLOYMENT, deployment, uti=uti)
        f.add(f.name, "AzureActivity", *rows, *policy)
        if f.rng.random() < 0.4:
            f.wait(30, 200)
            identity = env.application(
                f.rng.choice(("id-api-prod", "id-web-prod", "id-aks-workload", "id-func-backup"))
            )
            role = f.rng.choice(_WORKLOAD_ROLES)
            assignment = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{f.guid()}"
            body = arm._role_request(identity.object_id, "ServicePrincipal", role, scope)
            rows, policy = arm_operation(
                f, ci, ip, arm._ROLE_WRITE, assignment, request=body, uti=uti
            )
            f.add(f.name, "AzureActivity", *rows, *policy)
    backup = env.application("backup-runner")
    runbook = app_arm_caller(backup, "User Access Administrator")
    restore = env.application("id-func-backup")
    for moment in f.times(0, 2, office=False):
        f.at(moment)
        ip = f.rng.choice(_AUTOMATION_IPS)
        token = app_token(f, backup, entra.ARM_RESOURCE, ip, None)
        f.add(f.name, "AADServicePrincipalSignInLogs", token)
        if f.rng.random() < 0.5:
            # A restore runbook lets the backup identity write the restored resources.
            f.wait(20, 120)
            scope = f"/subscriptions/{PROD}/resourceGroups/rg-prod-data"
            assignment = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{f.guid()}"
            body = arm._role_request(restore.object_id, "ServicePrincipal", "Contributor", scope)
            uti = str(token["UniqueTokenIdentifier"])
            rows, policy = arm_operation(
                f, runbook, ip, arm._ROLE_WRITE, assignment, request=body, uti=uti
            )
            f.add(f.name, "AzureActivity", *rows, *policy)
    return f.stages.get(f.name, {})


def _owner_role_grants(ctx: SimContext) -> dict[str, list[Row]]:
    """Owners grant people, partner guests (invited first, now and then) and workload
    identities roles from the portal, Owner and User Access Administrator included."""
    f = Family(ctx, CAMPAIGN, "owner_role_grants")
    owners = ("alice.smith", "raj.patel")
    for day in ctx.day_range():
        present = _present(ctx, day, owners)
        for _ in range(f.rng.randint(1, 3) if present else 0):
            presence = f.rng.choice(present)
            who = presence.profile.person
            ip = presence.network.ip
            f.at(min(presence.moment(f.rng), ctx.end - dt.timedelta(minutes=60)))
            roll = f.rng.random()
            if roll < 0.35:
                guest = f.rng.choice(entra.GUEST_PARTNERS)
                principal, kind = env.stable_guid("guest", guest), "User"
                if f.rng.random() < 0.5:
                    _invite(f, presence, guest)
            elif roll < 0.75:
                principal, kind = f.rng.choice(env.PEOPLE[5:60]).object_id, "User"
            else:
                name = f.rng.choice(("id-api-prod", "id-web-prod", "id-func-backup", "contoso-api"))
                principal, kind = env.application(name).object_id, "ServicePrincipal"
            signin = sign_in(
                f, presence.profile, presence.network, Login(entra.PORTAL, entra.ARM_RESOURCE)
            )
            f.add(f.name, "SigninLogs", signin)
            f.wait(30, 300)
            role = f.rng.choices(
                ("Owner", "Contributor", "User Access Administrator", "Reader"),
                weights=(2, 4, 1, 3),
            )[0]
            group = f.rng.choice(("rg-prod-web", "rg-prod-data", "rg-aks-prod", "rg-dev"))
            subscription = env.SUBSCRIPTIONS["dev" if group == "rg-dev" else "prod"]
            scope = f"/subscriptions/{subscription}"
            if f.rng.random() < 0.7:
                scope += f"/resourceGroups/{group}"
            assignment = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{f.guid()}"
            body = arm._role_request(principal, kind, role, scope)
            caller = user_arm_caller(who, env.AZURE_PORTAL, "Owner")
            uti = str(signin["UniqueTokenIdentifier"])
            rows, policy = arm_operation(
                f, caller, ip, arm._ROLE_WRITE, assignment, request=body, uti=uti
            )
            f.add(f.name, "AzureActivity", *rows, *policy)
    return f.stages.get(f.name, {})


def _invite(f: Family, presence: entra.Presence, guest: str) -> None:
    """An owner invites a partner's engineer from the admin center; the guest redeems."""
    who = presence.profile.person
    ip = presence.network.ip
    signin = sign_in(
        f, presence.profile, presence.network, Login(entra.PORTAL, entra.GRAPH_RESOURCE)
    )
    f.add(f.name, "SigninLogs", signin)
    agent = entra._browser_agent(presence.profile, 124)
    caller = user_caller(who, entra.PORTAL.app_id, ip, agent, token_of(signin))
    f.wait(30, 200)
    invite = graph_call(f, caller, "POST", "/v1.0/invitations")
    f.add(f.name, "MicrosoftGraphActivityLogs", invite)
    f.wait(0.3, 1.5)
    target = entra._target("User", env.stable_guid("guest", guest), guest)
    row = audit(
        f,
        user_by(who, ip),
        "Invite external user",
        "UserManagement",
        [target],
        correlation=invite["ClientRequestId"],
        service="Invited Users",
    )
    f.add(f.name, "AuditLogs", row)
    f.wait(60, 600)


_FAMILIES: dict[str, Callable[[SimContext], dict[str, list[Row]]]] = {
    "platform_rotation": _platform_rotation,
    "automation_rotation": _automation_rotation,
    "ci_runner_signins": _ci_runner_signins,
    "owner_role_grants": _owner_role_grants,
}


@lookalikes(CAMPAIGN, tuple(_FAMILIES))
def app_credential_lookalikes(ctx: SimContext) -> Stages:
    return {name: make(ctx) for name, make in _FAMILIES.items()}
