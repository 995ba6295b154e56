# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # Explaining a score
#
# Why an applicant without a fraud outcome of their own scores high: every reason
# with its evidence, and the path to confirmed fraud spelled out.

# %%
import json

import graphsvc
from _data import store
from graphsvc.analytics.explain import as_text, catalogue

svc = graphsvc.open(store(), readonly=True)
catalogue()

# %%
scores = svc.scores()
unlabelled = scores[scores["reasons"].notna() & ~scores["reasons"].str.contains("CONFIRMED_FRAUD", na=False)]
applicant = unlabelled.sort_values(["score", "applicant_id"], ascending=[False, True]).iloc[0]["applicant_id"]
explanation = svc.explain(applicant)
print(as_text(explanation))

# %% [markdown]
# The same as data, for a case file:

# %%
print(json.dumps(explanation, indent=1, ensure_ascii=False)[:2000])

# %%
assert explanation["reasons"] and explanation["score"] > 0
