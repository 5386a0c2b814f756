"""Device-code phishing (T1566.002, T1528): the operator starts the OAuth device code flow
for a Microsoft client, sends the code to an employee in a fake meeting invitation, and
the employee enters it on the genuine Microsoft page from her own laptop and network. The
tokens land on the operator's server, which uses them through Microsoft Graph: first to
read the profile, then to collect (search the mailbox, search and download files from
OneDrive and SharePoint, or both), then to abuse the mailbox (new lures sent to
colleagues, or an inbox rule that forwards mail out and hides it).

Per instance: which employee is phished (anyone but administrators and engineers, on
the day she works, from where she works), the client the code was requested for
(Microsoft Authentication Broker, Azure CLI or Microsoft Office, always for Microsoft
Graph), the operator's server (a hosting provider's address) and its HTTP client, what
is collected (mail, files or both) and with which search terms, and what follows (two to
four lures with subjects drawn from meeting and payment themes, or a forwarding rule with
a drawn name, keywords and outside mailbox). The sign-in's token id is what Graph logs
as SignInActivityId for every request; the mailbox and file audit records carry the
operator's address and the client's app id.

Look-alikes: meeting-room consoles and Teams displays signed in with device codes (the
displays then read calendars through Graph), engineers signing the Azure CLI and Graph
PowerShell in with device codes on headless lab boxes in the offices (the token is used
from the box, not from where the code was entered), Outlook clients searching mail
through Graph, the finance team mailing payment and invoice subjects internally, people
downloading files from OneDrive and SharePoint, and inbox rules forwarding mail to a
colleague.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import entra, graph, office
from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext, hex_string
from pytest_ctirealm.telemetry.scenarios.base import Stages, incident_start, lookalikes, scenario
from pytest_ctirealm.telemetry.scenarios.cloud.common import (
    Attack,
    Family,
    Infra,
    Row,
    hosted,
    unregistered,
)

CAMPAIGN = "device_code_phishing"

#: The clients device-code phishing kits request codes for (all family-of-client-ids
#: members whose Graph tokens read mail and files), by instance key.
CLIENTS: dict[str, entra.Client] = {
    "broker": entra.BROKER,
    "azure_cli": entra.CLI,
    "office": entra.OFFICE_CLIENT,
}
#: What a first-party client's Graph token carries when asked for `.default`.
_TOKEN_SCOPES = (
    "AuditLog.Read.All Calendars.ReadWrite Contacts.ReadWrite Directory.AccessAsUser.All "
    "Files.ReadWrite.All Group.ReadWrite.All Mail.ReadWrite Mail.Send MailboxSettings.ReadWrite "
    "People.Read Sites.ReadWrite.All User.ReadWrite.All email openid profile offline_access"
)
#: HTTP clients of the operators' tooling (scripts, TokenTactics-style PowerShell).
AGENTS = (
    "python-requests/2.31.0",
    "python-requests/2.32.3",
    "python-httpx/0.27.0",
    "Go-http-client/1.1",
    "axios/1.6.8",
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "curl/8.5.0",
    "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.4291",
    "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-GB) WindowsPowerShell/5.1.22621.2506",
)
_MAIL_TERMS = (
    "password",
    "credentials",
    "username",
    "admin",
    "secret",
    "vpn",
    "invoice",
    "wire transfer",
    "bank details",
    "IBAN",
    "payment",
    "payroll",
    "confidential",
    "contract",
    "MFA",
    "remote access",
    "ministry",
    "gift card",
)
_FILE_TERMS = (
    "password",
    "credentials",
    "vpn",
    "network diagram",
    "budget",
    "contract",
    "payroll",
    "invoice",
    "confidential",
    "customer list",
    "board",
    "security",
    "passport",
)
_FILES = (
    "Passwords.xlsx",
    "VPN setup guide.docx",
    "Network diagram v3.vsdx",
    "Budget 2026.xlsx",
    "Supplier contract 2026.pdf",
    "Payroll March.xlsx",
    "Board deck March.pptx",
    "Customer list EMEA.xlsx",
    "Bank details update.pdf",
    "Security review Q4.docx",
    "Admin accounts.txt",
    "Signed NDA.pdf",
)
_LURE_OPENERS = (
    "Teams meeting: ",
    "Invitation: ",
    "Updated invitation: ",
    "Action required: ",
    "Shared with you: ",
    "Re: ",
)
_LURE_TOPICS = (
    "Q1 close review",
    "vendor onboarding",
    "budget sign-off",
    "contract renewal",
    "audit follow-up",
    "payroll changes",
    "quarterly forecast",
    "supplier payment run",
    "board pack review",
    "updated payment details",
    "policy acknowledgement",
    "year-end bonus letters",
)
_RULE_NAMES = (".", "..", "...", "RSS", "Sync", "Archive", "Notes", "Inbox cleanup", "Junk filter")
_RULE_WORDS = (
    "invoice",
    "payment",
    "bank",
    "password",
    "security",
    "suspicious",
    "hacked",
    "helpdesk",
    "wire",
)
_RULE_FOLDERS = ("RSS Feeds", "RSS Subscriptions", "Conversation History", "Archive")
_FORWARD_LOCALS = ("mailcopy", "archive.inbox", "docs.sync", "records.backup", "box.mirror")
_FORWARD_DOMAINS = ("proton.me", "gmx.com", "mail.com", "tutanota.com", "yandex.com", "zoho.eu")


# --------------------------------------------------------------------------------------
# Who works where, when
# --------------------------------------------------------------------------------------


def _present(
    ctx: SimContext, moment: dt.datetime, accept: Callable[[entra.Presence], bool]
) -> list[entra.Presence]:
    """The people at work at *moment* (or, when none, that day) who pass *accept*."""
    day = (moment - ctx.start).days
    present = [p for _, p in sorted(entra._day_plan(ctx, day).present.items()) if accept(p)]
    working = [p for p in present if p.start <= moment <= p.end - dt.timedelta(minutes=40)]
    return working or present


def _someone(
    ctx: SimContext, fam: Family, moment: dt.datetime, accept: Callable[[entra.Presence], bool]
) -> entra.Presence | None:
    """Someone who passes *accept* at work at *moment*; the family's clock moves into
    their working span when *moment* is outside it."""
    people = _present(ctx, moment, accept)
    if not people:
        return None
    presence = fam.rng.choice(people)
    if not presence.start <= moment <= presence.end:
        moment = presence.moment(fam.rng)
    fam.at(min(moment, ctx.end - dt.timedelta(minutes=20)))
    return presence


def _plan(ctx: SimContext, moment: dt.datetime) -> entra.DayPlan:
    return entra._day_plan(ctx, (moment - ctx.start).days)


def _signin(
    a: Attack,
    presence: entra.Presence,
    client: entra.Client,
    resource: str,
    *,
    device: str = "laptop",
    protocol: str = "deviceCode",
) -> Row:
    """A successful interactive sign-in at the clock; a device code is entered in the
    person's browser, so the row carries the browser's agent."""
    signin = entra.SignIn(
        presence,
        a.now,
        client,
        resource,
        device,
        "0",
        entra._token_id(a.rng),
        a.guid(),
        a.guid(),
        protocol,
        True,
        "multiFactorAuthentication",
    )
    row = entra._signin_row(a.rng, signin)
    if device == "laptop" and protocol == "deviceCode":
        row["UserAgent"] = entra._browser_agent(presence.profile, a.rng.choice((122, 123, 124)))
    return row


def _caller(
    presence: entra.Presence, app_id: str, ip: str, agent: str, row: Row, scopes: str
) -> graph.Caller:
    """The caller of Graph requests made with the token of sign-in *row*, from *ip*."""
    who = presence.profile.person
    return graph.Caller(
        app_id=app_id,
        ip=ip,
        agent=agent,
        token=row["UniqueTokenIdentifier"],
        issued=row["TimeGenerated"],
        user_id=who.object_id,
        scopes=scopes,
        wids=graph._wids(presence),
        region="East US" if who.country == "US" else "West Europe",
    )


def _call(a: Attack, caller: graph.Caller, method: str, path: str) -> Row:
    """A Graph request at the clock, answered as Graph answers such a request (never
    throttled or refused)."""
    code, size = graph._status(a.rng, method, path)
    while code in (401, 429):
        code, size = graph._status(a.rng, method, path)
    if path.endswith("/content"):
        code, size = 302, 0
    return graph._row(a.rng, caller, a.now, method, path, (code, size))


def _mail_client_info(profile: entra.Profile, client: entra.Client) -> tuple[str, str]:
    """(ClientInfoString, user agent) of an Outlook client."""
    if client is entra.OUTLOOK_MOBILE:
        agent = entra._user_agent(profile, client, "mobile", 122)
        return f"Client=OutlookService;{agent.split(' ')[-1]};", agent
    if client is entra.OUTLOOK_WEB:
        agent = entra._browser_agent(profile, 123)
        return f"Client=OWA;Action=ViaProxy;{agent}", agent
    return "Client=MSExchangeRPC", entra._user_agent(profile, client, "laptop", 123)


def _mailbox(a: Attack, presence: entra.Presence, operation: str, client: entra.Client) -> Row:
    """A mailbox audit record of the person's own mailbox through *client*."""
    row = office._mailbox_row(a.rng, presence, a.now, operation)
    info, _ = _mail_client_info(presence.profile, client)
    row.update(
        {
            "OfficeId": a.guid(),
            "ClientInfoString": info,
            "ClientAppId": client.app_id,
            "AppId": client.app_id,
        }
    )
    if operation == "MailItemsAccessed":
        row["OperationProperties"] = [
            {"Name": "MailAccessType", "Value": "Bind"},
            {"Name": "IsThrottled", "Value": "False"},
        ]
    return row


def _with_subject(row: Row, subject: str) -> Row:
    item = json.loads(row["Item"])
    item["Subject"] = subject
    row["Item"] = json.dumps(item)
    return row


def _inbox_rule(
    a: Attack,
    presence: entra.Presence,
    name: str,
    parameters: list[tuple[str, str]],
    app_id: str,
) -> Row:
    """New-InboxRule as Exchange audits a rule created through the REST API."""
    display = presence.profile.person.display_name
    object_id = (
        f"EURPR04A002.prod.outlook.com/Microsoft Exchange Hosted Organizations/"
        f"{office.ORGANIZATION}/{display}\\{name}"
    )
    row = office._cmdlet_row(
        a.rng,
        presence,
        a.now,
        "New-InboxRule",
        object_id,
        [
            ("AlwaysDeleteOutlookRulesBlob", "False"),
            ("Force", "False"),
            ("Name", name),
            *parameters,
        ],
        "Regular",
    )
    row.update({"OfficeId": a.guid(), "AppId": app_id, "ClientAppId": app_id})
    return row


def _file_download(
    a: Attack, presence: entra.Presence, agent: str, app_id: str, name: str, site: str | None
) -> Row:
    """A FileDownloaded record of *name* in the person's OneDrive or team site *site*."""
    row = office._sharepoint_row(a.rng, presence, a.now, "FileDownloaded")
    if site is None:
        owner = presence.profile.person.upn.replace(".", "_").replace("@", "_")
        url, folder, workload = f"{office.ONEDRIVE}/personal/{owner}/", "Documents", "OneDrive"
    else:
        url, folder, workload = (
            f"{office.SHAREPOINT}/sites/{site}/",
            "Shared Documents",
            "SharePoint",
        )
    row.update(
        {
            "OfficeWorkload": workload,
            "Site_Url": url,
            "Site_": entra._named_guid("site", url),
            "SourceRelativeUrl": folder,
            "SourceFileName": name,
            "SourceFileExtension": name.rsplit(".", 1)[1],
            "OfficeObjectId": f"{url}{folder}/{name}",
            "OfficeId": a.guid(),
            "UserAgent": agent,
            "ApplicationId": app_id,
        }
    )
    return row


# --------------------------------------------------------------------------------------
# The intrusion
# --------------------------------------------------------------------------------------


def _hosted(ctx: SimContext, instance: Instance, key: str) -> Infra:
    """The operator's server at a hosting provider, at an address no other intrusion
    here uses."""
    taken = {
        value
        for name, values in ctx.instances.items()
        if name != CAMPAIGN
        for value in values.values()
        if isinstance(value, str)
    }
    infra = hosted(instance, key)
    while infra.ip in taken:
        infra = hosted(instance, key)
    return infra


def _victim(ctx: SimContext, instance: Instance, start: dt.datetime) -> entra.Presence:
    """An employee at work at *start* who is neither an administrator nor an engineer."""
    people = _present(
        ctx, start, lambda p: not p.profile.person.is_admin and not p.profile.engineer
    )
    chosen = instance.pick("victim", [p.profile.person.upn for p in people])
    return next(p for p in people if p.profile.person.upn == chosen)


@scenario(CAMPAIGN, "cloud", ("device_code", "collection", "mailbox_abuse"))
def device_code_phishing(ctx: SimContext) -> Stages:
    """The code entered, the token used from the operator's server: profile, collection,
    then lures or a forwarding rule."""
    instance = Instance(ctx, CAMPAIGN)
    start = incident_start(ctx, CAMPAIGN, (8, 15))
    victim = _victim(ctx, instance, start)
    if not victim.start <= start <= victim.end - dt.timedelta(minutes=40):
        start = victim.start + (victim.end - victim.start) / 3
    client = instance.rng.choice(list(CLIENTS.values()))
    instance.keep("client", client.app_id)
    server = _hosted(ctx, instance, "server_ip")
    agent = instance.pick("agent", AGENTS)
    a = Attack(ctx, CAMPAIGN, start)

    signin = _signin(a, victim, client, entra.GRAPH_RESOURCE)
    a.add("device_code", "SigninLogs", signin)
    caller = _caller(victim, client.app_id, server.ip, agent, signin, _TOKEN_SCOPES)
    # The operator's view of the same person: the victim, at the operator's address.
    remote = entra.Presence(
        unregistered(victim.profile),
        server.network,
        start,
        start + dt.timedelta(hours=3),
    )
    a.wait(60, 420)
    a.add("collection", "MicrosoftGraphActivityLogs", _call(a, caller, "GET", "/v1.0/me"))
    collect = instance.pick("collection", ("mail_search", "file_download", "mail_and_files"))
    if collect != "file_download":
        _search_mail(a, instance, caller, remote, client)
    if collect != "mail_search":
        _download_files(a, instance, caller, remote, client, agent)
    a.wait(180, 900)
    if instance.pick("mailbox_abuse", ("internal_lures", "forwarding_rule")) == "internal_lures":
        _send_lures(a, instance, caller, remote, client)
    else:
        _forwarding_rule(a, instance, caller, remote, client)
    return a.stages


def _search_mail(
    a: Attack,
    instance: Instance,
    caller: graph.Caller,
    remote: entra.Presence,
    client: entra.Client,
) -> None:
    """Keyword searches of the mailbox, and a few hits opened."""
    top = instance.pick("search_page", (25, 50, 100, 250))
    for term in instance.sample("mail_terms", _MAIL_TERMS, instance.between(3, 6)):
        path = f'/v1.0/me/messages?$search="{term}"&$top={top}&$select=subject,from,receivedDateTime,body'
        a.add("collection", "MicrosoftGraphActivityLogs", _call(a, caller, "GET", path))
        a.wait(1, 4)
        a.add("collection", "OfficeActivity", _rest_mailbox(a, remote, "MailItemsAccessed", client))
        for _ in range(a.rng.randint(0, 2)):
            a.wait(2, 15)
            message = "AAMkA" + hex_string(a.rng, 40)
            path = f"/v1.0/me/messages/{message}/attachments"
            a.add("collection", "MicrosoftGraphActivityLogs", _call(a, caller, "GET", path))
        a.wait(15, 90)


def _rest_mailbox(a: Attack, remote: entra.Presence, operation: str, client: entra.Client) -> Row:
    """A mailbox audit record of a Graph (REST) client acting with the stolen token."""
    row = _mailbox(a, remote, operation, client)
    row["ClientInfoString"] = "Client=REST;Client=RESTSystem;;"
    return row


def _download_files(
    a: Attack,
    instance: Instance,
    caller: graph.Caller,
    remote: entra.Presence,
    client: entra.Client,
    agent: str,
) -> None:
    """Searches of OneDrive and the team sites, and the hits downloaded."""
    files = iter(instance.sample("files", _FILES, 8))
    for term in instance.sample("file_terms", _FILE_TERMS, instance.between(2, 4)):
        path = f"/v1.0/me/drive/root/search(q='{term}')"
        a.add("collection", "MicrosoftGraphActivityLogs", _call(a, caller, "GET", path))
        for _ in range(a.rng.randint(1, 2)):
            a.wait(3, 25)
            site = a.rng.choice((None, None, "Finance", "Sales", "Engineering", "HR"))
            drive = "/v1.0/me/drive" if site is None else f"/v1.0/sites/{_site_id(site)}/drive"
            item = "01" + hex_string(a.rng, 32).upper()
            a.add(
                "collection",
                "MicrosoftGraphActivityLogs",
                _call(a, caller, "GET", f"{drive}/items/{item}/content"),
            )
            a.wait(0.5, 3)
            name = next(files)
            a.add(
                "collection",
                "OfficeActivity",
                _file_download(a, remote, agent, client.app_id, name, site),
            )
        a.wait(10, 60)


def _site_id(site: str) -> str:
    return (
        f"contoso.sharepoint.com,{entra._named_guid('site', site)},{entra._named_guid('web', site)}"
    )


def _send_lures(
    a: Attack,
    instance: Instance,
    caller: graph.Caller,
    remote: entra.Presence,
    client: entra.Client,
) -> None:
    """New device-code lures to colleagues, sent from the victim's mailbox."""
    openers = instance.rng.sample(_LURE_OPENERS, 4)
    topics = instance.rng.sample(_LURE_TOPICS, 4)
    subjects = [f"{o}{t[0].upper()}{t[1:]}" for o, t in zip(openers, topics, strict=True)]
    for subject in instance.keep("lure_subjects", subjects[: instance.between(2, 4)]):
        a.add(
            "mailbox_abuse",
            "MicrosoftGraphActivityLogs",
            graph._row(a.rng, caller, a.now, "POST", "/v1.0/me/sendMail", (202, 0)),
        )
        a.wait(1, 3)
        row = _with_subject(_rest_mailbox(a, remote, "Send", client), subject)
        a.add("mailbox_abuse", "OfficeActivity", row)
        a.wait(30, 180)


def _forwarding_rule(
    a: Attack,
    instance: Instance,
    caller: graph.Caller,
    remote: entra.Presence,
    client: entra.Client,
) -> None:
    """An inbox rule that sends matching mail to an outside mailbox and hides it."""
    rules = "/v1.0/me/mailFolders/inbox/messageRules"
    a.add("mailbox_abuse", "MicrosoftGraphActivityLogs", _call(a, caller, "GET", rules))
    a.wait(20, 120)
    name = instance.pick("rule_name", _RULE_NAMES)
    target = instance.name_like("forward_to", _FORWARD_LOCALS, ("@",), _FORWARD_DOMAINS)
    words = ";".join(instance.sample("rule_words", _RULE_WORDS, instance.between(2, 4)))
    how = instance.pick("forward_how", ("ForwardTo", "RedirectTo"))
    a.add(
        "mailbox_abuse",
        "MicrosoftGraphActivityLogs",
        graph._row(a.rng, caller, a.now, "POST", rules, (201, a.rng.randint(700, 1_400))),
    )
    a.wait(1, 4)
    parameters = [
        ("SubjectOrBodyContainsWords", words),
        (how, target),
        ("MarkAsRead", "True"),
        ("MoveToFolder", instance.pick("rule_folder", _RULE_FOLDERS)),
        ("StopProcessingRules", "True"),
    ]
    row = _inbox_rule(a, remote, name, parameters, client.app_id)
    a.add("mailbox_abuse", "OfficeActivity", row)


# --------------------------------------------------------------------------------------
# Look-alikes
# --------------------------------------------------------------------------------------

_ROOMS = {
    "NL": (
        *entra.ROOM_DEVICES["NL"],
        "MTR-AMS-1.07",
        "HUB-AMS-Atrium",
        "DISP-AMS-3.05",
        "DISP-AMS-4.20",
    ),
    "US": (*entra.ROOM_DEVICES["US"], "MTR-BOS-1.10", "HUB-BOS-Commons", "DISP-BOS-2.14"),
}
_DISPLAY_CALLS = (
    "/v1.0/me/calendarView?startDateTime={start}&endDateTime={end}",
    "/v1.0/me/events?$select=subject,start,end,organizer&$top=20",
    "/v1.0/me/presence",
    "/v1.0/me",
)
_BOX_AGENTS = (
    "Mozilla/5.0 (Linux; Ubuntu 22.04.4 LTS; en-US) PowerShell/7.4.1",
    "Mozilla/5.0 (Linux; Ubuntu 24.04 LTS; en-US) PowerShell/7.4.2",
    "Mozilla/5.0 (Linux; Debian GNU/Linux 12 (bookworm); en-US) PowerShell/7.4.0",
)
_BOX_CALLS = (
    "/v1.0/users?$top=999&$select=id,displayName,userPrincipalName,accountEnabled",
    "/v1.0/groups?$top=999&$select=id,displayName,groupTypes",
    "/v1.0/groups/{group}/members?$top=100",
    "/v1.0/users/{user}/memberOf",
    "/v1.0/applications?$filter=appId eq '{appid}'",
    "/v1.0/servicePrincipals?$filter=appId eq '{appid}'",
    "/v1.0/organization",
)
_BENIGN_SEARCHES = (
    "invoice",
    "payment",
    "contract",
    "password reset",
    "vpn",
    "travel",
    "expense",
    "offsite",
    "quote",
    "purchase order",
    "bank details",
    "onboarding",
)
_FINANCE_SUBJECTS = (
    "Updated payment details for Fabrikam",
    "Invoice approval needed: PO 4471",
    "Teams meeting: Q1 close review",
    "Invitation: Budget sign-off",
    "Supplier payment run - Thursday",
    "Re: Wire transfer confirmation",
    "Action required: expense reports due",
    "Payroll changes for March",
    "FW: Remittance advice",
)
_FORWARDING = (
    "Forward to assistant",
    "Copy invoices to team",
    "Out of office forwarding",
    "Escalations to backup",
)


def _room_devices(ctx: SimContext) -> dict[str, dict[str, list[Row]]]:
    """Teams Rooms consoles and Teams displays signed in with a device code in the office;
    the displays then read the calendar through Graph from the office's address."""
    fam = Family(ctx, CAMPAIGN, "room_devices")
    for moment in fam.times(2, 5):
        presence = _someone(ctx, fam, moment, lambda p: p.network.kind == "office")
        if presence is None:
            continue
        room = fam.rng.choice(_ROOMS[presence.network.place.country])
        display = room.startswith("DISP") or fam.rng.random() < 0.3
        resource = entra.GRAPH_RESOURCE if display else "Microsoft Teams Services"
        signin = _signin(fam, presence, entra.TEAMS_CLIENT, resource, device=f"room:{room}")
        fam.add(fam.name, "SigninLogs", signin)
        if not display:
            continue
        scopes = graph.SCOPES_BY_CLIENT[entra.TEAMS_CLIENT.app_id]
        caller = _caller(
            presence,
            entra.TEAMS_CLIENT.app_id,
            presence.network.ip,
            signin["UserAgent"],
            signin,
            scopes,
        )
        for template in fam.rng.sample(_DISPLAY_CALLS, fam.rng.randint(2, 4)):
            fam.wait(5, 120)
            path = graph._fill(fam.rng, template, presence.profile.person.object_id, fam.now)
            fam.add(fam.name, "MicrosoftGraphActivityLogs", _call(fam, caller, "GET", path))
    return fam.stages


def _headless_cli(ctx: SimContext) -> dict[str, dict[str, list[Row]]]:
    """Engineers sign the Azure CLI or Graph PowerShell in with a device code on a
    headless lab box in an office: the code is entered on their laptop, wherever they
    are, and Graph PowerShell then lists the directory from the box."""
    fam = Family(ctx, CAMPAIGN, "headless_cli")
    for moment in fam.times(2, 4):
        presence = _someone(ctx, fam, moment, lambda p: p.profile.engineer)
        if presence is None:
            continue
        powershell = fam.rng.random() < 0.6
        client = entra.GRAPH_CLI if powershell else entra.CLI
        resource = entra.GRAPH_RESOURCE if powershell else entra.ARM_RESOURCE
        signin = _signin(fam, presence, client, resource)
        fam.add(fam.name, "SigninLogs", signin)
        if not powershell:
            continue
        box = env.OFFICE_IPS[fam.rng.choice(("NL", "NL", "US"))]
        caller = _caller(
            presence,
            client.app_id,
            box,
            fam.rng.choice(_BOX_AGENTS),
            signin,
            graph.SCOPES_BY_CLIENT[client.app_id],
        )
        fam.wait(30, 240)
        fam.add(fam.name, "MicrosoftGraphActivityLogs", _call(fam, caller, "GET", "/v1.0/me"))
        for template in fam.rng.sample(_BOX_CALLS, fam.rng.randint(2, 5)):
            fam.wait(2, 60)
            path = graph._fill(fam.rng, template, presence.profile.person.object_id, fam.now)
            fam.add(fam.name, "MicrosoftGraphActivityLogs", _call(fam, caller, "GET", path))
    return fam.stages


def _outlook_client(fam: Family, presence: entra.Presence) -> entra.Client:
    choices = [entra.OUTLOOK_WEB, entra.OFFICE_CLIENT]
    if presence.profile.mobile_os:
        choices.append(entra.OUTLOOK_MOBILE)
    return fam.rng.choice(choices)


def _outlook_caller(
    ctx: SimContext, fam: Family, presence: entra.Presence, client: entra.Client
) -> graph.Caller:
    return graph._user_caller(
        ctx, _plan(ctx, fam.now), presence, client, fam.now, fam.rng.choice((122, 123, 124))
    )


def _outlook_mail_search(ctx: SimContext) -> dict[str, dict[str, list[Row]]]:
    """People search their mailbox in Outlook (web, desktop, phone): Graph searches and the
    mailbox's MailItemsAccessed from their own address."""
    fam = Family(ctx, CAMPAIGN, "outlook_mail_search")
    for moment in fam.times(6, 12):
        presence = _someone(ctx, fam, moment, lambda p: True)
        if presence is None:
            continue
        client = _outlook_client(fam, presence)
        caller = _outlook_caller(ctx, fam, presence, client)
        for _ in range(fam.rng.randint(1, 2)):
            term = fam.rng.choice(_BENIGN_SEARCHES)
            top = fam.rng.choice((25, 50))
            path = f'/v1.0/me/messages?$search="{term}"&$top={top}&$select=subject,from,receivedDateTime,bodyPreview'
            fam.add(fam.name, "MicrosoftGraphActivityLogs", _call(fam, caller, "GET", path))
            fam.wait(1, 4)
            fam.add(
                fam.name, "OfficeActivity", _mailbox(fam, presence, "MailItemsAccessed", client)
            )
            fam.wait(20, 300)
    return fam.stages


def _finance_mail(ctx: SimContext) -> dict[str, dict[str, list[Row]]]:
    """The finance team mails colleagues about payments, invoices and close meetings."""
    fam = Family(ctx, CAMPAIGN, "finance_mail")
    for moment in fam.times(4, 8):
        presence = _someone(ctx, fam, moment, lambda p: p.profile.person.department == "Finance")
        if presence is None:
            continue
        client = fam.rng.choice((entra.OUTLOOK_WEB, entra.OFFICE_CLIENT))
        caller = _outlook_caller(ctx, fam, presence, client)
        fam.add(
            fam.name,
            "MicrosoftGraphActivityLogs",
            graph._row(fam.rng, caller, fam.now, "POST", "/v1.0/me/sendMail", (202, 0)),
        )
        fam.wait(1, 3)
        row = _with_subject(
            _mailbox(fam, presence, "Send", client), fam.rng.choice(_FINANCE_SUBJECTS)
        )
        fam.add(fam.name, "OfficeActivity", row)
    return fam.stages


def _drive_downloads(ctx: SimContext) -> dict[str, dict[str, list[Row]]]:
    """People find and download files from OneDrive and the team sites in the browser."""
    fam = Family(ctx, CAMPAIGN, "drive_downloads")
    for moment in fam.times(4, 8):
        presence = _someone(ctx, fam, moment, lambda p: True)
        if presence is None:
            continue
        client = fam.rng.choice((entra.OFFICE_HOME, entra.OFFICE_CLIENT))
        caller = _outlook_caller(ctx, fam, presence, client)
        if fam.rng.random() < 0.5:
            term = fam.rng.choice(("budget", "contract", "forecast", "roster", "policy", "deck"))
            path = f"/v1.0/me/drive/root/search(q='{term}')"
            fam.add(fam.name, "MicrosoftGraphActivityLogs", _call(fam, caller, "GET", path))
        for _ in range(fam.rng.randint(1, 3)):
            fam.wait(3, 40)
            item = "01" + hex_string(fam.rng, 32).upper()
            path = f"/v1.0/me/drive/items/{item}/content"
            fam.add(fam.name, "MicrosoftGraphActivityLogs", _call(fam, caller, "GET", path))
            fam.wait(0.5, 3)
            row = office._sharepoint_row(fam.rng, presence, fam.now, "FileDownloaded")
            row["OfficeId"] = fam.guid()
            fam.add(fam.name, "OfficeActivity", row)
    return fam.stages


def _inbox_forwarding(ctx: SimContext) -> dict[str, dict[str, list[Row]]]:
    """People forward or copy mail to a colleague with an inbox rule (an assistant, a
    backup while on leave), created in Outlook on the web."""
    fam = Family(ctx, CAMPAIGN, "inbox_forwarding")
    for moment in fam.times(2, 4):
        presence = _someone(ctx, fam, moment, lambda p: not p.profile.person.is_admin)
        if presence is None:
            continue
        colleague = fam.rng.choice([p for p in env.PEOPLE if p is not presence.profile.person])
        caller = _outlook_caller(ctx, fam, presence, entra.OUTLOOK_WEB)
        rules = "/v1.0/me/mailFolders/inbox/messageRules"
        fam.add(
            fam.name,
            "MicrosoftGraphActivityLogs",
            graph._row(fam.rng, caller, fam.now, "POST", rules, (201, fam.rng.randint(700, 1_400))),
        )
        fam.wait(1, 4)
        name = fam.rng.choice(_FORWARDING)
        parameters = [
            (fam.rng.choice(("ForwardTo", "RedirectTo")), colleague.upn),
            ("StopProcessingRules", "False"),
        ]
        if fam.rng.random() < 0.5:
            words = fam.rng.choice(("invoice", "urgent", "PO", "approval"))
            parameters.insert(0, ("SubjectContainsWords", words))
        row = _inbox_rule(fam, presence, name, parameters, entra.OUTLOOK_WEB.app_id)
        fam.add(fam.name, "OfficeActivity", row)
    return fam.stages


_FAMILIES = {
    "room_devices": _room_devices,
    "headless_cli": _headless_cli,
    "outlook_mail_search": _outlook_mail_search,
    "finance_mail": _finance_mail,
    "drive_downloads": _drive_downloads,
    "inbox_forwarding": _inbox_forwarding,
}


@lookalikes(CAMPAIGN, tuple(_FAMILIES))
def device_code_lookalikes(ctx: SimContext) -> Stages:
    out: Stages = {}
    for make in _FAMILIES.values():
        out.update(make(ctx))
    return out
