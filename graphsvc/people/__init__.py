"""People: reaching a borrower who stopped answering, and the rights of the people held.

In: the store and the policy's consent rules. Out: ranked contact points
(:mod:`~graphsvc.people.skiptrace`), what may be used for what
(:mod:`~graphsvc.people.consent`), a person's data for them to read
(:mod:`~graphsvc.people.subject`), erasure that stays erased
(:mod:`~graphsvc.people.erasure`, :mod:`~graphsvc.people.retention`) and human
review of automated decisions (:mod:`~graphsvc.people.decision`).
"""
