"""Underwriting traffic for the load benchmarks: applications as a lender receives them.

The mix (shares of requests):

* 45 % a new applicant with new identifiers (a new phone, device and address);
* 15 % a returning applicant: one already in the store applies again, with its own phone;
* 15 % a new applicant on a device already in the graph (a family's tablet, a second-hand phone);
* 10 % a new applicant on an address already in the graph;
* 10 % a new applicant listing, among its contacts, a phone someone in the graph holds;
* 5 % hub neighbourhoods: on one of the ten addresses most applicants share (carrier NATs,
  counted, never expanded) or of the ten devices most share (device farms).

Every application carries one to three contacts. The values come from the store the
benchmark serves (:func:`Population.of`), so that neighbourhoods are real.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

MIX = (("new", 0.45), ("returning", 0.15), ("shared_device", 0.15), ("shared_ip", 0.10),
       ("listed_phone", 0.10), ("hub", 0.05))


@dataclass
class Population:
    """Values already in the store that traffic reuses."""

    applicants: list[tuple[str, str]]  # (applicant id, its own phone)
    devices: list[str]  # devices held by two to five applicants
    ips: list[str]  # addresses held by two to five applicants
    phones: list[str]  # phones someone holds
    hubs: list[tuple[str, str]]  # (kind, value): the ten most shared addresses and devices

    @classmethod
    def of(cls, db: Path, limit: int = 20_000) -> Population:
        from graphsvc.store.embedded import sql

        con = sql.connect(db, readonly=True)
        try:
            def shared(kind: str, low: int, high: int, n: int) -> list[str]:
                return [r[0] for r in con.execute(
                    "SELECT i.value FROM identifiers i WHERE i.kind = ? AND i.id IN (SELECT identifier FROM "
                    "holders WHERE identifier IN (SELECT id FROM identifiers WHERE kind = ? LIMIT ?) "
                    "GROUP BY identifier HAVING count(*) BETWEEN ? AND ?)", (kind, kind, limit * 5, low, high))][:n]

            def busiest(kind: str, n: int = 10) -> list[tuple[str, str]]:
                return [tuple(r) for r in con.execute(
                    "SELECT i.kind, i.value FROM holders h JOIN identifiers i ON i.id = h.identifier "
                    "WHERE i.kind = ? GROUP BY h.identifier ORDER BY count(*) DESC LIMIT ?", (kind, n))]

            applicants = [tuple(r) for r in con.execute(
                "SELECT a.key, i.value FROM applicants a JOIN links l ON l.applicant = a.id AND l.role = 'own' "
                "JOIN identifiers i ON i.id = l.identifier AND i.kind = 'phone' LIMIT ?", (limit,))]
            return cls(applicants=applicants, devices=shared("device", 2, 5, limit), ips=shared("ip", 2, 5, limit),
                       phones=[p for _, p in applicants], hubs=busiest("ip") + busiest("device"))
        finally:
            con.close()


def _phone(rng: random.Random, prefix: str) -> str:
    return f"{prefix}{rng.randrange(10**8):08d}"


def application(rng: random.Random, tag: str, n: int, population: Population) -> dict:
    """The ``n``-th application of a stream: its kind drawn from :data:`MIX`."""
    kind = rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX])[0]
    body = {
        "application_id": f"BENCH-{tag}-{n}", "applicant_id": f"BENCHA-{tag}-{n}",
        "applied_at": f"2026-01-{15 + n % 10:02d}T{8 + n % 12:02d}:{n % 60:02d}:00Z",
        "phone": _phone(rng, "139"), "device_id": f"bench-dev-{tag}-{n}",
        # a new address anywhere (consecutive applicants on one /24 would be a packaging ring)
        "ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        "contacts": [{"contact_phone": _phone(rng, "138"), "relation": "friend", "source": "emergency"}
                     for _ in range(rng.randrange(1, 4))],
    }
    if kind == "returning" and population.applicants:
        body["applicant_id"], body["phone"] = rng.choice(population.applicants)
    elif kind == "shared_device" and population.devices:
        body["device_id"] = rng.choice(population.devices)
    elif kind == "shared_ip" and population.ips:
        body["ip"] = rng.choice(population.ips)
    elif kind == "listed_phone" and population.phones:
        body["contacts"][0]["contact_phone"] = rng.choice(population.phones)
    elif kind == "hub" and population.hubs:
        hub_kind, value = rng.choice(population.hubs)
        body["ip" if hub_kind == "ip" else "device_id"] = value
    return body


def write_bodies(path: Path, population: Population, tag: str, count: int, seed: int) -> Path:
    """``count`` applications as JSON lines, the load client's input."""
    rng = random.Random(seed)
    with path.open("w") as out:
        for n in range(count):
            out.write(json.dumps(application(rng, tag, n, population)) + "\n")
    return path
