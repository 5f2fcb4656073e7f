from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support.knowledge import make_bot, upload, wait_for
from tests.support.server import LiveServer
from tests.support.tenants import Tenant, register_tenant
from tests.support.worker import WorkerProcess

WARRANTY = "Every espresso machine carries a two year warranty covering the pump and the boiler."
SHIPPING = "Parcels ship to every country of the European Union within four working days."


@dataclass(frozen=True)
class ShopBot:
    tenant: Tenant
    bot_id: str
    api_key: str
    warranty_doc: str

    @property
    def key_headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}

    def url(self, path: str) -> str:
        return f"/api/v1/public/chatbots/{self.bot_id}{path}"


def new_shop_bot(client: httpx.Client, **fields: object) -> ShopBot:
    """A tenant with a bot that knows two facts (needs a running ingest worker)."""
    tenant = register_tenant(client)
    bot_id = make_bot(client, tenant, "Shop")
    if fields:
        client.patch(
            f"/api/v1/chatbots/{bot_id}", headers=tenant.headers, json=fields
        ).raise_for_status()
    key = client.post(f"/api/v1/chatbots/{bot_id}/rotate-key", headers=tenant.headers).json()[
        "api_key"
    ]
    warranty = upload(client, tenant, bot_id, "warranty.txt", WARRANTY.encode()).json()["id"]
    shipping = upload(client, tenant, bot_id, "shipping.txt", SHIPPING.encode()).json()["id"]
    for doc in (warranty, shipping):
        wait_for(client, tenant, bot_id, doc)
    return ShopBot(tenant, bot_id, key, warranty)


@pytest.fixture(scope="module")
def fx_ingest_worker(fx_server: LiveServer) -> Iterator[WorkerProcess]:
    with WorkerProcess(("ingest", "ingest-bulk")) as worker:
        yield worker


@pytest.fixture(scope="module")
def fx_shop(fx_server: LiveServer, fx_ingest_worker: WorkerProcess) -> ShopBot:
    with httpx.Client(base_url=fx_server.base_url, timeout=60) as client:
        return new_shop_bot(client)
