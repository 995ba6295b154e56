# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # Quick start
#
# A generated sample of applicants loaded into the embedded store and re-scored:
# what the graph holds, the riskiest rings, and who scores high.

# %%
import graphsvc
from _data import WORKDIR, store

svc = graphsvc.open(store(), readonly=True)
svc.counts()

# %% [markdown]
# The most shared devices: a device held by many applicants is a device farm.

# %%
svc.shared_identifiers("device", top=5)

# %% [markdown]
# The latest re-score run and its riskiest rings.

# %%
run = svc.runs().iloc[0]
print(run["run_id"], run["counts"])
rings = svc.rings(top=5)
rings[["ring_id", "size", "risk", "fraud", "default", "velocity", "devices_per_member", "agent_share"]]

# %%
scores = svc.scores()
scores["band"].value_counts()

# %%
assert len(rings) > 0 and scores["score"].between(0, 1000).all()
print(f"work folder: {WORKDIR}")
