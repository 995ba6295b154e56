"""One application's bounded neighbourhood, as a small projection the batch code runs on.

Score-on-write (:mod:`graphsvc.online.scoring`) fetches the application's identifiers,
everyone linked to them (identifiers linked to more than ``policy.feature_cap``
applicants are counted, not fetched) and those people's outcomes and
applications, and packs them into the same :class:`~graphsvc.analytics.projection.Projection`
a batch run builds from the whole store. Features (:mod:`graphsvc.analytics.features`),
linkage and ring features (:mod:`graphsvc.analytics.rings`) then run unchanged on it, so
an answer on write means what the batch means.

:func:`grow` extends it along strong links, expanding the applicants of the
new applicant's group a round at a time, until the group stops growing or
``policy.online_group_cap`` applicants are in hand: what the batch would call
the applicant's component, seen from the application.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from graphsvc.analytics.projection import Projection
from graphsvc.ingest.contract import LinkRole
from graphsvc.people.consent import ConsentRules
from graphsvc.store.base import SOURCE_CODES, GraphArrays, Store


@dataclass
class Neighbourhood:
    """What was fetched around one applicant (always at position 0)."""

    applicant_id: str
    cap: int
    links: list[tuple] = field(default_factory=list)  # (applicant, kind, value, contact, first_seen, source)
    consents: dict[str, str] = field(default_factory=dict)  # stated consents of the applicants named
    degree: dict[tuple[str, str], int] = field(default_factory=dict)  # counted degree per identifier
    fetched: set[tuple[str, str]] = field(default_factory=set)  # identifiers whose links are all here
    expanded: set[str] = field(default_factory=set)  # applicants whose identifiers are all here
    outcomes: list[tuple] = field(default_factory=list)
    applications: list[tuple] = field(default_factory=list)
    relations: pd.DataFrame | None = None
    timed: set[str] = field(default_factory=set)  # applicants whose outcomes and applications are here
    truncated: bool = False
    _seen: set[tuple] = field(default_factory=set, repr=False)  # (applicant, kind, value, contact) of the links
    _people: set[str] = field(default_factory=set, repr=False)  # every applicant named
    _relations: list[tuple] | None = field(default=None, repr=False)

    def add_rows(self, rows: list[tuple]) -> None:
        """Rows of :meth:`Store.neighbourhood`."""
        contact = str(LinkRole.CONTACT)
        for kind, value, degree, holder, role, _relation, first_seen, source, consents in rows:
            key = (kind, value)
            if degree > self.degree.get(key, 0):
                self.degree[key] = int(degree)
            if holder is None:
                continue
            if degree <= self.cap:  # a hub (counted past the cap) comes with the asked applicants' links only
                self.fetched.add(key)
            link = (holder, kind, value, role == contact)
            if link not in self._seen:
                self._seen.add(link)
                self.links.append((*link, first_seen, source))
                self._people.add(holder)
                if consents is not None:
                    self.consents[holder] = consents

    def add_link(self, applicant: str, kind: str, value: str, contact: bool, first_seen: float,
                 source: str | None = None) -> None:
        """A link the store does not hold yet (a dry run's application)."""
        if (applicant, kind, value, contact) not in self._seen:
            self._seen.add((applicant, kind, value, contact))
            self.links.append((applicant, kind, value, contact, first_seen, source))
            if (kind, value) not in self.degree:  # a new value: all its holders are here (a hub stays counted)
                self.fetched.add((kind, value))
            self.degree[(kind, value)] = self.degree.get((kind, value), 0) + 1
            self._people.add(applicant)

    def add_people(self, applicant_ids) -> None:
        self._people.update(applicant_ids)

    def _relation_rows(self) -> list[tuple]:
        """Relations as (src, dst, type, at or None), read once."""
        if self._relations is None:
            frame = self.relations
            self._relations = [] if frame is None or not len(frame) else [  # itertuples makes a class per call
                (src, dst, kind, None if pd.isna(at) else float(at))
                for src, dst, kind, at in zip(frame["src_applicant_id"].tolist(), frame["dst_applicant_id"].tolist(),
                                              frame["type"].tolist(), frame["at"].tolist())]
        return self._relations

    @property
    def applicants(self) -> list[str]:
        others = self._people - {self.applicant_id}
        return [self.applicant_id, *sorted(others)]

    def projection(self, as_of: float | None = None, labels_until: float | None = None,
                   consent: ConsentRules | None = None) -> Projection:
        """The neighbourhood as a projection (the applicant at position 0), with only
        the links, outcomes, applications and relations known at ``as_of`` (undated
        ones always count), outcomes only if also observed by ``labels_until``, and
        contact links only as the consent rules allow for linkage."""
        def known(at, until=as_of) -> bool:
            return until is None or at is None or at != at or at <= until

        def labelled(at) -> bool:
            return known(at) and known(at, labels_until)

        applicants = np.array(self.applicants, dtype=object)
        where = {a: i for i, a in enumerate(applicants)}
        identifiers = sorted(self.degree)
        index = {key: i for i, key in enumerate(identifiers)}
        kinds = tuple(sorted({k for k, _ in identifiers}))
        # in the order fetched: what reads the arrays does not need them sorted
        links = [link for link in self.links if known(link[4])]
        outcomes = [o for o in self.outcomes if labelled(o[2])]
        applications = [p for p in self.applications if known(p[1])]
        relations = [r for r in self._relation_rows() if known(r[3])]
        counted = np.array([0 if key in self.fetched else self.degree[key] for key in identifiers], dtype=np.int64)
        arrays = GraphArrays(
            applicants=applicants, kinds=kinds,
            identifier_kind=np.array([kinds.index(k) for k, _ in identifiers], dtype=np.int8),
            identifier_ref=np.arange(len(identifiers), dtype=np.int64),
            link_applicant=np.array([where[link[0]] for link in links], dtype=np.int32),
            link_identifier=np.array([index[(link[1], link[2])] for link in links], dtype=np.int32),
            link_contact=np.array([link[3] for link in links], dtype=bool),
            link_first_seen=np.array([np.nan if link[4] is None else link[4] for link in links], dtype=float),
            link_source=np.array([SOURCE_CODES.get(link[5], 0) for link in links], dtype=np.int8),
            applicant_consents=np.array([self.consents.get(a) for a in applicants], dtype=object),
            outcome_applicant=np.array([where[o[0]] for o in outcomes], dtype=np.int32),
            outcome=np.array([o[1] for o in outcomes], dtype=object),
            outcome_at=np.array([np.nan if o[2] is None else o[2] for o in outcomes], dtype=float),
            application_applicant=np.array([where[p[0]] for p in applications], dtype=np.int32),
            application_at=np.array([p[1] for p in applications], dtype=np.int64),
            relation_src=np.array([where[r[0]] for r in relations], dtype=np.int32),
            relation_dst=np.array([where[r[1]] for r in relations], dtype=np.int32),
            relation_type=np.array([r[2] for r in relations], dtype=object),
            relation_at=np.array([np.nan if r[3] is None else r[3] for r in relations], dtype=float),
            identifier_value=np.array([v for _, v in identifiers], dtype=object),
            identifier_degree=counted,
        )
        return Projection.build(arrays, consent=consent)


def around(store: Store, applicant_id: str, identifiers: list[tuple[str, str]], cap: int) -> Neighbourhood:
    """The applicant, the given identifiers and its stored ones, everyone linked to
    them (identifiers above ``cap`` counted only), and their outcomes and applications."""
    found = Neighbourhood(applicant_id, cap)
    found.add_people([applicant_id])
    found.add_rows(store.neighbourhood([applicant_id], identifiers, cap))
    found.expanded.add(applicant_id)
    found.relations = store.applicant_relations([applicant_id])
    if len(found.relations):
        found.add_people(set(found.relations["src_applicant_id"]) | set(found.relations["dst_applicant_id"]))
    _time(store, found)
    return found


def expand(store: Store, found: Neighbourhood, applicants: list[str]) -> None:
    """Fetch the identifiers of ``applicants`` and everyone linked to them."""
    wanted = sorted(set(applicants) - found.expanded)
    if wanted:
        found.add_rows(store.neighbourhood(wanted, [], found.cap))
        found.expanded.update(wanted)
        _time(store, found)


def _time(store: Store, found: Neighbourhood) -> None:
    missing = sorted(set(found.applicants) - found.timed)
    if missing:
        outcomes, applications = store.timelines(missing)
        found.outcomes.extend(outcomes)
        found.applications.extend(applications)
        found.timed.update(missing)


def deadline_passed(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() > deadline
