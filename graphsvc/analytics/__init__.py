"""Analytics: the whole-graph re-score and what measures it.

In: the store's graph as arrays, cut at an as-of time
(:mod:`~graphsvc.analytics.projection`), and the policy in force
(:mod:`~graphsvc.analytics.policy`) or a fitted scorecard
(:mod:`~graphsvc.analytics.model`). Out: a versioned run (scores, bands and reasons
per applicant, rings with their features, hubs) written back to the store and
served when it covers it (:mod:`~graphsvc.analytics.serving`).

The walk of :func:`~graphsvc.analytics.rescore.rescore`: linkage (weighted
applicant-to-applicant links, hubs left out: :mod:`~graphsvc.analytics.linkage`) →
rings (:mod:`~graphsvc.analytics.rings`) → propagation of fraud and default
(:mod:`~graphsvc.analytics.propagation`) → point-in-time features
(:mod:`~graphsvc.analytics.features`) → reasons and scores
(:mod:`~graphsvc.analytics.reasons`, :mod:`~graphsvc.analytics.scoring`).
:mod:`~graphsvc.analytics.explain` spells a score's evidence out;
:mod:`~graphsvc.analytics.backtest` and :mod:`~graphsvc.analytics.parity` measure it.
"""
