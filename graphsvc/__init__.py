"""graphsvc: graph-based fraud-ring and relationship analysis for consumer lenders.

>>> import graphsvc
>>> svc = graphsvc.open("demo-data/graph.db")
>>> svc.counts()["nodes"]
{'applicant': 20000, 'device': 20371, 'id_number': 19775, 'ip': 8037, 'phone': 40891, 'subnet': 7891}
>>> svc.close()
"""

from graphsvc.errors import GraphsvcError
from graphsvc.service import Service, open

__all__ = ["GraphsvcError", "Service", "open", "__version__"]
__version__ = "0.1.0"
