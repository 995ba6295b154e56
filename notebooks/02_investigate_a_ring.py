# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # Investigating a ring
#
# The riskiest ring of the latest run: a picture of it, who shares what, and the
# timeline of its members' applications.

# %%
import pandas as pd

import graphsvc
from _data import WORKDIR, store
from graphsvc.present.pictures import save

svc = graphsvc.open(store(), readonly=True)
ring = svc.rings(top=1).iloc[0]
ring

# %%
graph = svc.ring_graph(ring["ring_id"])
picture = save(graph, WORKDIR / f"ring-{ring['ring_id']}.png", title=f"ring {ring['ring_id']}")
page = save(graph, WORKDIR / f"ring-{ring['ring_id']}.html", title=f"ring {ring['ring_id']}")
print(picture, page)

# %% [markdown]
# Who shares what: every identifier held or listed by two members or more.

# %%
members = svc.ring_members(ring["ring_id"])
links = svc.store.applicant_links(members["applicant_id"].tolist())
shared = (links.groupby(["kind", "value", "role"])["applicant_id"].agg(["nunique", lambda a: sorted(set(a))])
          .rename(columns={"nunique": "members", "<lambda_0>": "who"}))
shared = shared[shared["members"] >= 2].sort_values("members", ascending=False)
shared

# %% [markdown]
# The timeline: applications in a burst are the mark of organised fraud.

# %%
own = links[links["role"] == "own"]
timeline = own.groupby("applicant_id")["first_seen"].min().sort_values()
timeline = pd.to_datetime(timeline, unit="s", utc=True)
print(f"{len(timeline)} members applied between {timeline.min():%Y-%m-%d} and {timeline.max():%Y-%m-%d}")
timeline.to_frame("first application").join(members.set_index("applicant_id")[["score", "band"]])

# %%
assert picture.stat().st_size > 10_000 and len(shared) > 0
