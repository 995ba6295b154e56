"""Reading Neo4j by natural keys, with the named queries of ``queries/store``.

Identifiers are addressed by ``ref``, the same 63-bit key of kind and value the
embedded store uses (:func:`graphsvc.ingest.keys.identifier_ids`), so a look-up never
needs a value index and the two stores agree on every key.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from graphsvc.ingest import keys
from graphsvc.store.base import LINK_COLUMNS, RELATION_COLUMNS, SOURCE_CODES, GraphArrays
from graphsvc.store.neo4j.tx import frame, run, run_values
from graphsvc.store.rows import ApplicantOutcome, ApplicationEvent, NeighbourRow, OutcomeEvent
from graphsvc.store.staging import lookup

_MANIFEST = ["checksum", "tbl", "start_row", "end_row", "source", "file", "rows_read", "loaded", "duplicates",
             "rejected", "loaded_at"]
_UNCAPPED = 2 ** 62


def refs_of(identifiers: list[tuple[str, str]]) -> list[int]:
    """Refs (store keys) of identifiers given as (kind, value)."""
    by_kind: dict[str, list[str]] = {}
    for kind, value in identifiers:
        by_kind.setdefault(str(kind), []).append(value)
    return [h for kind, values in sorted(by_kind.items())
            for h in keys.identifier_ids(kind, np.array(values, dtype=object)).tolist()]


class Reader:
    """The read half of :class:`~graphsvc.store.neo4j.Neo4jStore`."""

    def loaded_batches(self, checksum: str, table: str) -> pd.DataFrame:
        return frame(self._read("store/loaded_batches", checksum=checksum, table=table), _MANIFEST)

    def rejects(self, checksum: str, table: str) -> pd.DataFrame:
        return frame(self._read("store/rejects", checksum=checksum, table=table),
                     ["file", "row", "column", "reason", "detail"])

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {"nodes": {"applicant": 0}, "links": {},
                                          "facts": {"applications": 0, "contacts": 0, "sightings": 0},
                                          "outcomes": {}, "relations": {}}
        for row in self._read("store/counts"):
            if row["n"] or row["part"] in ("nodes", "facts"):
                out[row["part"]][str(row["key"])] = int(row["n"])
        return {part: dict(sorted(values.items())) if part not in ("nodes", "facts") else values
                for part, values in out.items()}

    def pending(self) -> pd.DataFrame:
        return frame(self._read("store/pending"), ["table", "rows", "oldest"])

    def applicant_links(self, applicant_ids: list[str]) -> pd.DataFrame:
        return frame(self._read("store/applicant_links", ids=list(applicant_ids)), LINK_COLUMNS)

    def applicant_relations(self, applicant_ids: list[str]) -> pd.DataFrame:
        return frame(self._read("store/applicant_relations", ids=list(applicant_ids)), RELATION_COLUMNS)

    def identifier_degrees(self, identifiers: list[tuple[str, str]], cap: int | None = None) -> pd.DataFrame:
        rows = self._read("store/identifier_degrees", refs=refs_of(identifiers),
                          limit=_UNCAPPED if cap is None else int(cap) + 1)
        out = frame(rows, ["kind", "value", "degree"])
        return out[out["degree"] > 0].reset_index(drop=True)

    def identifier_links(self, identifiers: list[tuple[str, str]], max_degree: int | None = None) -> pd.DataFrame:
        if max_degree is not None:
            degrees = self.identifier_degrees(identifiers, cap=max_degree)
            keep = degrees["degree"] <= max_degree
            identifiers = list(zip(degrees.loc[keep, "kind"], degrees.loc[keep, "value"]))
        return frame(self._read("store/identifier_links", refs=refs_of(identifiers)), LINK_COLUMNS)

    def applicants(self, applicant_ids: list[str]) -> pd.DataFrame:
        rows = self._read("store/applicants", ids=list(applicant_ids))
        for row in rows:  # as the embedded store gives them: distinct outcomes joined by commas, or None
            row["outcomes"] = ",".join(sorted(row["outcomes"])) or None
        return frame(rows, ["applicant_id", "properties", "applications", "outcomes"])

    def shared_identifiers(self, kind: str, min_degree: int = 2) -> pd.DataFrame:
        return frame(self._read("store/shared_identifiers", kind=kind, min_degree=min_degree),
                     ["kind", "value", "degree", "fraud"])

    def neighbourhood(self, applicant_ids: list[str], identifiers: list[tuple[str, str]],
                      cap: int) -> list[NeighbourRow]:
        rows = self._read("store/neighbourhood", applicant_ids=list(applicant_ids), refs=refs_of(identifiers),
                          limit=int(cap) + 1)
        return [NeighbourRow(r["kind"], r["value"], r["degree"], r["holder"], r["role"], r["relation"],
                             r["first_seen"], r["source"], r["consents"]) for r in rows]

    def timelines(self, applicant_ids: list[str]) -> tuple[list[OutcomeEvent], list[ApplicationEvent]]:
        rows = self._read("store/timelines", ids=list(applicant_ids))
        outcomes = [OutcomeEvent(r["applicant_id"], r["what"], r["at"]) for r in rows if r["event"] == "outcome"]
        applications = [ApplicationEvent(r["applicant_id"], r["at"]) for r in rows if r["event"] == "application"]
        return outcomes, applications

    def applicant_outcomes(self, applicant_id: str) -> list[ApplicantOutcome]:
        return [ApplicantOutcome(r["outcome"], r["observed_at"], r["phone"])
                for r in self._read("store/applicant_outcomes", applicant_id=applicant_id)]

    def application(self, application_id: str) -> dict | None:
        rows = self._read("store/application_digests", keys=[application_id])
        if not rows:
            return None
        return {"applicant_id": rows[0]["applicant_id"], "applied_at": rows[0]["applied_at"],
                "digest": rows[0]["digest"]}

    def outcome_events(self, outcome: str) -> pd.DataFrame:
        return frame(self._read("store/outcome_events", outcome=outcome), ["applicant_id", "observed_at"])

    def graph_arrays(self, as_of: int | None = None) -> GraphArrays:
        def work(tx: Any) -> dict[str, list]:
            return {"applicants": run_values(tx, "store/all_applicants"),
                    "identifiers": run_values(tx, "store/all_identifiers"),
                    "links": run_values(tx, "store/all_links", as_of=as_of, undated=_UNDATED,
                                        source_codes=SOURCE_CODES),
                    "applications": run_values(tx, "store/all_applications", as_of=as_of),
                    "all_outcomes": run(tx, "store/all_outcomes", as_of=as_of),
                    "all_relations": run(tx, "store/all_relations", as_of=as_of)}

        data = self._read_all(work)
        (ids, stated), (refs, kinds_of) = data["applicants"][0], data["identifiers"][0]
        applicants = np.array(ids, dtype=object)
        consents = np.array(stated, dtype=object)
        consents[consents == _NEVER_STATED] = None
        index = pd.Index(applicants)
        refs = np.array(refs, dtype=np.int64)
        codes, kinds = pd.factorize(pd.Series(kinds_of, dtype=object), sort=True)
        # links, outcomes and applications naming an applicant or identifier read after
        # the node lists (a concurrent load) are left for the next run
        link_applicant = index.get_indexer(_repeated(data["links"]))
        link_identifier, known_ref = lookup(refs, _flat(data["links"], 1, np.int64))
        ok = (link_applicant >= 0) & known_ref
        contact = _flat(data["links"], 2, bool)
        first_seen = _flat(data["links"], 3, float)
        first_seen[first_seen == _UNDATED] = np.nan
        source = _flat(data["links"], 4, np.int8)
        order = np.lexsort((contact[ok], link_identifier[ok], link_applicant[ok]))
        outcomes = frame(data["all_outcomes"], ["applicant_id", "outcome", "observed_at"])
        outcome_applicant = index.get_indexer(outcomes["applicant_id"])
        application_applicant = index.get_indexer(_repeated(data["applications"]))
        application_at = _flat(data["applications"], 1, np.int64)
        relations = frame(data["all_relations"], ["src", "dst", "type", "at"])
        src, dst = index.get_indexer(relations["src"]), index.get_indexer(relations["dst"])
        known_relation = (src >= 0) & (dst >= 0)
        return GraphArrays(
            applicants=applicants, kinds=tuple(str(k) for k in kinds), identifier_kind=codes.astype(np.int8),
            identifier_ref=refs,
            link_applicant=link_applicant[ok][order].astype(np.int32),
            link_identifier=link_identifier[ok][order].astype(np.int32),
            link_contact=contact[ok][order],
            link_first_seen=first_seen[ok][order],
            link_source=source[ok][order],
            applicant_consents=consents,
            outcome_applicant=outcome_applicant[outcome_applicant >= 0].astype(np.int32),
            outcome=outcomes["outcome"].to_numpy(object)[outcome_applicant >= 0],
            outcome_at=pd.to_numeric(outcomes["observed_at"], errors="coerce").to_numpy(float)[outcome_applicant >= 0],
            application_applicant=application_applicant[application_applicant >= 0].astype(np.int32),
            application_at=application_at[application_applicant >= 0],
            relation_src=src[known_relation].astype(np.int32), relation_dst=dst[known_relation].astype(np.int32),
            relation_type=relations["type"].to_numpy(object)[known_relation],
            relation_at=pd.to_numeric(relations["at"], errors="coerce").to_numpy(float)[known_relation],
        )

    def identifier_values(self, refs: np.ndarray) -> pd.DataFrame:
        return frame(self._read("store/identifier_values", refs=np.unique(refs).astype(np.int64).tolist()),
                     ["ref", "kind", "value"])


#: an undated link's first_seen in ``store/all_links``: outside the time domain (1900 to 2100)
_UNDATED = -(2**62)
#: consents of an applicant who never stated any, in ``store/all_applicants`` (lists hold no nulls)
_NEVER_STATED = "-"  # never a canonical consents text


def _repeated(records: list[list]) -> np.ndarray:
    """Each record's first value (an applicant id) once per element of its second (a list)."""
    return np.repeat(np.array([r[0] for r in records], dtype=object), [len(r[1]) for r in records])


def _flat(records: list[list], column: int, dtype) -> np.ndarray:
    """The list in ``column`` of every record, concatenated."""
    count = sum(len(r[column]) for r in records)
    return np.fromiter(itertools.chain.from_iterable(r[column] for r in records), dtype=dtype, count=count)
