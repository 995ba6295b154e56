"""Consent rules: which purposes may use contacts from which sources.

A contact comes from a source (``contract.CONTACT_SOURCES``): an ``emergency``
contact the borrower declared, or an ``address_book`` read from the borrower's
phone. Each source says, per purpose, whether its contacts may be used:

=================  ====================================================================
use                meaning
=================  ====================================================================
``allowed``        always
``with_consent``   only for applicants whose newest application stating ``consents``
                   names the source (``address_book``); ``none`` withdraws it
``never``          never
=================  ====================================================================

The purposes are ``linkage`` (fraud linkage: scores, rings, explanations and every
view of the graph an investigator opens) and ``collections`` (skip-trace). By
default emergency contacts serve both (in collections only as third parties to ask
for the borrower, :mod:`graphsvc.people.skiptrace`), and address-book contacts feed
linkage only with the applicant's consent and are never proposed to collectors.
Contacts whose source was not given (or a source the rules do not list) follow
``unstated``, by default used like emergency contacts.

The rules are part of the scoring policy (``Policy.consent``), so a run records
them; :attr:`ConsentRules.version` names them in every answer that used them.
A subject access export (:mod:`graphsvc.people.subject`) shows the person every contact
held, whatever its use.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from graphsvc.ingest.contract import CONTACT_SOURCES, LinkRole
from graphsvc.ingest.keys import model_digest
from graphsvc.store.base import SOURCE_NAMES

Use = Literal["allowed", "with_consent", "never"]
Purpose = Literal["linkage", "collections"]


class SourceUse(BaseModel):
    """How the contacts of one source may be used, per purpose."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    linkage: Use
    collections: Use


def _default_sources() -> dict[str, SourceUse]:
    return {"emergency": SourceUse(linkage="allowed", collections="allowed"),
            "address_book": SourceUse(linkage="with_consent", collections="never")}


class ConsentRules(BaseModel):
    """The use of contacts by source and purpose (module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: dict[str, SourceUse] = Field(default_factory=_default_sources)
    unstated: SourceUse = SourceUse(linkage="allowed", collections="allowed")

    @field_validator("sources")
    @classmethod
    def _known_sources(cls, value: dict[str, SourceUse]) -> dict[str, SourceUse]:
        unknown = sorted(set(value) - set(CONTACT_SOURCES))
        if unknown:
            raise ValueError(f"unknown contact sources {unknown}; the sources are {list(CONTACT_SOURCES)}")
        return value

    @property
    def version(self) -> str:
        """``consent-`` and the first 12 hex digits of the rules' digest."""
        return "consent-" + model_digest(self)

    def use(self, source: str | None, purpose: Purpose) -> Use:
        """The use of ``source``'s contacts for ``purpose`` (a source the rules do not
        list, or none, follows ``unstated``)."""
        return getattr(self.sources.get(source) or self.unstated, purpose)

    def allows(self, purpose: Purpose, contact: np.ndarray, source: np.ndarray, consents: np.ndarray) -> np.ndarray:
        """Bool per link: usable for ``purpose``. ``contact`` says which links are contact
        links (own links are always usable), ``source`` holds each link's source name
        (None when not stated), ``consents`` its applicant's stated consents."""
        contact = np.asarray(contact, dtype=bool)
        source = np.asarray(source, dtype=object)
        consents = np.asarray(consents, dtype=object)
        ok = np.ones(len(contact), dtype=bool)
        for name in (None, *CONTACT_SOURCES):
            these = contact & (pd.isna(source) if name is None else source == name)
            if not these.any():
                continue
            use = self.use(name, purpose)
            if use == "never":
                ok[these] = False
            elif use == "with_consent":  # decided once per distinct consents text (a handful)
                codes, stated = pd.factorize(pd.Series(consents[these], dtype=object), use_na_sentinel=True)
                granted = np.array([name in str(c).split(",") for c in stated], dtype=bool)
                ok[these] = (codes >= 0) & granted[np.maximum(codes, 0)] if len(stated) else False
        return ok

    def links(self, frame: pd.DataFrame, purpose: Purpose) -> pd.DataFrame:
        """The rows of a link frame (``store.base.LINK_COLUMNS``) usable for ``purpose``."""
        if not len(frame):
            return frame
        keep = self.allows(purpose, (frame["role"] == str(LinkRole.CONTACT)).to_numpy(),
                           frame["source"].to_numpy(object), frame["consents"].to_numpy(object))
        return frame if keep.all() else frame[keep].reset_index(drop=True)

    def arrays(self, arrays, purpose: Purpose = "linkage"):
        """The :class:`~graphsvc.store.base.GraphArrays` with only the links usable for
        ``purpose`` (the same arrays when all are)."""
        if arrays.link_source is None or not arrays.link_contact.any():
            return arrays
        names = np.array(SOURCE_NAMES, dtype=object)
        consents = (arrays.applicant_consents if arrays.applicant_consents is not None
                    else np.full(len(arrays.applicants), None, dtype=object))
        keep = self.allows(purpose, arrays.link_contact, names[arrays.link_source],
                           consents[arrays.link_applicant])
        if keep.all():
            return arrays
        return dataclasses.replace(
            arrays, link_applicant=arrays.link_applicant[keep], link_identifier=arrays.link_identifier[keep],
            link_contact=arrays.link_contact[keep], link_first_seen=arrays.link_first_seen[keep],
            link_source=arrays.link_source[keep])
