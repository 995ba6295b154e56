"""People: reaching a borrower who stopped answering (skip-tracing), and the rights of
the people the store holds (subject access, erasure, human review, retention).

In: the store, the settings (the identity-number key erasure tokenises with) and the
policy in force. Out: ranked contact points, exports, review records and what was
removed; every erasure is audited in its own transaction.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from graphsvc.errors import InputError
from graphsvc.ingest.normalise import parse_as_of
from graphsvc.settings import Settings
from graphsvc.store import Store


class People:
    """Skip-tracing and the data rights of :class:`~graphsvc.service.Service`."""

    store: Store
    settings: Settings

    def subject_access(self, applicant_id: str) -> dict:
        """Everything held about one person, for them to read (:mod:`graphsvc.people.subject`):
        applications, identifiers (identity numbers as held only), declared contacts, how
        many list them, outcomes, relations, every run's score and reasons, and every
        audit row of access to their data. The caller records the access."""
        from graphsvc.people import subject

        return subject.export(self.store, applicant_id)

    def forget(self, applicant_id: str, reason: str, *, caller: str, role: str = "admin",
               route: str = "graphsvc subject forget", method: str = "CLI", dry_run: bool = False) -> dict:
        """Erase one person (:mod:`graphsvc.people.erasure`) in one audited transaction and keep
        them erased: what was removed, by kind of row, and the label that now stands for
        them in other applicants' reasons. ``dry_run`` only says what would be removed.

        Raises
        ------
        NotFoundError
            When the store holds no such applicant.
        """
        from graphsvc.people import erasure
        from graphsvc.store.base import access_entry

        if len(reason.strip()) < 3:
            raise InputError("the reason must say why (3 characters or more)")
        plan = erasure.plan(self.store, applicant_id, reason.strip(), self.settings.identity_key())
        if dry_run:
            return {**plan.summary(), "removed": {}}
        entry = access_entry(caller, role, route, method, 200, [applicant_id], purpose=f"erasure: {reason.strip()}")
        return {**plan.summary(), "removed": self.store.forget([plan], [entry])[0]}

    def request_review(self, applicant_id: str, *, by: str, reason: str | None = None,
                       application_id: str | None = None) -> dict:
        """Record a person's request for human review of the automated decision on them
        (:mod:`graphsvc.people.decision`); the caller records the access."""
        from graphsvc.people import decision

        return decision.request(self.store, applicant_id, by=by, reason=reason, application_id=application_id)

    def reviews(self, status: str | None = None) -> pd.DataFrame:
        """Review requests, newest first (``store.base.REVIEW_COLUMNS``)."""
        return self.store.reviews(status=status)

    def close_review(self, review_id: str, *, by: str, outcome: str, note: str) -> dict:
        """Close an open review with its outcome (``upheld`` or ``changed``) and a note."""
        from graphsvc.people import decision

        return decision.close(self.store, review_id, by=by, outcome=outcome, note=note)

    def skiptrace(self, applicant_id: str, limit: int = 10) -> pd.DataFrame:
        """Ranked contact points for a borrower who stopped answering: phone,
        channel (own or third party), evidence, confidence, usage and the path.

        Examples
        --------
        >>> svc.skiptrace("A00000063", limit=2)[["rank", "channel", "evidence"]].values.tolist()
        [[1, 'third_party', 'declared_contact'], [2, 'third_party', 'declared_contact']]
        """
        from graphsvc.people.skiptrace import skiptrace

        return skiptrace(self.store, applicant_id, self.policy, limit=limit)

    def lost_contact(self) -> list[str]:
        """Borrowers whose contact is lost (and not restored since).

        Examples
        --------
        >>> lost = svc.lost_contact()
        >>> len(lost), lost[:2]
        (320, ['A00000063', 'A00000295'])
        """
        from graphsvc.people.skiptrace import lost_contact_borrowers

        return lost_contact_borrowers(self.store)

    def skiptrace_eval(self, truth: pd.DataFrame, progress=None) -> pd.DataFrame:
        """Hit@1, hit@3, MRR and coverage of skip-tracing against a truth table of lost-contact
        borrowers, per route (:func:`graphsvc.people.skiptrace.evaluate`)."""
        from graphsvc.people.skiptrace import evaluate

        return evaluate(self.store, truth, self.policy, progress=progress)

    def retention(self, rules: str | Path | None = None, *, as_of: str | None = None, dry_run: bool = False,
                  caller: str = "graphsvc retention") -> dict:
        """Forget every applicant whose newest application or outcome is older than its
        retention period (:mod:`graphsvc.people.retention`; ``rules`` a JSON file, else the
        defaults) as :meth:`forget` does, and remove every contact link past its source's
        period. Returns ``applicants`` (a frame of who was forgotten), ``contact_links``
        (how many went) and ``rules_version``; with ``dry_run``, who and how many are past
        their period, nothing removed."""
        from graphsvc.people import retention

        chosen = retention.RetentionRules.from_file(rules) if rules else retention.RetentionRules()
        when = parse_as_of(as_of, self.settings.timezone) if as_of else int(time.time())
        if dry_run:
            found = retention.due(self.store, chosen, when)
            links = len(retention.due_contacts(self.store, chosen, when))
        else:
            key = self.settings.identity_key()
            found = retention.apply(self.store, chosen, when, key, caller=caller)
            links = retention.apply_contacts(self.store, chosen, when, key, caller=caller)["links"]
        return {"applicants": found, "contact_links": links, "rules_version": chosen.version}
