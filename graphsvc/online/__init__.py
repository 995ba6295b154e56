"""Online: score-on-write, for underwriting, one application at a time.

In: one application with its contacts, as the API's body or a replayed row. Out:
the application stored in one transaction (:mod:`~graphsvc.online.intake`: invalid
optional values quarantined and listed in ``ignored``) and its score, band and
reasons, computed from its bounded neighbourhood
(:mod:`~graphsvc.online.neighbourhood`) with the batch's own code and the served run
(:mod:`~graphsvc.online.scoring`). :mod:`~graphsvc.online.replay` replays later
applications through this path to measure what it catches at application time.
"""
