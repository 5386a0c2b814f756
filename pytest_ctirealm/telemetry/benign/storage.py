"""Benign StorageBlobLogs: the data plane of Contoso's three storage accounts.

stcontosoprod serves the web tier's image uploads (OAuth through the VMs' managed identity,
and user-delegation SAS links opened by customers' browsers) and the API's documents
(OAuth through the AKS workload identity). At 01:30 the backup job, with service SAS signed
by the keys it has just listed, uploads the database dump to stcontosobackup, reads the
day's uploads in bulk and archives them; a legacy Function App checks the backups every half
hour with the account key. Azure Monitor appends diagnostic logs to stcontosologs. CI runs
upload release artifacts with AzCopy; admins browse with Storage Explorer and the portal.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, replace
from typing import Any

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign.azure_activity import (
    _BACKUP_START,
    _FUNCTION_IPS,
    _arm_id,
    _ci_deploys,
)
from pytest_ctirealm.telemetry.context import SimContext, daily_rows, guid, hex_string

_TABLE = "StorageBlobLogs"
_STREAM = "storage"
_PROD_ACCOUNT, _BACKUP_ACCOUNT, _LOGS_ACCOUNT = env.STORAGE_ACCOUNTS
_MIB = 1024 * 1024

# --- Operations ------------------------------------------------------------------------

#: Operation -> (Category, success status, query the REST call carries).
_OPERATIONS: dict[str, tuple[str, int, str]] = {
    "GetBlob": ("StorageRead", 200, ""),
    "GetBlobProperties": ("StorageRead", 200, ""),
    "GetBlobMetadata": ("StorageRead", 200, "comp=metadata"),
    "ListBlobs": ("StorageRead", 200, "restype=container&comp=list"),
    "ListContainers": ("StorageRead", 200, "comp=list&maxresults=5000&include="),
    "GetContainerProperties": ("StorageRead", 200, "restype=container"),
    "GetBlobServiceProperties": ("StorageRead", 200, "restype=service&comp=properties"),
    "GetUserDelegationKey": ("StorageRead", 200, "restype=service&comp=userdelegationkey"),
    "PutBlob": ("StorageWrite", 201, ""),
    "PutBlock": ("StorageWrite", 201, "comp=block"),
    "PutBlockList": ("StorageWrite", 201, "comp=blocklist"),
    "AppendBlock": ("StorageWrite", 201, "comp=appendblock"),
    "SetBlobMetadata": ("StorageWrite", 200, "comp=metadata"),
    "SetBlobTier": ("StorageWrite", 200, "comp=tier"),
    "CopyBlob": ("StorageWrite", 202, ""),
    "CopyBlobSource": ("StorageWrite", 202, ""),
    "CreateContainer": ("StorageWrite", 201, "restype=container"),
    "DeleteBlob": ("StorageDelete", 202, ""),
}
#: Operations that name a blob (the others name a container or the account).
_BLOB_LEVEL = frozenset(
    {
        "GetBlob",
        "GetBlobProperties",
        "GetBlobMetadata",
        "PutBlob",
        "PutBlock",
        "PutBlockList",
        "AppendBlock",
        "SetBlobMetadata",
        "SetBlobTier",
        "CopyBlob",
        "CopyBlobSource",
        "DeleteBlob",
    }
)
_STATUS_TEXT = {
    304: "ClientOtherError",
    403: "AuthorizationError",
    404: "ClientOtherError",
    409: "ClientOtherError",
    412: "ClientOtherError",
}
_DATA_ACTIONS = {
    "StorageRead": "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
    "StorageWrite": "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
    "StorageDelete": "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
}
_ROLE_FOR = {
    "StorageRead": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",  # Storage Blob Data Reader
    "StorageWrite": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",  # Storage Blob Data Contributor
    "StorageDelete": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
}

# --- Clients ---------------------------------------------------------------------------

_PYTHON_UA = (
    "azsdk-python-storage-blob/12.19.1 Python/3.10.12 "
    "(Linux-5.15.0-1061-azure-x86_64-with-glibc2.35)"
)
_JAVA_UA = "azsdk-java-azure-storage-blob/12.25.1 (17.0.10; Linux; 5.15.0-1061-azure)"
_DOTNET_UA = "azsdk-net-Storage.Blobs/12.19.1 (.NET 8.0.8; Microsoft Windows 10.0.20348)"
_AZCOPY_UA = "AzCopy/10.26.0 Azure-Storage/0.1 (go1.22.5; linux)"
_TERRAFORM_UA = (
    "Go/go1.22.1 (amd64-linux) go-autorest/v14.2.1 tombuildsstuff/giovanni/v0.27.0 "
    "terraform-provider-azurerm/v3.96.0"
)
_EXPLORER_UA = (
    "Microsoft Azure Storage Explorer, 1.35.0, win32, azsdk-js-storageblob/12.17.0 "
    "(NODE-VERSION v18.18.2; Windows_NT 10.0.22631)"
)
_BROWSER_UAS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.3 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
)
#: First two octets of consumer ISP ranges that the web shop's customers come from.
_CUSTOMER_PREFIXES = ("84.241", "145.53", "77.162", "86.81", "92.109", "73.15", "24.4", "81.204")
#: Azure Monitor's outbound addresses when it archives diagnostic logs.
_MONITOR_IPS = ("20.50.65.82", "20.61.97.128")


@dataclass(frozen=True)
class _Client:
    """Who sends the requests and how: identity, authentication, origin, user agent."""

    auth: str  # "OAuth", "SAS" or "AccountKey"
    ip: str
    agent: str | None
    version: str = "2023-11-03"
    object_id: str | None = None
    app_id: str | None = None
    upn: str | None = None
    principal_type: str = "ServicePrincipal"
    sas: str | None = None  # the SAS query string, signature redacted
    sas_hash: str | None = None
    referrer: str | None = None


def _app_client(name: str, ip: str, agent: str, version: str = "2023-11-03") -> _Client:
    app = env.application(name)
    return _Client("OAuth", ip, agent, version, app.object_id, app.app_id)


def _account_key(account: str) -> str:
    return f"key1({env.stable_hex(64, 'storage-key1', account).upper()})"


# --- Rows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    """One REST request: operation, account, the path under it, its outcome and sizes."""

    operation: str
    account: str
    path: str = ""  # "container" or "container/blob/name"
    status: int = 0  # 0: the operation's success status
    size: int = 0  # bytes moved (body sent or received)
    query: str = ""
    source: str | None = None  # CopyBlob: the source URI


def _request_id(rng: random.Random) -> str:
    """x-ms-request-id as Azure Storage forms it (it ends in six zeros)."""
    return (
        f"{hex_string(rng, 8)}-{hex_string(rng, 4)}-00{hex_string(rng, 2)}-"
        f"{hex_string(rng, 4)}-{hex_string(rng, 6)}000000"
    )


def _row(
    rng: random.Random,
    when: dt.datetime,
    client: _Client,
    request: _Request,
    correlation: str | None = None,
) -> dict[str, Any]:
    """One StorageBlobLogs row."""
    category, success, fixed_query = _OPERATIONS[request.operation]
    status = request.status or success
    queries = [part for part in (fixed_query, request.query, client.sas) if part]
    uri = f"https://{request.account}.blob.core.windows.net:443/{request.path}"
    if queries:
        uri += "?" + "&".join(queries)
    ok = status < 300
    sas = client.auth == "SAS"
    status_text = ("SASSuccess" if sas else "Success") if ok else _STATUS_TEXT[status]
    if sas and not ok:
        status_text = "SAS" + status_text
    server = rng.uniform(2, 18) + request.size / (220 * _MIB) * 1000
    windows = "Windows" in (client.agent or "")
    port = rng.randint(49152, 65535) if windows else rng.randint(32768, 60999)
    subscription = env.SUBSCRIPTIONS["prod"]
    account_id = _arm_id(request.account, "Microsoft.Storage/storageAccounts")
    row: dict[str, Any] = {
        "TimeGenerated": when,
        "AccountName": request.account,
        "Location": env.LOCATION,
        "Protocol": "HTTPS",
        "OperationName": request.operation,
        "OperationVersion": client.version,
        "SchemaVersion": "1.0",
        "ServiceType": "blob",
        "Category": category,
        "StatusCode": str(status),
        "StatusText": status_text,
        "MetricResponseType": "Success" if ok else _STATUS_TEXT[status],
        "DurationMs": round(server + rng.uniform(0.5, 4) + request.size / (60 * _MIB) * 1000, 1),
        "ServerLatencyMs": round(server, 1),
        "CallerIpAddress": f"{client.ip}:{port}",
        "CorrelationId": correlation or _request_id(rng),
        "ClientRequestId": guid(rng),
        "AuthenticationType": client.auth,
        "Uri": uri,
        "ObjectKey": f"/{request.account}/{request.path}".rstrip("/"),
        "RequestHeaderSize": rng.randint(480, 1400),
        "ResponseHeaderSize": rng.randint(190, 520),
        "TlsVersion": "TLS 1.2",
        "OperationCount": 0,
        "_ResourceId": f"{account_id}/blobServices/default".lower(),
        "_SubscriptionId": subscription,
    }
    if client.agent:
        row["UserAgentHeader"] = client.agent
    if client.referrer:
        row["ReferrerHeader"] = client.referrer
    if category == "StorageRead":
        if ok and request.size:
            row["ResponseBodySize"] = request.size
    elif request.size:
        row["RequestBodySize"] = request.size
        row["ContentLengthHeader"] = request.size
    if request.source:
        row["SourceUri"] = request.source
    if ok and request.operation in _BLOB_LEVEL and request.operation != "DeleteBlob":
        modified = (
            when - dt.timedelta(seconds=rng.uniform(0, 86_400 * 20))
            if category == "StorageRead"
            else when
        )
        row["LastModifiedTime"] = modified.replace(microsecond=0)
        row["Etag"] = f'"0x8DC{hex_string(rng, 13).upper()}"'
        if request.operation in ("GetBlob", "GetBlobProperties"):
            row["AccessTier"] = "Cool" if request.account == _BACKUP_ACCOUNT else "Hot"
    row.update(_identity_columns(client, request, category))
    return row


def _identity_columns(client: _Client, request: _Request, category: str) -> dict[str, Any]:
    """Who the service authenticated: a token's principal, a key hash or a SAS hash."""
    if client.auth == "AccountKey":
        return {"AuthenticationHash": _account_key(request.account)}
    columns: dict[str, Any] = {}
    if client.auth == "SAS":
        columns["AuthenticationHash"] = client.sas_hash
    if client.object_id:
        columns.update(
            {
                "RequesterObjectId": client.object_id,
                "RequesterTenantId": env.TENANT_ID,
            }
        )
    if client.auth != "OAuth" or not client.object_id:
        return columns
    denied = request.status == 403
    columns.update(
        {
            "RequesterAppId": client.app_id,
            "RequesterAudience": "https://storage.azure.com/",
            "RequesterTokenIssuer": f"https://sts.windows.net/{env.TENANT_ID}/",
            "AuthorizationDetails": [
                {
                    "action": _DATA_ACTIONS[category],
                    "roleAssignmentId": ""
                    if denied
                    else env.stable_guid("storage-ra", client.object_id, request.account),
                    "roleDefinitionId": "" if denied else _ROLE_FOR[category],
                    "principals": [{"id": client.object_id, "type": client.principal_type}],
                    "denyAssignmentId": "",
                    "type": "RBAC",
                    "result": "Denied" if denied else "Granted",
                }
            ],
        }
    )
    if client.upn:
        columns["RequesterUpn"] = client.upn
    return columns


def _burst(
    rng: random.Random,
    when: dt.datetime,
    client: _Client,
    requests: list[_Request],
    gap: tuple[float, float] = (0.02, 0.6),
) -> list[dict[str, Any]]:
    """Requests sent one after another by one client, *gap* seconds apart."""
    rows = []
    for request in requests:
        rows.append(_row(rng, when, client, request))
        when += dt.timedelta(seconds=rng.uniform(*gap))
    return rows


def _image_size(rng: random.Random) -> int:
    """Images: 50 KB to 5 MB, most near 400 KB."""
    return int(min(5 * _MIB, max(50_000, rng.lognormvariate(12.9, 0.8))))


def _blocks(size: int, block: int = 8 * _MIB) -> list[int]:
    """The block sizes of an upload split into *block*-byte blocks."""
    full, rest = divmod(size, block)
    return [block] * full + ([rest] if rest else [])


def _upload_blob(account: str, path: str, size: int, *, check: bool = False) -> list[_Request]:
    """How SDKs and AzCopy write a blob: one PutBlob when small, blocks then a list if not."""
    requests = [_Request("GetBlobProperties", account, path, 404)] if check else []
    if size <= 64 * _MIB:
        return [*requests, _Request("PutBlob", account, path, size=size)]
    requests += [
        _Request("PutBlock", account, path, size=part, query=f"blockid={i:06d}")
        for i, part in enumerate(_blocks(size))
    ]
    return [*requests, _Request("PutBlockList", account, path, size=1024)]


def _stored_object(rng: random.Random, day: dt.datetime, prefix: str, ext: str) -> str:
    """An object uploaded some day in the last two months (or today)."""
    stamp = day - dt.timedelta(days=rng.randrange(60))
    return f"{prefix}/{stamp:%Y/%m/%d}/{guid(rng)}.{ext}"


# --- Scenarios -------------------------------------------------------------------------

_Rows = list[dict[str, Any]]


def _busy(ctx: SimContext, day: int, weekday_count: int) -> int:
    """Customer-driven volume: weekends run at 60%."""
    return int(weekday_count * (0.6 if ctx.is_weekend(day) else 1.0))


def _web_tier(ctx: SimContext, day: int) -> _Rows:
    """The web VMs serve and store customers' images through their managed identity."""
    rng = ctx.rng(_STREAM, "web", day)
    start = ctx.day_start(day)
    clients = [_app_client("id-web-prod", host, _PYTHON_UA) for host in ("10.1.1.4", "10.1.1.5")]
    rows: _Rows = []
    for _ in range(_busy(ctx, day, 560)):
        path = _stored_object(rng, start, "uploads", rng.choice(("png", "jpg", "webp")))
        rows.append(
            _row(
                rng,
                ctx.office_time(rng, day),
                rng.choice(clients),
                _Request("GetBlob", _PROD_ACCOUNT, path, size=_image_size(rng)),
            )
        )
    for _ in range(_busy(ctx, day, 260)):
        path = _stored_object(rng, start, "uploads", "png").replace("uploads/", "thumbnails/", 1)
        status = 404 if rng.random() < 0.15 else 200
        rows.append(
            _row(
                rng,
                ctx.office_time(rng, day),
                rng.choice(clients),
                _Request("GetBlobProperties", _PROD_ACCOUNT, path, status),
            )
        )
    for _ in range(_busy(ctx, day, 60)):
        path = f"uploads/{start:%Y/%m/%d}/{guid(rng)}.png"
        requests = _upload_blob(_PROD_ACCOUNT, path, _image_size(rng), check=True)
        if rng.random() < 0.35:  # create_container() before writing: the container exists
            requests.insert(0, _Request("CreateContainer", _PROD_ACCOUNT, "uploads", 409))
        requests.append(
            _Request(
                "PutBlob", _PROD_ACCOUNT, path.replace("uploads/", "thumbnails/", 1), size=24_000
            )
        )
        rows += _burst(rng, ctx.office_time(rng, day), rng.choice(clients), requests)
    for _ in range(_busy(ctx, day, 35)):
        path = _stored_object(rng, start, "uploads", "png")
        rows.append(
            _row(
                rng,
                ctx.office_time(rng, day),
                rng.choice(clients),
                _Request("DeleteBlob", _PROD_ACCOUNT, path),
            )
        )
    for client in clients:
        for hour in range(0, 24, 4):
            when = start + dt.timedelta(hours=hour, seconds=rng.uniform(0, 300))
            rows.append(
                _row(rng, when, client, _Request("GetUserDelegationKey", _PROD_ACCOUNT, size=430))
            )
    return rows


def _customer_downloads(ctx: SimContext, day: int) -> _Rows:
    """Download links the web tier signs with a user-delegation key, opened by browsers."""
    rng = ctx.rng(_STREAM, "downloads", day)
    start = ctx.day_start(day)
    web = env.application("id-web-prod")
    rows: _Rows = []
    for _ in range(_busy(ctx, day, 150)):
        when = ctx.office_time(rng, day)
        expiry = when + dt.timedelta(hours=1)
        sas = (
            f"sv=2023-11-03&st={when:%Y-%m-%dT%H:%M:%SZ}&se={expiry:%Y-%m-%dT%H:%M:%SZ}"
            f"&skoid={web.object_id}&sktid={env.TENANT_ID}&sks=b&skv=2023-11-03&sr=b&sp=r"
            "&sig=XXXXX"
        )
        ip = f"{rng.choice(_CUSTOMER_PREFIXES)}.{rng.randint(1, 254)}.{rng.randint(1, 254)}"
        client = _Client(
            "SAS",
            ip,
            rng.choice(_BROWSER_UAS),
            object_id=web.object_id,
            sas=sas,
            sas_hash=f"SasSignature({hex_string(rng, 64).upper()})",
            referrer="https://www.contoso.com/",
        )
        path = _stored_object(rng, start, "uploads", rng.choice(("png", "jpg", "pdf")))
        status = rng.choices((200, 206, 304), weights=(85, 8, 7))[0]
        size = 0 if status == 304 else _image_size(rng) // (4 if status == 206 else 1)
        rows.append(_row(rng, when, client, _Request("GetBlob", _PROD_ACCOUNT, path, status, size)))
    return rows


def _api_documents(ctx: SimContext, day: int) -> _Rows:
    """The API pods on AKS keep documents: reads, writes, listings, metadata and moves."""
    rng = ctx.rng(_STREAM, "api", day)
    start = ctx.day_start(day)
    pods = [_app_client("id-aks-workload", ip, _JAVA_UA, "2023-08-03") for ip in env.AKS.node_ips]
    rows: _Rows = []

    def document() -> str:
        return _stored_object(rng, start, "documents", rng.choice(("pdf", "json", "docx")))

    simple = (
        ("GetBlob", 220),
        ("ListBlobs", 45),
        ("GetBlobMetadata", 25),
        ("SetBlobMetadata", 25),
        ("PutBlob", 40),
    )
    for operation, count in simple:
        for _ in range(_busy(ctx, day, count)):
            path = "documents" if operation == "ListBlobs" else document()
            size = 2048 if operation == "ListBlobs" else rng.randint(20_000, 2 * _MIB)
            size = 0 if "Metadata" in operation else size
            query = f"prefix={start:%Y/%m}/" if operation == "ListBlobs" else ""
            rows.append(
                _row(
                    rng,
                    ctx.office_time(rng, day),
                    rng.choice(pods),
                    _Request(operation, _PROD_ACCOUNT, path, size=size, query=query),
                )
            )
    for _ in range(_busy(ctx, day, 4)):
        path = f"documents/{start:%Y/%m/%d}/{guid(rng)}.zip"
        rows += _burst(
            rng,
            ctx.office_time(rng, day),
            rng.choice(pods),
            _upload_blob(_PROD_ACCOUNT, path, rng.randint(70, 120) * _MIB),
        )
    for _ in range(_busy(ctx, day, 14)):
        rows += _copy_incoming(rng, ctx.office_time(rng, day), rng.choice(pods))
    for pod in pods[:2]:
        for slot in range(48):
            when = start + dt.timedelta(minutes=30 * slot, seconds=rng.uniform(0, 60))
            rows.append(
                _row(rng, when, pod, _Request("GetContainerProperties", _PROD_ACCOUNT, "documents"))
            )
    for _ in range(rng.randint(1, 3)):
        rows.append(
            _row(
                rng,
                ctx.any_time(rng, day),
                rng.choice(pods),
                _Request("CreateContainer", _PROD_ACCOUNT, "documents", 409),
            )
        )
    return rows


def _copy_incoming(rng: random.Random, when: dt.datetime, pod: _Client) -> _Rows:
    """Moving a scanned document from incoming/ to documents/: a copy pair, then a delete."""
    name = f"{when:%Y/%m/%d}/{guid(rng)}.pdf"
    source = f"incoming/{name}"
    source_uri = f"https://{_PROD_ACCOUNT}.blob.core.windows.net:443/{source}"
    correlation = _request_id(rng)
    copy = _Request("CopyBlob", _PROD_ACCOUNT, f"documents/{name}", source=source_uri)
    return [
        _row(rng, when, pod, copy, correlation),
        _row(rng, when, pod, _Request("CopyBlobSource", _PROD_ACCOUNT, source), correlation),
        _row(
            rng,
            when + dt.timedelta(seconds=rng.uniform(0.5, 3)),
            pod,
            _Request("DeleteBlob", _PROD_ACCOUNT, source),
        ),
    ]


def _backup_sas(
    rng: random.Random, when: dt.datetime, account: str, container: str, permissions: str
) -> _Client:
    """The backup job's service SAS for one container, signed with key1 of *account*."""
    expiry = when + dt.timedelta(hours=4)
    sas = (
        f"sv=2023-11-03&sr=c&sp={permissions}&st={when:%Y-%m-%dT%H:%MZ}"
        f"&se={expiry:%Y-%m-%dT%H:%MZ}&spr=https&sig=XXXXX"
    )
    signature = env.stable_hex(64, "sas", account, container, when.isoformat()).upper()
    return _Client(
        "SAS",
        "10.1.3.4",
        _PYTHON_UA,
        sas=sas,
        sas_hash=f"{_account_key(account)},SasSignature({signature})",
    )


def _nightly_backup(ctx: SimContext, day: int) -> _Rows:
    """01:30: dump upload, bulk read of the day's uploads into a tarball, retention."""
    rng = ctx.rng(_STREAM, "backup", day)
    start = ctx.day_start(day) + _BACKUP_START + dt.timedelta(minutes=1)
    yesterday = ctx.day_start(day) - dt.timedelta(days=1)
    dump_sas = _backup_sas(rng, start, _BACKUP_ACCOUNT, "pgdump", "rwdl")
    azcopy = replace(dump_sas, agent=_AZCOPY_UA, version="2023-08-03")
    dump = f"pgdump/appdb-{yesterday:%Y-%m-%d}.dump"
    rows = _burst(
        rng,
        start,
        azcopy,
        _upload_blob(_BACKUP_ACCOUNT, dump, rng.randint(380, 460) * _MIB, check=True),
        (0.05, 0.4),
    )
    when = start + dt.timedelta(minutes=rng.uniform(6, 9))
    read = _backup_sas(rng, when, _PROD_ACCOUNT, "uploads", "rl")
    pages = [
        _Request(
            "ListBlobs",
            _PROD_ACCOUNT,
            "uploads",
            size=rng.randint(900_000, 1_400_000),
            query=f"prefix={yesterday:%Y/%m/%d}/&marker={hex_string(rng, 12)}",
        )
        for _ in range(rng.randint(4, 8))
    ]
    reads = [
        _Request(
            "GetBlob",
            _PROD_ACCOUNT,
            f"uploads/{yesterday:%Y/%m/%d}/{guid(rng)}.png",
            size=_image_size(rng),
        )
        for _ in range(rng.randint(320, 400))
    ]
    rows += _burst(rng, when, read, pages + reads, (0.05, 1.5))
    when = rows[-1]["TimeGenerated"] + dt.timedelta(seconds=rng.uniform(20, 60))
    archive = _backup_sas(rng, when, _BACKUP_ACCOUNT, "uploads", "rw")
    rows += _burst(
        rng,
        when,
        archive,
        _upload_blob(
            _BACKUP_ACCOUNT,
            f"uploads/uploads-{yesterday:%Y-%m-%d}.tar",
            rng.randint(180, 320) * _MIB,
        ),
        (0.05, 0.5),
    )
    return rows + _retention(rng, when + dt.timedelta(minutes=5), dump_sas, yesterday)


def _retention(
    rng: random.Random, when: dt.datetime, client: _Client, yesterday: dt.datetime
) -> _Rows:
    """Dumps older than a week go to Cool; older than a month are deleted."""
    week = yesterday - dt.timedelta(days=7)
    month = yesterday - dt.timedelta(days=30)
    requests = [
        _Request("ListBlobs", _BACKUP_ACCOUNT, "pgdump", size=rng.randint(8_000, 12_000)),
        _Request("SetBlobTier", _BACKUP_ACCOUNT, f"pgdump/appdb-{week:%Y-%m-%d}.dump"),
        _Request("DeleteBlob", _BACKUP_ACCOUNT, f"pgdump/appdb-{month:%Y-%m-%d}.dump"),
        _Request("DeleteBlob", _BACKUP_ACCOUNT, f"uploads/uploads-{month:%Y-%m-%d}.tar"),
    ]
    return _burst(rng, when, client, requests)


def _backup_checker(ctx: SimContext, day: int) -> _Rows:
    """The legacy Function App (account-key connection string) verifies backups every 30 min."""
    rng = ctx.rng(_STREAM, "function", day)
    start = ctx.day_start(day)
    timer = "azure-webjobs-hosts/timers/func-contoso-backup/Functions.VerifyBackups/status"
    latest = f"pgdump/appdb-{start - dt.timedelta(days=1):%Y-%m-%d}.dump"
    rows: _Rows = []
    for slot in range(48):
        when = start + dt.timedelta(minutes=30 * slot, seconds=rng.uniform(1, 30))
        client = _Client("AccountKey", rng.choice(_FUNCTION_IPS), _DOTNET_UA)
        requests = [
            _Request("GetBlob", _BACKUP_ACCOUNT, timer, size=132),
            _Request("GetContainerProperties", _BACKUP_ACCOUNT, "pgdump"),
            _Request(
                "ListBlobs",
                _BACKUP_ACCOUNT,
                "pgdump",
                size=rng.randint(8_000, 12_000),
                query="prefix=appdb-",
            ),
            _Request("GetBlobProperties", _BACKUP_ACCOUNT, latest),
            _Request("PutBlob", _BACKUP_ACCOUNT, timer, size=132),
        ]
        if slot == 6:
            requests.insert(4, _Request("SetBlobMetadata", _BACKUP_ACCOUNT, latest))
        rows += _burst(rng, when, client, requests)
    return rows


def _diagnostic_archive(ctx: SimContext, day: int) -> _Rows:
    """Azure Monitor archives resource logs into hourly append blobs on stcontosologs."""
    rng = ctx.rng(_STREAM, "monitor", day)
    sources = (
        ("insights-logs-auditevent", _arm_id("kv-contoso-prod", "Microsoft.KeyVault/vaults")),
        ("insights-logs-storageread", _arm_id(_PROD_ACCOUNT, "Microsoft.Storage/storageAccounts")),
        ("insights-activity-logs", f"/subscriptions/{env.SUBSCRIPTIONS['prod']}"),
    )
    rows: _Rows = []
    for hour in range(24):
        stamp = ctx.day_start(day) + dt.timedelta(hours=hour)
        for container, resource in sources:
            path = (
                f"{container}/resourceId={resource.upper()}/y={stamp:%Y}/m={stamp:%m}/"
                f"d={stamp:%d}/h={stamp:%H}/m=00/PT1H.json"
            )
            client = _Client("AccountKey", rng.choice(_MONITOR_IPS), None, "2018-11-09")
            requests = [_Request("PutBlob", _LOGS_ACCOUNT, path)]
            requests += [
                _Request("AppendBlock", _LOGS_ACCOUNT, path, size=rng.randint(4_000, 400_000))
                for _ in range(2)
            ]
            when = stamp + dt.timedelta(seconds=rng.uniform(60, 400))
            rows += _burst(rng, when, client, requests, (300, 1500))
    return rows


def _ci_artifacts(ctx: SimContext, day: int) -> _Rows:
    """Each deploy uploads its release with AzCopy and prunes an old one now and then."""
    rng = ctx.rng(_STREAM, "ci", day)
    rows: _Rows = []
    ci = env.application("ci-deployer")
    for deploy in _ci_deploys(ctx, day):
        client = _Client(
            "OAuth", deploy.runner_ip, _AZCOPY_UA, "2023-08-03", ci.object_id, ci.app_id
        )
        folder = f"releases/release-{deploy.run_id}"
        requests = _upload_blob(
            _PROD_ACCOUNT, f"{folder}/app.tar.gz", rng.randint(70, 180) * _MIB, check=True
        )
        requests += [
            _Request("PutBlob", _PROD_ACCOUNT, f"{folder}/{name}", size=rng.randint(2_000, 90_000))
            for name in ("manifest.json", "sbom.spdx.json")
        ]
        if rng.random() < 0.3:
            old = f"releases/release-{deploy.run_id - 60}"
            requests += [
                _Request(
                    "ListBlobs",
                    _PROD_ACCOUNT,
                    "releases",
                    size=6_000,
                    query=f"prefix=release-{deploy.run_id - 60}/",
                )
            ]
            requests += [
                _Request("DeleteBlob", _PROD_ACCOUNT, f"{old}/{name}")
                for name in ("app.tar.gz", "manifest.json", "sbom.spdx.json")
            ]
        when = deploy.start + dt.timedelta(seconds=rng.uniform(200, 400))
        rows += _burst(rng, when, client, requests, (0.05, 0.8))
        plan = replace(client, agent=_TERRAFORM_UA, version="2023-11-03")
        refresh = [
            _Request("GetBlobServiceProperties", account, size=900)
            for account in env.STORAGE_ACCOUNTS
        ]
        rows += _burst(
            rng, deploy.start + dt.timedelta(seconds=rng.uniform(20, 60)), plan, refresh, (0.1, 2)
        )
    return rows


def _admins(ctx: SimContext, day: int) -> _Rows:
    """Admins look around: Storage Explorer (Entra sign-in) or the portal (account key)."""
    if ctx.is_weekend(day):
        return []
    rng = ctx.rng(_STREAM, "admins", day)
    rows: _Rows = []
    for _ in range(rng.randint(2, 4)):
        alias = rng.choice(("alice.smith", "raj.patel", "dmitri.ivanov", "liam.devries"))
        person = env.person(alias)
        ip = env.OFFICE_IPS[person.country]
        account = rng.choice(env.STORAGE_ACCOUNTS)
        if rng.random() < 0.6:
            client = _Client(
                "OAuth",
                ip,
                _EXPLORER_UA,
                "2022-11-02",
                person.object_id,
                env.AZURE_CLI.app_id,
                person.upn,
                "User",
            )
        else:
            client = _Client(
                "AccountKey",
                ip,
                _BROWSER_UAS[0],
                "2022-11-02",
                referrer="https://portal.azure.com/",
            )
        container = {
            _PROD_ACCOUNT: "uploads",
            _BACKUP_ACCOUNT: "pgdump",
            _LOGS_ACCOUNT: "insights-logs-auditevent",
        }[account]
        requests = [
            _Request("GetBlobServiceProperties", account, size=900),
            _Request("ListContainers", account, size=rng.randint(1_500, 4_000)),
        ]
        requests += [
            _Request("ListBlobs", account, container, size=rng.randint(3_000, 60_000))
            for _ in range(rng.randint(1, 4))
        ]
        if client.auth == "OAuth" and rng.random() < 0.3:  # no data role on this account yet
            requests.insert(2, _Request("ListBlobs", account, container, 403))
        blob = f"{container}/{guid(rng)}.json"
        requests += [
            _Request("GetBlobProperties", account, blob),
            _Request("GetBlob", account, blob, size=rng.randint(2_000, 300_000)),
        ]
        rows += _burst(rng, ctx.office_time(rng, day), client, requests, (1, 25))
    return rows


_SCENARIOS = (
    _web_tier,
    _customer_downloads,
    _api_documents,
    _nightly_backup,
    _backup_checker,
    _diagnostic_archive,
    _ci_artifacts,
    _admins,
)


def generate(ctx: SimContext) -> dict[str, list[dict[str, Any]]]:
    """Benign rows for StorageBlobLogs, keyed by table name."""
    return {_TABLE: daily_rows(ctx, _SCENARIOS)}
