"""Device-code phishing: a token for the victim used to search and send mail."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import entra, graph, office
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.base import Stages, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.cloud.common import (
    BROKER,
    PYTHON_REQUESTS,
    Attack,
    Infra,
    Login,
    Row,
    graph_call,
    person_profile,
    sign_in,
    token_of,
    user_caller,
)

#: Whose account the intrusion starts from.
VICTIM = "anna.vos"
DEVICE_CODE_INFRA = Infra(
    "203.0.113.88", "9009", entra.Place("Manchester", "England", "GB", 53.4808, -2.2426)
)


# --------------------------------------------------------------------------------------
# 4. Device-code phishing, then mail searched and sent
# --------------------------------------------------------------------------------------

_SEARCHES = ("password", "invoice", "wire transfer", "vpn")
_LURES = (
    "Teams meeting: Q1 close review",
    "Updated payment details - action required",
    "Teams meeting: vendor onboarding",
)


@scenario(
    "device_code_phishing",
    "cloud",
    ("device_code", "mailbox_search", "internal_phish"),
)
def device_code_phishing(ctx: SimContext) -> Stages:
    """A finance clerk enters an attacker's device code on the real Microsoft page; the
    attacker redeems the token on its own server, searches her mailbox through Graph for
    credentials and payments, and sends new lures to colleagues from her account."""
    start = incident_start(ctx, "device_code_phishing", (9, 15))
    a = Attack(ctx, "device_code_phishing", start)
    anna = env.person(VICTIM)
    profile = person_profile(ctx, anna)
    network = _victim_network(ctx, profile, start)
    login = Login(BROKER, entra.GRAPH_RESOURCE, protocol="deviceCode", mfa=True)
    signin = sign_in(a, profile, network, login)
    signin["UserAgent"] = entra._browser_agent(profile, 123)
    a.add("device_code", "SigninLogs", signin)
    caller = user_caller(
        anna, BROKER.app_id, DEVICE_CODE_INFRA.ip, PYTHON_REQUESTS, token_of(signin)
    )
    caller = replace(caller, scopes=graph.OUTLOOK_SCOPES)
    mailbox = entra.Presence(
        profile, DEVICE_CODE_INFRA.network, start, start + dt.timedelta(hours=2)
    )
    a.wait(90, 360)
    for term in _SEARCHES:
        path = (
            f'/v1.0/me/messages?$search="{term}"&$top=50&$select=subject,from,receivedDateTime,body'
        )
        a.add("mailbox_search", "MicrosoftGraphActivityLogs", graph_call(a, caller, "GET", path))
        a.wait(1, 4)
        a.add("mailbox_search", "OfficeActivity", _mail_record(a, mailbox, "MailItemsAccessed"))
        a.wait(20, 90)
    a.wait(300, 900)
    for subject in _LURES:
        a.add(
            "internal_phish",
            "MicrosoftGraphActivityLogs",
            graph_call(a, caller, "POST", "/v1.0/me/sendMail", (202, 0)),
        )
        a.wait(1, 3)
        a.add("internal_phish", "OfficeActivity", _mail_record(a, mailbox, "Send", subject))
        a.wait(30, 120)
    return a.stages


def _victim_network(ctx: SimContext, profile: entra.Profile, moment: dt.datetime) -> entra.Network:
    """Where the victim works that day (her home connection if she is not working)."""
    day = (moment - ctx.start).days
    presence = entra._day_plan(ctx, day).present.get(profile.alias)
    if presence is not None:
        return presence.network
    home = ctx.rng("entra", "home-ip", profile.alias, day // 7)
    return entra.Network(entra._ip(home, profile.isp), profile.isp[0], profile.home, "home")


def _mail_record(
    a: Attack, presence: entra.Presence, operation: str, subject: str | None = None
) -> Row:
    """A mailbox audit record of a Graph (REST) client acting with the stolen token."""
    row = office._mailbox_row(a.rng, presence, a.now, operation)
    row.update(
        {
            "ClientIP": presence.network.ip,
            "Client_IPAddress": presence.network.ip,
            "ClientInfoString": "Client=REST;Client=RESTSystem;;",
            "ClientAppId": BROKER.app_id,
            "AppId": BROKER.app_id,
            "OfficeId": a.guid(),
        }
    )
    if operation == "MailItemsAccessed":
        row["OperationProperties"] = [
            {"Name": "MailAccessType", "Value": "Bind"},
            {"Name": "IsThrottled", "Value": "False"},
        ]
    if subject is not None:
        item = json.loads(row["Item"])
        item["Subject"] = subject
        row["Item"] = json.dumps(item)
    return row
