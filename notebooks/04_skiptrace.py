# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # Skip-tracing a lost-contact borrower
#
# Ranked ways to reach a borrower who stopped answering: own channels first, third
# parties only to ask for a way to reach them. Then how well it does against the
# generator's truth.

# %%
import pandas as pd

import graphsvc
from _data import WORKDIR, store
from graphsvc.people.skiptrace import evaluate

svc = graphsvc.open(store(), readonly=True)
lost = svc.lost_contact()
print(f"{len(lost)} borrowers have lost contact")
svc.skiptrace(lost[0])

# %% [markdown]
# Against the truth: hit@1, hit@3 and mean reciprocal rank by how the new phone is discoverable.

# %%
truth = pd.read_parquet(WORKDIR / "sample" / "truth_lost_contact.parquet")
figures = evaluate(svc.store, truth)
figures

# %%
assert figures.set_index("route").loc["reachable", "hit_at_3"] >= 0.7
