"""Presentation for people: pictures of the graph and reports of a run.

In: networkx graphs from the service (a neighbourhood, a ring) and a run's tables.
Out: files an investigator opens: PNG, offline interactive HTML, GraphML and GEXF
(:mod:`~graphsvc.present.pictures`), and a self-contained HTML report of a run
(:mod:`~graphsvc.present.report`).
"""
