"""graphsvc: graph-based fraud-ring and relationship analysis for consumer lenders.

>>> import graphsvc
>>> svc = graphsvc.open("demo-data/graph.db")   # doctest: +SKIP
>>> svc.counts()                                # doctest: +SKIP
"""

from graphsvc.errors import GraphsvcError
from graphsvc.service import Service, open

__all__ = ["GraphsvcError", "Service", "open", "__version__"]
__version__ = "0.1.0"
