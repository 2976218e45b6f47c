"""A minimal billing pipeline written against the sandbox's HTTP APIs only (the README's contract),
used to check that the billing oracle asks nothing a client cannot see.

At each run it re-reads what it needs (orders, customers, TMS shipments and charges, tracking,
PODs, Ridgeline 214 files, disputes), applies the oracle's policy per shipment and posts the
documents to the ERP with deterministic Idempotency-Keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from tests.sandbox.helpers import ERP_HEADERS, x12_segments


def _cents(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    whole, frac = text.lstrip("-").split(".")
    return sign * (int(whole) * 100 + int(frac))


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


@dataclass
class Account:
    """What the pipeline knows it billed one shipment."""

    live: bool = False
    ever: bool = False
    billed: tuple = ()
    dispute_credits: int = 0
    docs: list[list] = field(default_factory=list)  # [document_number, open cents]

    @property
    def net(self) -> int:
        return sum(open_cents for _, open_cents in self.docs)


class Pipeline:
    """Runs the billing policy against a sandbox at ``base``."""

    def __init__(self, base: str):
        self.base = base
        self.client = httpx.Client(base_url=base, headers=ERP_HEADERS, timeout=30)
        self.accounts: dict[str, Account] = {}
        self.handled_disputes: set[str] = set()
        self.policies: dict[str, str] = {}
        self.seq = 0

    # --- reading --------------------------------------------------------------------------
    def _erp(self, path: str) -> list[dict]:
        out, cursor = [], None
        while True:
            params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            body = self.client.get(path, params=params).raise_for_status().json()
            out += body["data"]
            cursor = body["next_cursor"]
            if not cursor:
                return out

    def _offset(self, path: str) -> list[dict]:
        out, offset = [], 0
        while True:
            body = self.client.get(path, params={"offset": offset, "limit": 500}).json()
            out += body["results"]
            offset += 500
            if offset >= body["total"]:
                return out

    def _pods(self) -> dict[str, str]:
        latest, token = {}, None
        while True:
            params = {"limit": 500, **({"page_token": token} if token else {})}
            body = self.client.get("/carriers/ridgeline/pods", params=params).json()
            for pod in body["pods"]:
                latest[pod["pro_number"]] = pod["status"]
            token = body.get("nextPageToken")
            if not token:
                return latest

    def _ridgeline_damaged(self) -> set[str]:
        damaged = set()
        for f in self.client.get("/carriers/ridgeline/files").json()["files"]:
            if f["kind"] != "214":
                continue
            segments, _ = x12_segments(
                self.client.get(f"/carriers/ridgeline/files/{f['name']}").content
            )
            pro = None
            for seg in segments:
                if seg[0] == "B10":
                    pro = seg[1]
                elif seg[0] == "AT7" and seg[1] == "A9":
                    damaged.add(pro)
        return damaged

    def _parcel(self, shipments: list[dict]) -> dict[str, tuple[bool, bool, bool]]:
        """tracking number -> (delivered shown, POD shown, damaged shown)."""
        out = {}
        for s in shipments:
            tn = s["tracking_number"]
            if s["carrier_scac"] == "PRCL":
                pkg = self.client.get(f"/carriers/parcelco/track/v1/details/{tn}").json()
                pkg = pkg["trackResponse"]["shipment"][0]["package"][0]
                out[tn] = (
                    pkg["deliveryDate"][0]["type"] == "DEL",
                    "deliveryInformation" in pkg,
                    any(a["status"]["code"] == "DM" for a in pkg["activity"]),
                )
        swiftex = [s["tracking_number"] for s in shipments if s["carrier_scac"] == "SWFX"]
        for k in range(0, len(swiftex), 30):
            body = {
                "includeDetailedScans": True,
                "trackingInfo": [
                    {"trackingNumberInfo": {"trackingNumber": tn}} for tn in swiftex[k : k + 30]
                ],
            }
            results = self.client.post("/carriers/swiftex/track/v1/trackingnumbers", json=body)
            for entry in results.json()["output"]["completeTrackResults"]:
                r = entry["trackResults"][0]
                out[entry["trackingNumber"]] = (
                    any(d["type"] == "ACTUAL_DELIVERY" for d in r["dateAndTimes"]),
                    "deliveryDetails" in r,
                    any(e["eventType"] == "DE" for e in r["scanEvents"]),
                )
        out.update(self._aggregated())
        return out

    def _aggregated(self) -> dict[str, tuple[bool, bool, bool]]:
        """TrackLane through the aggregator's Shippo updates: it never shows a POD."""
        out: dict[str, tuple[bool, bool, bool]] = {}
        token = None
        while True:
            params = {"limit": 500, **({"page_token": token} if token else {})}
            body = self.client.get("/carriers/tracklane/tracks/updates", params=params).json()
            for update in body["updates"]:
                track = update["data"]
                statuses = [track["tracking_status"], *track["tracking_history"]]
                was = out.get(track["tracking_number"], (False, False, False))
                out[track["tracking_number"]] = (
                    was[0] or any(st["status"] == "DELIVERED" for st in statuses),
                    False,
                    was[2] or any(st["substatus"]["code"] == "package_damaged" for st in statuses),
                )
            token = body.get("nextPageToken")
            if not token:
                return out

    # --- posting --------------------------------------------------------------------------
    def _key(self) -> str:
        self.seq += 1
        return f"ref-{self.seq:06d}"

    def _invoice(self, order: str, customer: str, currency: str, lines: list, acct: Account):
        key = self._key()
        body = {
            "invoice_number": key,
            "customer_id": customer,
            "currency": currency,
            "invoice_date": "2025-01-20",
            "total_amount": _money(sum(c for _, c in lines)),
            "lines": [
                {
                    "line_number": n,
                    "shipment_reference": order,
                    "charge_code": code,
                    "description": code,
                    "amount": _money(cents),
                }
                for n, (code, cents) in enumerate(lines, start=1)
            ],
        }
        r = self.client.post("/erp/invoices", json=body, headers={"Idempotency-Key": key})
        assert r.status_code == 201, r.text
        acct.docs.append([r.json()["document_number"], sum(c for _, c in lines)])

    def _credit(self, order: str, customer: str, currency: str, cents: int, acct: Account, why):
        for doc in reversed(acct.docs):  # the latest open invoices first
            take = min(cents, doc[1])
            if take <= 0:
                continue
            key = self._key()
            body = {
                "credit_note_number": key,
                "original_document_id": doc[0],
                "customer_id": customer,
                "currency": currency,
                "credit_date": "2025-01-20",
                "reason_code": why,
                "total_amount": _money(take),
                "lines": [
                    {
                        "line_number": 1,
                        "shipment_reference": order,
                        "charge_code": "CREDIT",
                        "description": why,
                        "amount": _money(take),
                    }
                ],
            }
            r = self.client.post("/erp/credit-notes", json=body, headers={"Idempotency-Key": key})
            assert r.status_code == 201, r.text
            doc[1] -= take
            cents -= take
            if cents == 0:
                return

    # --- one run --------------------------------------------------------------------------
    def run(self) -> None:
        """One billing run at the sandbox's current clock."""
        orders = {o["order_number"]: o for o in self._erp("/erp/orders")}
        on_hold = {c["customer_id"] for c in self._erp("/erp/customers") if c["on_credit_hold"]}
        shipments = self._offset("/tms/shipments")
        latest: dict[str, dict] = {}
        for c in self._offset("/tms/rated-charges"):
            if c["charge_id"] not in latest or c["revision"] > latest[c["charge_id"]]["revision"]:
                latest[c["charge_id"]] = c
        charges: dict[str, list[dict]] = {}
        for c in latest.values():
            if c["status"] == "ACTIVE":
                charges.setdefault(c["tms_shipment_id"], []).append(c)
        pods = self._pods()
        tracking = self._parcel(shipments)
        ridgeline_damaged = self._ridgeline_damaged()
        if not self.policies:
            self.policies = {
                c["customer_id"]: c["amendment_policy"] for c in self._erp("/erp/contracts")
            }

        for d in self._erp("/erp/disputes"):
            if d["status"] != "accepted" or d["dispute_id"] in self.handled_disputes:
                continue
            self.handled_disputes.add(d["dispute_id"])
            order = d["shipment_ids"][0]
            acct = self.accounts[order]
            amount = min(_cents(d["disputed_amount"]), acct.net)
            if amount > 0:
                self._credit(order, d["customer_id"], d["currency"], amount, acct, "dispute")
                acct.dispute_credits += amount

        for s in shipments:
            order = s["customer_reference"]
            if order not in orders:
                continue
            acct = self.accounts.setdefault(order, Account())
            active = charges.get(s["tms_shipment_id"], [])
            content = tuple(sorted((c["charge_code"], _cents(c["amount"])) for c in active))
            out_of_contract = any(c["rate_source"] == "TMS_DEFAULT_TARIFF" for c in active)
            customer = orders[order]["customer_id"]
            currency = orders[order]["currency"]
            cancelled = orders[order]["status"] == "CANCELLED"
            if s["mode"] == "LTL":
                pod_status = pods.get(s["pro_number"])
                delivered, pod, damaged = (
                    pod_status is not None,
                    pod_status == "RECEIVED",
                    s["pro_number"] in ridgeline_damaged,
                )
                reversed_open = pod_status == "REVERSED"
            else:
                delivered, pod, damaged = tracking[s["tracking_number"]]
                reversed_open = acct.live and delivered and not pod
            billable = (
                delivered
                and pod
                and not damaged
                and customer not in on_hold
                and not out_of_contract
                and not cancelled
                and bool(active)
            )
            if not acct.live:
                if billable:
                    self._invoice(order, customer, currency, list(content), acct)
                    acct.live, acct.ever, acct.billed = True, True, content
            elif cancelled or reversed_open:
                if acct.net > 0:
                    self._credit(order, customer, currency, acct.net, acct, "void")
                acct.live = False
            elif content != acct.billed and not out_of_contract:
                if self.policies[customer] == "credit_and_rebill":
                    if acct.net > 0:
                        self._credit(order, customer, currency, acct.net, acct, "rebill")
                    lines = list(content)
                    if acct.dispute_credits:
                        lines.append(("DISPUTE_CREDIT", -acct.dispute_credits))
                    if sum(c for _, c in lines) > 0:
                        self._invoice(order, customer, currency, lines, acct)
                else:
                    delta = sum(c for _, c in content) - sum(c for _, c in acct.billed)
                    if delta > 0:
                        self._invoice(order, customer, currency, [("ADJUSTMENT", delta)], acct)
                    elif delta < 0:
                        credit = min(-delta, acct.net)
                        if credit > 0:
                            self._credit(order, customer, currency, credit, acct, "adjust")
                acct.billed = content
