"""Drives the ACI emulator with Microsoft's own Python SDK, as a private-cloud user would.

Environment (set by tests/tests/azure_sdk.rs): EMULATOR_URL (https://127.0.0.1:PORT),
REQUESTS_CA_BUNDLE / SSL_CERT_FILE (the emulator's CA), AZURE_CLIENT_ID, AZURE_CLIENT_SECRET.
No proxy, no enforce_https=False, no connection_verify=False.

`disable_instance_discovery=True` is required for any non-Microsoft authority host: MSAL
(authority.py) sends instance discovery to login.microsoftonline.com for hosts it does not
know, never to the authority itself. Tenant discovery
(/{tenant}/v2.0/.well-known/openid-configuration) and the token endpoint are the emulator's.

Prints one JSON line per check and "CONFORMANCE OK" at the end; exits non-zero on failure.
"""

import json
import os
import sys
import time

import requests
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.mgmt.containerinstance import ContainerInstanceManagementClient
from azure.mgmt.containerinstance.models import (
    Container,
    ContainerGroup,
    ResourceRequests,
    ResourceRequirements,
)
from azure.mgmt.standbypool import StandbyPoolMgmtClient

BASE = os.environ["EMULATOR_URL"]
SUB = "00000000-0000-0000-0000-000000000000"
RG = "rg-sdk"
LOCATION = "westeurope"
SCOPE = "https://management.azure.com/.default"
ARM = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers"


def check(name, ok, **detail):
    print(json.dumps({"check": name, "ok": bool(ok), **detail}), flush=True)
    if not ok:
        sys.exit(f"FAILED: {name} {detail}")


def admin(method, path, body=None):
    # The emulator's own admin API (unauthenticated), over the same TLS.
    r = requests.request(method, f"{BASE}/_emulator/{path}", json=body, timeout=10)
    r.raise_for_status()
    return r.json() if r.content else None


def group(image="mcr.microsoft.com/azuredocs/aci-helloworld"):
    return ContainerGroup(
        location=LOCATION,
        os_type="Linux",
        tags={"lane": "azure-sdk"},
        containers=[
            Container(
                name="app",
                image=image,
                resources=ResourceRequirements(requests=ResourceRequests(cpu=1.0, memory_in_gb=1.5)),
            )
        ],
    )


def prop(obj, name):
    """A read-only property, flattened or under .properties (the 10.2 models keep both)."""
    v = getattr(obj, name, None)
    if v is None and getattr(obj, "properties", None) is not None:
        v = getattr(obj.properties, name, None)
    return v


def main():
    cred = ClientSecretCredential(
        "tenant-sdk",
        os.environ["AZURE_CLIENT_ID"],
        os.environ["AZURE_CLIENT_SECRET"],
        authority=BASE,
        disable_instance_discovery=True,
    )
    token = cred.get_token(SCOPE)
    check("token via OIDC discovery", token.token and token.expires_on > time.time())

    aci = ContainerInstanceManagementClient(cred, SUB, base_url=BASE, credential_scopes=[SCOPE])
    pools = StandbyPoolMgmtClient(cred, SUB, base_url=BASE, credential_scopes=[SCOPE])

    # Create with the LRO poller, get, list with paging, update (PATCH tags), delete (LRO).
    created = aci.container_groups.begin_create_or_update(RG, "sdk-1", group()).result()
    check("create LRO", prop(created, "provisioning_state") == "Succeeded", state=prop(created, "provisioning_state"))
    got = aci.container_groups.get(RG, "sdk-1")
    check("get", got.name == "sdk-1" and prop(got, "instance_view") is not None)
    for name in ["sdk-2", "sdk-3"]:
        aci.container_groups.begin_create_or_update(RG, name, group()).result()
    names = sorted(g.name for g in aci.container_groups.list_by_resource_group(RG))
    check("list follows nextLink", names == ["sdk-1", "sdk-2", "sdk-3"], names=names)
    patched = aci.container_groups.update(RG, "sdk-1", {"tags": {"lane": "patched"}})
    check("update tags", patched.tags == {"lane": "patched"}, tags=patched.tags)
    aci.container_groups.begin_delete(RG, "sdk-3").result()
    try:
        aci.container_groups.get(RG, "sdk-3")
        check("delete LRO", False)
    except HttpResponseError as e:
        check("delete LRO", e.status_code == 404, status=e.status_code)

    # Container group profile, standby pool (LRO), runtime view, a claim.
    profile_id = f"{ARM}/Microsoft.ContainerInstance/containerGroupProfiles/sdk-profile"
    profile = aci.cg_profile.create_or_update(
        RG,
        "sdk-profile",
        {
            "location": LOCATION,
            "properties": {
                "osType": "Linux",
                "containers": [
                    {
                        "name": "app",
                        "properties": {
                            "image": "mcr.microsoft.com/azuredocs/aci-helloworld",
                            "resources": {"requests": {"cpu": 1.0, "memoryInGB": 1.5}},
                        },
                    }
                ],
            },
        },
    )
    check("profile create", prop(profile, "revision") == 1, revision=prop(profile, "revision"))
    pool = pools.standby_container_group_pools.begin_create_or_update(
        RG,
        "sdk-pool",
        {
            "location": LOCATION,
            "properties": {
                "elasticityProfile": {"maxReadyCapacity": 2, "refillPolicy": "always"},
                "containerGroupProperties": {"containerGroupProfile": {"id": profile_id, "revision": 1}},
            },
        },
    ).result()
    check("pool create LRO", pool.properties.provisioning_state == "Succeeded")
    deadline = time.time() + 30
    while True:
        view = pools.standby_container_group_pool_runtime_views.get(RG, "sdk-pool", "latest")
        running = sum(
            s.count
            for z in view.properties.instance_count_summary
            for s in z.instance_counts_by_state
            if s.state == "Running"
        )
        if running == 2 or time.time() > deadline:
            break
        time.sleep(0.5)
    check("runtime view", running == 2, running=running)
    claimed = aci.container_groups.begin_create_or_update(
        RG,
        "sdk-claim",
        {
            "location": LOCATION,
            "properties": {
                "containerGroupProfile": {"id": profile_id, "revision": 1},
                "containers": [{"name": "app", "properties": {"configMap": {"keyValuePairs": {"k": "v"}}}}],
                "standbyPoolProfile": {"id": f"{ARM}/Microsoft.StandbyPool/standbyContainerGroupPools/sdk-pool"},
            },
        },
    ).result()
    check("claim from the pool", prop(claimed, "is_created_from_standby_pool") is True)

    # 429 with Retry-After: the create window is full (--aci-creates, --aci-window-scale); the
    # SDK's retry policy waits Retry-After and the retried PUT succeeds.
    t0 = time.time()
    pollers = [aci.container_groups.begin_create_or_update(RG, f"burst-{i}", group()) for i in range(5)]
    for p in pollers:
        p.result()
    writes = admin("GET", "state")["writes"]
    throttled = [w["path"] for w in writes if w["method"] == "PUT" and w["status"] == 429]
    retried = [p for p in throttled if any(w["path"] == p and w["status"] == 201 for w in writes)]
    check("429 retried after Retry-After", retried, throttled=throttled, seconds=round(time.time() - t0, 1))

    # A capacity error (fault injection): the SDK raises HttpResponseError with ARM's code.
    admin("PATCH", "faults", {"capacity": [{"region": "*", "mode": "sync"}]})
    try:
        aci.container_groups.begin_create_or_update(RG, "no-capacity", group()).result()
        check("capacity error", False)
    except HttpResponseError as e:
        check("capacity error", e.status_code == 409 and e.error.code == "ServiceUnavailable", code=e.error.code)
    finally:
        admin("PATCH", "faults", {"capacity": []})

    pools.standby_container_group_pools.begin_delete(RG, "sdk-pool").result()
    check("pool delete LRO", [p.name for p in pools.standby_container_group_pools.list_by_resource_group(RG)] == [])
    print("CONFORMANCE OK", flush=True)


if __name__ == "__main__":
    main()
