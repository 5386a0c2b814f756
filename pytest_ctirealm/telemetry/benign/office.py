"""Benign Microsoft 365 activity, as the Office 365 connector writes OfficeActivity.

People read and send mail, open, edit, sync and share files and join Teams meetings
in their working hours, from the same IP their sign-ins show that day. Around the
attack footprints the table also holds their legitimate versions: users creating inbox
rules that file newsletters into a folder (never forwarding outside), an admin giving a
finance clerk FullAccess to the shared invoices mailbox, clerks sending as that mailbox,
invoice-processor reading it app-only, mail sent right after a device-code sign-in on a
conference-room device, guest sharing with partners and a rare anonymous link for a
press kit.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

from pytest_ctirealm.telemetry.benign.entra import (
    GRAPH_RESOURCE,
    OFFICE_CLIENT,
    OUTLOOK_MOBILE,
    OUTLOOK_WEB,
    SP_NETWORKS,
    DayPlan,
    Presence,
    Profile,
    _browser_agent,
    _day_plan,
    _named_guid,
    _sp_tokens,
    _user_agent,
)
from pytest_ctirealm.telemetry.benign.graph import INVOICES, _invoice_batch
from pytest_ctirealm.telemetry.context import SimContext, guid, hex_string
from pytest_ctirealm.telemetry.environment import (
    PEOPLE,
    TENANT_ID,
    application,
    stable_hex,
)

Row = dict[str, Any]
SECOND = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)
ORGANIZATION = "contoso.onmicrosoft.com"
SHAREPOINT = "https://contoso.sharepoint.com"
ONEDRIVE = "https://contoso-my.sharepoint.com"

#: What one person's audited actions are made of: (workload, operation, weight).
OPERATIONS: tuple[tuple[str, str, float], ...] = (
    ("Exchange", "MailItemsAccessed", 30),
    ("Exchange", "Send", 5),
    ("Exchange", "MoveToDeletedItems", 3),
    ("Exchange", "Update", 2),
    ("Exchange", "Create", 1.5),
    ("Exchange", "SoftDelete", 1.2),
    ("Exchange", "HardDelete", 0.3),
    ("SharePoint", "FileAccessed", 15),
    ("SharePoint", "FileModified", 6),
    ("SharePoint", "FilePreviewed", 4),
    ("SharePoint", "FileDownloaded", 3),
    ("SharePoint", "PageViewed", 3),
    ("SharePoint", "FileUploaded", 2),
    ("SharePoint", "FileSyncDownloadedFull", 2),
    ("SharePoint", "FileSyncUploadedFull", 2),
    ("SharePoint", "ListItemViewed", 1),
    ("SharePoint", "SearchQueryPerformed", 1),
    ("SharePoint", "SharingSet", 0.4),
    ("SharePoint", "CompanyLinkCreated", 0.4),
    ("SharePoint", "SharingInvitationCreated", 0.3),
    ("MicrosoftTeams", "TeamsSessionStarted", 5),
    ("MicrosoftTeams", "MeetingDetail", 2),
    ("MicrosoftTeams", "MemberAdded", 0.4),
    ("MicrosoftTeams", "ChannelAdded", 0.1),
    ("MicrosoftTeams", "AppInstalled", 0.1),
)
RECORD_TYPES = {
    "MailItemsAccessed": "ExchangeItemAggregated",
    "MoveToDeletedItems": "ExchangeItemGroup",
    "SoftDelete": "ExchangeItemGroup",
    "HardDelete": "ExchangeItemGroup",
    "PageViewed": "SharePoint",
    "ListItemViewed": "SharePoint",
    "SearchQueryPerformed": "SharePoint",
    "SharingSet": "SharePointSharingOperation",
    "CompanyLinkCreated": "SharePointSharingOperation",
    "SharingInvitationCreated": "SharePointSharingOperation",
    "AnonymousLinkCreated": "SharePointSharingOperation",
}
SITES: tuple[str, ...] = ("Engineering", "Sales", "Finance", "Operations", "HR", "Intranet")
FILES: tuple[str, ...] = (
    "Q1 forecast.xlsx",
    "Board deck March.pptx",
    "Onboarding checklist.docx",
    "Invoice 2026-0311.pdf",
    "Architecture overview.vsdx",
    "Team roster.xlsx",
    "Meeting notes.docx",
    "Budget 2026.xlsx",
    "Product brochure.pdf",
    "Runbook - deployments.docx",
    "Customer list EMEA.xlsx",
    "Travel policy.pdf",
)
FOLDERS: tuple[str, ...] = (
    "Shared Documents/General",
    "Shared Documents/Reports",
    "Shared Documents",
)
SEARCHES: tuple[str, ...] = ("travel policy", "q1 forecast", "holiday calendar", "expense form")
SUBJECTS: tuple[str, ...] = (
    "Re: Q1 planning",
    "Weekly status",
    "Invoice 2026-0311",
    "Lunch on Friday?",
    "RE: Customer escalation",
    "Notes from today's call",
    "FW: Updated travel policy",
)
MAIL_FOLDERS: tuple[str, ...] = ("\\Inbox", "\\Inbox", "\\Inbox", "\\Sent Items", "\\Archive")
TEAMS: tuple[str, ...] = ("Contoso All Company", "Engineering", "Sales EMEA", "Finance", "Support")
#: Inbox rules people make: (name, condition parameter, condition value, target folder).
INBOX_RULES: tuple[tuple[str, str, str, str], ...] = (
    ("Newsletters", "SubjectContainsWords", "Newsletter;Weekly digest", "Newsletters"),
    ("Industry news", "From", "newsletter@industryweekly.example", "Newsletters"),
    ("Webinars", "SubjectContainsWords", "Webinar;Register now", "Newsletters"),
    ("Product updates", "From", "updates@saas-vendor.example", "Vendor updates"),
)
PARTNER_GUESTS: tuple[str, ...] = ("j.doe@fabrikam.com", "m.rossi@adatum.com")
ROOM_MAILBOXES: tuple[str, ...] = ("room-ams-boardroom", "room-ams-4.12", "room-bos-harbor")
ONEDRIVE_SYNC_APP = "ab9b8c07-8f02-4f72-87fa-80105867a763"


def _puid(alias: str) -> str:
    return "10032" + stable_hex(11, "puid", alias).upper()


def _sid(alias: str) -> str:
    rid = int(stable_hex(6, "sid", alias), 16) % 900_000 + 100_000
    return f"S-1-5-21-3207187427-1847651021-2612431780-{rid}"


def _server(country: str, rng: random.Random) -> str:
    prefix = "BL1PR12MB" if country == "US" else "AM6PR04MB"
    return f"{prefix}{rng.randint(1000, 9999)} (15.20.7472.027)"


def _common(
    moment: dt.datetime,
    record: str,
    operation: str,
    workload: str,
    user_id: str,
    user_key: str,
    user_type: str = "Regular",
) -> Row:
    return {
        "TimeGenerated": moment,
        "OfficeId": "",
        "RecordType": record,
        "Operation": operation,
        "OfficeWorkload": workload,
        "UserId": user_id,
        "UserKey": user_key,
        "UserType": user_type,
        "OrganizationId": TENANT_ID,
        "OfficeTenantId": TENANT_ID,
        "OrganizationName": ORGANIZATION,
    }


# --------------------------------------------------------------------------------------
# Exchange
# --------------------------------------------------------------------------------------


def _mail_client(rng: random.Random, profile: Profile) -> tuple[str, str, str]:
    """(client app id, ClientInfoString, user agent) of the mail client used."""
    roll = rng.random()
    if roll < 0.15 and profile.mobile_os:
        agent = _user_agent(profile, OUTLOOK_MOBILE, "mobile", 122)
        return OUTLOOK_MOBILE.app_id, f"Client=OutlookService;{agent.split(' ')[-1]};", agent
    if roll < 0.5:
        agent = _browser_agent(profile, 123)
        return OUTLOOK_WEB.app_id, f"Client=OWA;Action=ViaProxy;{agent}", agent
    agent = _user_agent(profile, OFFICE_CLIENT, "laptop", 123)
    return OFFICE_CLIENT.app_id, "Client=MSExchangeRPC", agent


def _message_id(rng: random.Random, country: str) -> str:
    host = "namprd12" if country == "US" else "eurprd04"
    return f"<{hex_string(rng, 24).upper()}@{host}.prod.outlook.com>"


def _mailbox_row(
    rng: random.Random,
    presence: Presence,
    moment: dt.datetime,
    operation: str,
    owner: str | None = None,
) -> Row:
    """A mailbox audit record of the person's own mailbox (or *owner*'s)."""
    profile = presence.profile
    alias = profile.alias
    upn = profile.person.upn
    mailbox = owner or upn
    app_id, info, _ = _mail_client(rng, profile)
    record = RECORD_TYPES.get(operation, "ExchangeItem")
    row = _common(moment, record, operation, "Exchange", upn, _puid(alias))
    row.update(
        {
            "ClientIP": presence.network.ip,
            "Client_IPAddress": presence.network.ip,
            "ClientInfoString": info,
            "ClientAppId": app_id,
            "AppId": app_id,
            "ResultStatus": "Succeeded",
            "ExternalAccess": "false",
            "InternalLogonType": 0,
            "Logon_Type": "0" if mailbox == upn else "1",
            "MailboxOwnerUPN": mailbox,
            "MailboxGuid": _named_guid("mailbox", mailbox),
            "MailboxOwnerSid": _sid(mailbox.split("@")[0]),
            "LogonUserSid": _sid(alias),
            "OriginatingServer": _server(profile.person.country, rng),
        }
    )
    row.update(_mailbox_detail(rng, profile, operation))
    return row


def _mailbox_detail(rng: random.Random, profile: Profile, operation: str) -> Row:
    """The operation-specific columns: folders, items, access type."""
    country = profile.person.country
    folder = {"Id": "LgAAAA" + hex_string(rng, 36), "Path": rng.choice(MAIL_FOLDERS)}
    if operation == "MailItemsAccessed":
        items = [{"InternetMessageId": _message_id(rng, country)} for _ in range(rng.randint(1, 6))]
        access = "Sync" if rng.random() < 0.2 else "Bind"
        return {
            "Folders": json.dumps([{**folder, "FolderItems": items}]),
            "OperationProperties": [
                {"Name": "MailAccessType", "Value": access},
                {"Name": "IsThrottled", "Value": "False"},
            ],
        }
    item = {
        "Id": "RgAAAA" + hex_string(rng, 40),
        "InternetMessageId": _message_id(rng, country),
        "Subject": rng.choice(SUBJECTS),
        "SizeInBytes": rng.randint(8_000, 900_000),
    }
    if operation in ("Send", "SendAs"):
        sent = {"Id": "LgAAAA" + hex_string(rng, 36), "Path": "\\Sent Items"}
        return {"Item": json.dumps({**item, "ParentFolder": sent})}
    if operation in ("Update", "Create"):
        path = "\\Calendar" if operation == "Create" else folder["Path"]
        return {"Item": json.dumps({**item, "ParentFolder": {**folder, "Path": path}})}
    detail: Row = {
        "Folder": json.dumps(folder),
        "AffectedItems": json.dumps(
            [
                {
                    "Id": item["Id"],
                    "InternetMessageId": item["InternetMessageId"],
                    "Subject": item["Subject"],
                    "ParentFolder": folder,
                }
            ]
        ),
        "CrossMailboxOperations": False,
    }
    if operation == "MoveToDeletedItems":
        deleted = {"Id": "LgAAAA" + hex_string(rng, 36), "Path": "\\Deleted Items"}
        detail["DestFolder"] = json.dumps(deleted)
    return detail


def _cmdlet_row(
    rng: random.Random,
    presence: Presence,
    moment: dt.datetime,
    cmdlet: str,
    object_id: str,
    parameters: list[tuple[str, str]],
    user_type: str,
) -> Row:
    """An Exchange cmdlet run by a user (inbox rules) or an admin (permissions)."""
    profile = presence.profile
    row = _common(
        moment,
        "ExchangeAdmin",
        cmdlet,
        "Exchange",
        profile.person.upn,
        _puid(profile.alias),
        user_type,
    )
    row.update(
        {
            "ClientIP": f"{presence.network.ip}:{rng.randint(1024, 65535)}",
            "ResultStatus": "True",
            "ExternalAccess": "false",
            "OfficeObjectId": object_id,
            "Parameters": json.dumps([{"Name": k, "Value": v} for k, v in parameters]),
            "OriginatingServer": _server(profile.person.country, rng),
        }
    )
    return row


def _inbox_rules(rng: random.Random, plan: DayPlan) -> list[Row]:
    """One or two people file newsletters into a folder with a new inbox rule (OWA)."""
    rows = []
    for alias in rng.sample(sorted(plan.present), min(len(plan.present), rng.randint(1, 2))):
        presence = plan.present[alias]
        name, condition, value, folder = rng.choice(INBOX_RULES)
        display = presence.profile.person.display_name
        object_id = (
            f"EURPR04A002.prod.outlook.com/Microsoft Exchange Hosted Organizations/"
            f"{ORGANIZATION}/{display}\\{name}"
        )
        rows.append(
            _cmdlet_row(
                rng,
                presence,
                presence.moment(rng),
                "New-InboxRule",
                object_id,
                [
                    ("AlwaysDeleteOutlookRulesBlob", "False"),
                    ("Force", "False"),
                    ("Name", name),
                    (condition, value),
                    ("MoveToFolder", folder),
                    ("StopProcessingRules", "True"),
                ],
                "Regular",
            )
        )
    return rows


def _finance_clerks(plan: DayPlan) -> list[str]:
    return [a for a, p in plan.present.items() if p.profile.person.department == "Finance"]


def _shared_mailbox(ctx: SimContext, rng: random.Random, plan: DayPlan, day: int) -> list[Row]:
    """The invoices mailbox: an admin grants a clerk FullAccess on the first day, clerks
    send as it, and an admin tunes a meeting room now and then."""
    rows = []
    clerks = _finance_clerks(plan)
    admin = plan.present.get("alice.smith")
    if admin is not None and day == 0 and clerks:
        clerk = plan.present[rng.choice(clerks)].profile.person.upn
        rows.append(
            _cmdlet_row(
                rng,
                admin,
                admin.moment(rng),
                "Add-MailboxPermission",
                "invoices",
                [
                    ("Identity", "invoices"),
                    ("User", clerk),
                    ("AccessRights", "FullAccess"),
                    ("InheritanceType", "All"),
                    ("AutoMapping", "True"),
                ],
                "Admin",
            )
        )
    if admin is not None and not ctx.is_weekend(day) and rng.random() < 0.3:
        room = rng.choice(ROOM_MAILBOXES)
        rows.append(
            _cmdlet_row(
                rng,
                admin,
                admin.moment(rng),
                "Set-CalendarProcessing",
                room,
                [
                    ("Identity", room),
                    ("AutomateProcessing", "AutoAccept"),
                    ("BookingWindowInDays", "180"),
                ],
                "Admin",
            )
        )
    for alias in clerks[: rng.randint(0, 3)]:
        presence = plan.present[alias]
        row = _mailbox_row(rng, presence, presence.moment(rng), "SendAs", INVOICES)
        row.update(
            {"SendAsUserSmtp": INVOICES, "SendAsUserMailboxGuid": _named_guid("mailbox", INVOICES)}
        )
        rows.append(row)
    return rows


def _invoice_processor(ctx: SimContext, rng: random.Random, day: int) -> list[Row]:
    """invoice-processor reads the invoices mailbox app-only, batch by batch."""
    app = application("invoice-processor")
    ip = SP_NETWORKS[app.name][0]
    rows = []
    for token in _sp_tokens(ctx, day):
        if token.app is not app or token.resource != GRAPH_RESOURCE or token.result != "0":
            continue
        count = _invoice_batch(ctx, token)
        if not count:
            continue
        moment = token.time + rng.uniform(1, 4) * SECOND
        row = _common(
            moment,
            "ExchangeItemAggregated",
            "MailItemsAccessed",
            "Exchange",
            INVOICES,
            app.object_id,
            "Application",
        )
        items = [{"InternetMessageId": _message_id(rng, "NL")} for _ in range(count)]
        row.update(
            {
                "ClientIP": ip,
                "Client_IPAddress": ip,
                "ClientAppId": app.app_id,
                "AppId": app.app_id,
                "ClientInfoString": "Client=REST;Client=RESTSystem;;",
                "ResultStatus": "Succeeded",
                "ExternalAccess": "false",
                "InternalLogonType": 0,
                "Logon_Type": "0",
                "MailboxOwnerUPN": INVOICES,
                "MailboxGuid": _named_guid("mailbox", INVOICES),
                "Folders": json.dumps(
                    [
                        {
                            "Id": "LgAAAA" + hex_string(rng, 36),
                            "Path": "\\Inbox",
                            "FolderItems": items,
                        }
                    ]
                ),
                "OperationProperties": [
                    {"Name": "MailAccessType", "Value": "Bind"},
                    {"Name": "IsThrottled", "Value": "False"},
                ],
                "OriginatingServer": _server("NL", rng),
            }
        )
        rows.append(row)
    return rows


def _mail_after_device_code(rng: random.Random, plan: DayPlan) -> list[Row]:
    """After signing a room device in with a device code, the person sends mail."""
    rows = []
    for signin in plan.signins:
        if signin.protocol == "deviceCode" and signin.result == "0":
            moment = signin.time + rng.uniform(4, 30) * MINUTE
            rows.append(_mailbox_row(rng, signin.presence, moment, "Send"))
    return rows


# --------------------------------------------------------------------------------------
# SharePoint and OneDrive
# --------------------------------------------------------------------------------------


def _file_location(rng: random.Random, profile: Profile, operation: str) -> tuple[str, str, str]:
    """(workload, site URL, folder) of a file: the person's OneDrive or a team site."""
    site_only = operation in ("PageViewed", "ListItemViewed", "SearchQueryPerformed")
    onedrive = operation.startswith("FileSync") or (not site_only and rng.random() < 0.45)
    if onedrive:
        owner = profile.person.upn.replace(".", "_").replace("@", "_")
        return "OneDrive", f"{ONEDRIVE}/personal/{owner}/", "Documents"
    site = rng.choice(SITES)
    return "SharePoint", f"{SHAREPOINT}/sites/{site}/", rng.choice(FOLDERS)


def _sharepoint_agent(rng: random.Random, profile: Profile, operation: str) -> tuple[str, str]:
    """(user agent, application id) of the client touching the file."""
    if operation.startswith("FileSync"):
        return (
            "Microsoft SkyDriveSync 24.020.0128.0003 ship; Windows NT 10.0 (22631)",
            ONEDRIVE_SYNC_APP,
        )
    if operation == "FileModified" and rng.random() < 0.5 and profile.os == "Windows10":
        return (
            "Microsoft Office Excel 2014 (16.0.17328.20162) Windows NT 10.0",
            OFFICE_CLIENT.app_id,
        )
    return _browser_agent(profile, 123), "00000003-0000-0ff1-ce00-000000000000"


def _sharepoint_row(
    rng: random.Random,
    presence: Presence,
    moment: dt.datetime,
    operation: str,
    workload: str | None = None,
) -> Row:
    profile = presence.profile
    kind, site, folder = _file_location(rng, profile, operation)
    name = rng.choice(FILES)
    agent, app_id = _sharepoint_agent(rng, profile, operation)
    row = _common(
        moment,
        RECORD_TYPES.get(operation, "SharePointFileOperation"),
        operation,
        workload or kind,
        profile.person.upn,
        f"i:0h.f|membership|{_puid(profile.alias).lower()}@live.com",
    )
    row.update(
        {
            "ClientIP": presence.network.ip,
            "UserAgent": agent,
            "ApplicationId": app_id,
            "EventSource": "SharePoint",
            "ItemType": "File",
            "Site_Url": site,
            "Site_": _named_guid("site", site),
            "SourceRelativeUrl": folder,
            "SourceFileName": name,
            "SourceFileExtension": name.rsplit(".", 1)[1],
            "OfficeObjectId": f"{site}{folder}/{name}",
            "IsManagedDevice": profile.managed,
        }
    )
    if operation == "PageViewed":
        row.update(
            {
                "ItemType": "Page",
                "SourceFileName": "Home.aspx",
                "SourceFileExtension": "aspx",
                "SourceRelativeUrl": "SitePages",
                "OfficeObjectId": f"{site}SitePages/Home.aspx",
            }
        )
    elif operation == "ListItemViewed":
        item = f"{rng.randint(1, 400)}_.000"
        row.update(
            {
                "ItemType": "ListItem",
                "SourceRelativeUrl": "Lists/Requests",
                "SourceFileName": item,
                "SourceFileExtension": "000",
                "OfficeObjectId": f"{site}Lists/Requests/{item}",
            }
        )
    elif operation == "SearchQueryPerformed":
        for column in ("SourceFileName", "SourceFileExtension", "SourceRelativeUrl"):
            row.pop(column)
        row.update(
            {
                "ItemType": "Search",
                "OfficeObjectId": site,
                "ModifiedProperties": json.dumps({"QueryText": rng.choice(SEARCHES)}),
            }
        )
    elif operation in ("SharingSet", "SharingInvitationCreated", "CompanyLinkCreated"):
        row.update(_sharing(rng, operation))
    return row


def _sharing(rng: random.Random, operation: str) -> Row:
    """Who a file was shared with: a colleague, the company, or sometimes a partner."""
    if operation == "CompanyLinkCreated":
        return {
            "TargetUserOrGroupType": "SharingLink",
            "TargetUserOrGroupName": "SharingLinks.Organization.View",
            "SharingType": "Organization",
        }
    if operation == "SharingInvitationCreated" and rng.random() < 0.4:
        guest = rng.choice(PARTNER_GUESTS)
        return {
            "TargetUserOrGroupType": "Guest",
            "TargetUserOrGroupName": guest,
            "UserSharedWith": guest,
        }
    colleague = rng.choice(PEOPLE).upn
    return {
        "TargetUserOrGroupType": "Member",
        "TargetUserOrGroupName": colleague,
        "UserSharedWith": colleague,
    }


def _press_kit(ctx: SimContext, rng: random.Random, plan: DayPlan, day: int) -> list[Row]:
    """Now and then Marketing shares the press kit with an anyone-link."""
    marketing = [a for a, p in plan.present.items() if p.profile.person.department == "Marketing"]
    if ctx.is_weekend(day) or not marketing or rng.random() > 0.3:
        return []
    presence = plan.present[rng.choice(marketing)]
    row = _sharepoint_row(rng, presence, presence.moment(rng), "AnonymousLinkCreated", "SharePoint")
    site = f"{SHAREPOINT}/sites/Marketing/"
    row.update(
        {
            "Site_Url": site,
            "Site_": _named_guid("site", site),
            "SourceRelativeUrl": "Shared Documents/Press kit",
            "SourceFileName": "Press kit 2026.zip",
            "SourceFileExtension": "zip",
            "OfficeObjectId": f"{site}Shared Documents/Press kit/Press kit 2026.zip",
            "TargetUserOrGroupType": "SharingLink",
            "TargetUserOrGroupName": "SharingLinks.Anonymous.View",
            "SharingType": "Anyone",
        }
    )
    return [row]


# --------------------------------------------------------------------------------------
# Teams
# --------------------------------------------------------------------------------------


def _teams_row(rng: random.Random, presence: Presence, moment: dt.datetime, operation: str) -> Row:
    person = presence.profile.person
    row = _common(
        moment, "MicrosoftTeams", operation, "MicrosoftTeams", person.upn, person.object_id
    )
    row["ClientIP"] = presence.network.ip
    team = rng.choice(TEAMS)
    if operation == "TeamsSessionStarted":
        os_name = "Windows" if presence.profile.os == "Windows10" else presence.profile.os
        row["ExtraProperties"] = [
            {"Key": "OsName", "Value": os_name},
            {"Key": "ClientType", "Value": "Desktop"},
        ]
    elif operation == "MeetingDetail":
        row.update(
            {
                "ChatThreadId": f"19:meeting_{hex_string(rng, 32)}@thread.v2",
                "ItemName": rng.choice(("Weekly sync", "1:1", "Sprint review", "All hands")),
                "CommunicationType": "GroupChat",
            }
        )
    else:
        colleague = rng.choice(PEOPLE)
        row.update(
            {
                "TeamName": team,
                "TeamGuid": f"19:{stable_hex(32, 'team', team)}@thread.tacv2",
                "AADGroupId": _named_guid("group", team),
            }
        )
        if operation == "MemberAdded":
            row["Members"] = [
                {"DisplayName": colleague.display_name, "Role": 1, "UPN": colleague.upn}
            ]
        elif operation == "ChannelAdded":
            row.update(
                {
                    "ChannelName": rng.choice(("Release planning", "Q2 launch")),
                    "ChannelType": "Standard",
                }
            )
        else:
            row.update({"AddonName": "Planner", "AddOnGuid": _named_guid("teams-app", "Planner")})
    return row


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def _person_activity(ctx: SimContext, rng: random.Random, plan: DayPlan, day: int) -> list[Row]:
    """Everyone's mail, files and Teams during their working span, from their IP."""
    workloads = [(w, o) for w, o, _ in OPERATIONS]
    weights = [w for _, _, w in OPERATIONS]
    rows = []
    for presence in plan.present.values():
        count = rng.randint(1, 6) if ctx.is_weekend(day) else rng.randint(17, 26)
        for workload, operation in rng.choices(workloads, weights=weights, k=count):
            moment = presence.moment(rng)
            if workload == "Exchange":
                rows.append(_mailbox_row(rng, presence, moment, operation))
            elif workload == "SharePoint":
                rows.append(_sharepoint_row(rng, presence, moment, operation))
            else:
                rows.append(_teams_row(rng, presence, moment, operation))
    return rows


def generate(ctx: SimContext) -> dict[str, list[Row]]:
    """Benign rows for OfficeActivity."""
    rows: list[Row] = []
    for day in ctx.day_range():
        plan = _day_plan(ctx, day)
        rng = ctx.rng("office", "activity", day)
        day_rows = _person_activity(ctx, rng, plan, day)
        if not ctx.is_weekend(day):
            day_rows += _inbox_rules(rng, plan)
        day_rows += _shared_mailbox(ctx, rng, plan, day)
        day_rows += _invoice_processor(ctx, rng, day)
        day_rows += _mail_after_device_code(rng, plan)
        day_rows += _press_kit(ctx, rng, plan, day)
        for row in day_rows:
            row["OfficeId"] = guid(rng)
        rows += [row for row in day_rows if row["TimeGenerated"] < ctx.end]
    return {"OfficeActivity": rows}
