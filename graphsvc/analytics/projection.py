"""The in-memory projection every analytic runs on: sparse incidence matrices.

Built once per run from :meth:`Store.graph_arrays`, optionally "as of" a date, so
a backtest sees only the links and outcomes known then, and only the contact links
the consent rules allow for fraud linkage (:mod:`graphsvc.people.consent`). Applicants and
identifiers are positions (0-based); ``own`` and ``contact`` are applicant ×
identifier CSR matrices of ones (one entry per pair whatever the number of
sightings or relations).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from graphsvc.ingest import normalise
from graphsvc.people.consent import ConsentRules
from graphsvc.store.base import GraphArrays, Store

SMALL = 5_000  # entries: up to this many, a matrix is built from its sorted cells in one step


def incidence(rows: np.ndarray, columns: np.ndarray, shape: tuple[int, int]) -> sparse.csr_matrix:
    """A 0/1 CSR matrix with ones at (rows, columns), duplicates collapsed."""
    if len(rows) <= SMALL:  # a scoring neighbourhood: no COO matrix and conversion on the way
        cells = np.unique(rows.astype(np.int64) * shape[1] + columns)
        row, column = np.divmod(cells, shape[1])
        return sparse.csr_matrix((np.ones(len(cells), dtype=np.float32), column.astype(np.int32),
                                  np.searchsorted(row, np.arange(shape[0] + 1))), shape=shape)
    matrix = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, columns)), shape=shape)
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


@dataclass
class Projection:
    """Applicants, identifiers and what is known of them at ``as_of``."""

    arrays: GraphArrays
    as_of: int | None
    own: sparse.csr_matrix  # applicant x identifier: held as own (phone, device, ip, ...)
    contact: sparse.csr_matrix  # applicant x identifier: phone listed as a contact
    fraud: np.ndarray  # bool per applicant: confirmed fraud known at as_of
    default: np.ndarray  # bool per applicant: default known at as_of
    first_applied: np.ndarray  # float seconds per applicant, NaN when no application
    known: np.ndarray  # bool per applicant: anything known of it at as_of (always, without as_of)
    _service: np.ndarray | None = field(default=None, repr=False)
    cache: dict = field(default_factory=dict, repr=False)  # what analytics build once per projection

    @classmethod
    def build(cls, arrays: GraphArrays, as_of: int | None = None, consent: ConsentRules | None = None) -> Projection:
        """The projection of ``arrays`` with the contact links the consent rules
        (default: :class:`~graphsvc.people.consent.ConsentRules`) allow for fraud linkage."""
        arrays = (consent or ConsentRules()).arrays(arrays, "linkage")
        n, m = len(arrays.applicants), len(arrays.identifier_kind)
        contact = arrays.link_contact
        own = incidence(arrays.link_applicant[~contact], arrays.link_identifier[~contact], (n, m))
        listed = incidence(arrays.link_applicant[contact], arrays.link_identifier[contact], (n, m))

        def flagged(outcome: str) -> np.ndarray:
            mask = np.zeros(n, dtype=bool)
            mask[arrays.outcome_applicant[arrays.outcome == outcome]] = True
            return mask

        first = np.full(n, np.inf)
        np.minimum.at(first, arrays.application_applicant, arrays.application_at.astype(float))
        first[np.isinf(first)] = np.nan
        known = np.zeros(n, dtype=bool)  # anything known of the applicant at as_of
        if as_of is None:
            known[:] = True  # registered (the applicants table) counts too
        known[arrays.link_applicant] = True
        known[arrays.application_applicant] = True
        known[arrays.outcome_applicant] = True
        if arrays.relation_src is not None:
            known[arrays.relation_src] = True
            known[arrays.relation_dst] = True
        return cls(arrays, as_of, own, listed, flagged("fraud"), flagged("default"), first, known)

    @classmethod
    def from_store(cls, store: Store, as_of: int | None = None, consent: ConsentRules | None = None) -> Projection:
        return cls.build(store.graph_arrays(as_of), as_of, consent)

    @property
    def applicants(self) -> np.ndarray:
        return self.arrays.applicants

    def kind_of(self, identifiers: np.ndarray) -> np.ndarray:
        """Kind names of identifier positions."""
        return np.asarray(self.arrays.kinds, dtype=object)[self.arrays.identifier_kind[identifiers]]

    def kind_mask(self, kind: str) -> np.ndarray:
        """Bool per identifier: of this kind."""
        if kind not in self.arrays.kinds:
            return np.zeros(len(self.arrays.identifier_kind), dtype=bool)
        return self.arrays.identifier_kind == self.arrays.kinds.index(kind)

    def holders(self) -> np.ndarray:
        """Applicants holding each identifier as their own (in a scoring
        neighbourhood, at least the counted degree of the hubs it did not fetch). Counted once."""
        if "holders" not in self.cache:
            self.cache["holders"] = self._at_least_counted(np.bincount(self.own.indices, minlength=self.own.shape[1]))
        return self.cache["holders"]

    def listers(self) -> np.ndarray:
        """Applicants listing each identifier as a contact (as :meth:`holders`)."""
        if "listers" not in self.cache:
            self.cache["listers"] = self._at_least_counted(np.bincount(self.contact.indices,
                                                                       minlength=self.contact.shape[1]))
        return self.cache["listers"]

    def _at_least_counted(self, counts: np.ndarray) -> np.ndarray:
        counted = self.arrays.identifier_degree
        return counts if counted is None else np.maximum(counts, counted)

    def service_numbers(self, store: Store | None = None) -> np.ndarray:
        """Bool per identifier: a business service line (toll-free, shared-cost ...) that
        nobody holds and several list; such numbers never link anyone. Computed once."""
        if self._service is None:
            self._service = np.zeros(self.own.shape[1], dtype=bool)
            candidates = np.flatnonzero((self.listers() >= 2) & (self.holders() == 0))
            if len(candidates):
                self._service[candidates] = [normalise.is_service_number(v)
                                             for v in self._kinds_values(candidates, store)[1]]
        return self._service

    def values(self, identifiers: np.ndarray, store: Store | None = None) -> pd.DataFrame:
        """Kind and value of identifier positions: identifier, kind, value (from the
        store, or from the arrays of a scoring neighbourhood, which carry them)."""
        identifiers = np.unique(np.asarray(identifiers, dtype=np.int64))
        kind, value = self._kinds_values(identifiers, store)
        return pd.DataFrame({"identifier": identifiers, "kind": kind, "value": value})

    def _kinds_values(self, identifiers: np.ndarray, store: Store | None) -> tuple[np.ndarray, np.ndarray]:
        """Kinds and values of distinct identifier positions, in their order: from the
        arrays of a scoring neighbourhood, which carry them (no frame, no query), else
        from the store."""
        if self.arrays.identifier_value is not None:
            return self.kind_of(identifiers), self.arrays.identifier_value[identifiers]
        refs = self.arrays.identifier_ref[identifiers]
        found = store.identifier_values(refs).set_index("ref")
        return found.loc[refs, "kind"].to_numpy(object), found.loc[refs, "value"].to_numpy(object)
