"""Cloud campaigns on Contoso's Entra ID tenant, Azure subscriptions and Microsoft 365:
one module per campaign, holding the attack and its benign look-alikes. Each crosses the
identity plane (sign-ins, directory changes, Graph), the control plane (ARM) and the data
plane (Key Vault, blobs, mail). Importing this package registers them all."""

from pytest_ctirealm.telemetry.scenarios.cloud import (
    app_credential,
    au_backdoor,
    device_code,
    elevate_access,
    keyvault_policy,
    run_command,
    spray_azurehound,
    storage_key,
)

__all__ = [
    "app_credential",
    "au_backdoor",
    "device_code",
    "elevate_access",
    "keyvault_policy",
    "run_command",
    "spray_azurehound",
    "storage_key",
]
