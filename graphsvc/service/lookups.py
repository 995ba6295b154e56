"""Look-ups by natural key: identifiers written as people write them, applicants, the
links between them, and the audit trail of who saw what.

In: the store of record and the settings (phone region, identity-number key). Out:
pandas frames and plain dicts; nothing here writes except :meth:`Lookups.record_access`.
"""

from __future__ import annotations

import json

import pandas as pd

from graphsvc.analytics.policy import Policy
from graphsvc.errors import InputError, NotFoundError
from graphsvc.ingest import normalise
from graphsvc.people.consent import ConsentRules
from graphsvc.settings import Settings
from graphsvc.store import Store
from graphsvc.store.base import access_entry, require_applicant


class Lookups:
    """What :class:`~graphsvc.service.Service` answers by natural key."""

    store: Store
    settings: Settings

    def canonical(self, kind: str, value: str) -> str:
        """The stored form of an identifier value (E.164 phone, HMAC token, ...).

        Raises
        ------
        InputError
            When the value is not valid for its kind.

        Examples
        --------
        >>> svc.canonical("phone", "138 0013 8000")
        '+8613800138000'
        >>> svc.canonical("ip", "10.0.0.300")
        Traceback (most recent call last):
        ...
        graphsvc.errors.InputError: '10.0.0.300' is not a valid ip
        """
        out = normalise.identifiers(kind, pd.Series([value]), region=self.settings.default_region,
                                    identity_key=self.settings.identity_key).iloc[0]
        if out is None:
            raise InputError(f"{value!r} is not a valid {kind}")
        return out

    def counts(self) -> dict[str, dict[str, int]]:
        """Nodes by kind, links by kind and role, facts, outcomes and relations.

        Examples
        --------
        >>> svc.counts()["nodes"]["applicant"]
        20000
        """
        return self.store.counts()

    def pending(self) -> pd.DataFrame:
        """Facts (contacts, outcomes, sightings, relations) waiting for their applicant, by
        table: ``table, rows, oldest`` (epoch seconds the oldest was kept). They are
        attached in the transaction that stores the applicant."""
        return self.store.pending()

    def tombstones(self) -> frozenset[str]:
        """Keyed digests standing for the people erased from the store (kept so that
        later loads do not bring them back)."""
        return self.store.tombstones()

    def ready(self) -> None:
        """Read the store once: raises (``StoreError``) unless it answers with a current schema."""
        self.store.runs()

    @property
    def policy(self) -> Policy:
        """The policy in force: the served run's (the defaults before any run)."""
        from graphsvc.online.scoring import latest_basis

        return latest_basis(self.store).policy

    @property
    def consent(self) -> ConsentRules:
        """The consent rules in force: the served run's (the defaults before any run)."""
        return self.policy.consent

    def applicants_for(self, kind: str, value: str) -> pd.DataFrame:
        """Applicants linked to an identifier, with role, relation, dates and count.

        Examples
        --------
        >>> svc.applicants_for("phone", "150 5874 6329")[["applicant_id", "role"]].values.tolist()
        [['A00001353', 'own']]
        """
        links = self.links_to([(kind, self.canonical(kind, value))])
        return _readable(links.drop(columns=["kind", "value"]))

    def identifiers_of(self, applicant_id: str) -> pd.DataFrame:
        """Identifiers linked to an applicant.

        Raises
        ------
        NotFoundError
            When the applicant is unknown.

        Examples
        --------
        >>> sorted(svc.identifiers_of("A00001353")["kind"])
        ['device', 'id_number', 'ip', 'phone', 'phone', 'phone', 'subnet']
        """
        self._require(applicant_id)
        links = self.links_of([applicant_id])
        return _readable(links.drop(columns=["applicant_id"]))

    def identifier(self, kind: str, value: str) -> dict:
        """An identifier written as people write it: its stored form (``value``), how many
        applicants hold or list it (``degree``), whether that makes it a hub under the
        policy in force (``hub``), and its links (``holders``, sorted; none for a hub,
        whose holders are not listed).

        Raises
        ------
        InputError
            For a value :meth:`canonical` cannot read as its kind.

        Examples
        --------
        >>> found = svc.identifier("phone", "150 5874 6329")
        >>> found["value"], found["degree"], found["hub"], found["holders"]["applicant_id"].tolist()
        ('+8615058746329', 1, False, ['A00001353'])
        """
        canonical = self.canonical(kind, value)
        degrees = self.store.identifier_degrees([(kind, canonical)])
        degree = int(degrees["degree"].iloc[0]) if len(degrees) else 0
        hub = degree > self.policy.rule(kind).hub
        links = self.links_to([(kind, canonical)] if degree and not hub else [])
        return {"kind": kind, "value": canonical, "degree": degree, "hub": hub,
                "holders": links.sort_values(["applicant_id", "role"], ignore_index=True)}

    def applicant(self, applicant_id: str) -> dict:
        """One applicant: applications, outcomes, the served run's ``score``, ``band``,
        ``ring_id`` and ``reasons`` (None and empty before any run), the ``timeline`` of
        applications and outcomes (oldest first, undated last) and its ``links``.

        Raises
        ------
        NotFoundError
            When the store holds no such applicant.

        Examples
        --------
        >>> found = svc.applicant("A00001353")
        >>> found["score"], found["band"], found["ring_id"], found["outcomes"]
        (994, 'high', 'R000013', ['fraud'])
        >>> found["timeline"]
        [{'at': '2024-10-24T19:50:12Z', 'event': 'applied'}, {'at': '2024-11-25T16:19:37Z', 'event': 'fraud'}]
        """
        info = self.store.applicants([applicant_id])
        if not len(info):
            raise NotFoundError(f"no applicant {applicant_id!r}")
        row = info.iloc[0]
        latest = self.store.served_run()
        run_id = str(latest["run_id"]) if latest else None
        score = self.store.latest_scores(run_id, [applicant_id]).get(applicant_id) if run_id else None
        reasons = json.loads(score.reasons) if score is not None and isinstance(score.reasons, str) else []
        outcomes, applied = self.store.timelines([applicant_id])
        timeline = sorted([{"at": normalise.format_timestamp(at), "event": "applied"} for _, at in applied]
                          + [{"at": normalise.format_timestamp(at), "event": outcome} for _, outcome, at in outcomes],
                          key=lambda e: (e["at"] is None, e["at"] or "", e["event"]))
        return {"applicant_id": applicant_id, "applications": int(row["applications"]),
                "outcomes": sorted(row["outcomes"].split(",")) if isinstance(row["outcomes"], str) else [],
                "score": None if score is None else int(score.score),
                "band": None if score is None else score.band,
                "ring_id": None if score is None else score.ring_id, "run_id": run_id, "reasons": reasons,
                "timeline": timeline,
                "links": self.links_of([applicant_id]).sort_values(["role", "kind", "value"], ignore_index=True)}

    def links_of(self, applicant_ids: list[str]) -> pd.DataFrame:
        """Links of applicants (``store.base.LINK_COLUMNS``), contacts only where the
        consent rules allow their use for linkage: what every view of the graph shows."""
        return self.consent.links(self.store.applicant_links(applicant_ids), "linkage")

    def links_to(self, identifiers: list[tuple[str, str]], max_degree: int | None = None) -> pd.DataFrame:
        """Links of identifiers (holders above ``max_degree`` not read), as :meth:`links_of`."""
        return self.consent.links(self.store.identifier_links(identifiers, max_degree=max_degree), "linkage")

    def shared_identifiers(self, kind: str, min_degree: int = 2, top: int | None = None) -> pd.DataFrame:
        """Identifiers of ``kind`` held by several applicants, with their fraud share.

        Examples
        --------
        >>> svc.shared_identifiers("device", top=2)[["degree", "fraud", "fraud_share"]].values.tolist()
        [[15.0, 4.0, 0.2667], [15.0, 4.0, 0.2667]]
        """
        shared = self.store.shared_identifiers(kind, min_degree)
        shared["fraud_share"] = (shared["fraud"] / shared["degree"]).round(4)
        return shared.head(top) if top else shared

    def record_access(self, caller: str, role: str, route: str, method: str, status: int, subjects: list[str], *,
                      purpose: str | None = None, reason: str | None = None, revealed: list[str] = ()) -> None:
        """Append one row to the audit trail: who (``caller`` of ``role``) saw personal data
        about ``subjects`` through ``route``, with what answer, for what ``purpose``
        (``reason``: why a call was refused; ``revealed``: keyed digests of the phone
        numbers shown in full)."""
        self.store.record_access(access_entry(caller, role, route, method, status, subjects, purpose=purpose,
                                              reason=reason, revealed=revealed))

    def access_log(self, limit: int = 100, subject: str | None = None) -> pd.DataFrame:
        """The newest rows of the audit trail, only those about ``subject`` if given."""
        return self.store.access_log(limit=limit, subject=subject)

    def _require(self, applicant_id: str) -> None:
        require_applicant(self.store, applicant_id)


def _readable(links: pd.DataFrame) -> pd.DataFrame:
    out = links.drop(columns=["consents"])
    for column in ("first_seen", "last_seen"):
        out[column] = [normalise.format_timestamp(v) for v in out[column]]
    return out.reset_index(drop=True)
