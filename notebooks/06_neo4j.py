# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # The same investigation on Neo4j with Graph Data Science
#
# Runs only when a Neo4j server is configured (`GRAPHSVC_NEO4J_URI`, `_USER`,
# `_PASSWORD`, `_DATABASE`; Neo4j 5.26+ with the GDS plugin). It loads the notebooks'
# generated sample into Neo4j, re-scores it on GDS, compares the rings with the
# embedded engine's, and runs the investigator queries of `queries/investigate` by
# name. Use a throw-away database: the sample is loaded into it.

# %%
import os

import pandas as pd

import graphsvc
from _data import WORKDIR, store
from graphsvc.analytics.backtest import adjusted_rand
from graphsvc.ingest.loader import load
from graphsvc.scenarios import TABLE_FILES
from graphsvc.settings import Settings, ensure_demo_key
from graphsvc.ingest.sources import canonical_sources

if not os.environ.get("GRAPHSVC_NEO4J_URI"):
    raise SystemExit("set GRAPHSVC_NEO4J_URI (and _USER, _PASSWORD, _DATABASE) to run this notebook")

embedded_db = store()  # the embedded sample, generated and re-scored once
key = ensure_demo_key(WORKDIR / "hmac.key")
neo = graphsvc.open(settings=Settings(backend="neo4j", hmac_key_file=key))
data = WORKDIR / "sample"
report = load(neo.store, canonical_sources({t: data / f"{t}.parquet" for t in TABLE_FILES}), settings=neo.settings)
report.summary()[["table", "read", "loaded", "already_loaded", "rejected"]]

# %% [markdown]
# Both stores hold the same graph:

# %%
local = graphsvc.open(embedded_db, readonly=True, settings=Settings(hmac_key_file=key))
if neo.counts() != local.counts():
    raise SystemExit("the Neo4j database holds more than this sample: point GRAPHSVC_NEO4J_DATABASE (or _URI) at "
                     "an empty, throw-away database")
neo.counts()

# %% [markdown]
# Re-score on GDS (WCC, Leiden, personalised PageRank) and compare the rings with the
# embedded engine's (leidenalg under the constant Potts model): rings up to 60 members
# are plain components and agree; larger components may split differently.

# %%
run = neo.rescore(seed=7)
ours = neo.store.run_table(run["run_id"], "ring_members")
theirs = local.store.run_table(local.store.served_run()["run_id"], "ring_members")
everyone = sorted(set(ours["applicant_id"]) | set(theirs["applicant_id"]))
a = pd.Series(ours.set_index("applicant_id")["ring_id"]).reindex(everyone).fillna("none").to_numpy()
b = pd.Series(theirs.set_index("applicant_id")["ring_id"]).reindex(everyone).fillna("none").to_numpy()
print(f"rings: GDS {ours['ring_id'].nunique()}, embedded {theirs['ring_id'].nunique()}; "
      f"adjusted Rand index of the memberships {adjusted_rand(a, b):.3f}")

# %% [markdown]
# The investigator queries, by name:

# %%
print(neo.query("investigate/shared_device_rings", min_size=3, max_size=50, limit=5))
print(neo.query("investigate/contact_cycles", limit=5))
suspect = ours["applicant_id"].iloc[0]
print(neo.query("investigate/evidence_path_to_fraud", applicant_id=suspect, max_degree=50))
print(neo.query("investigate/skiptrace_candidates", applicant_id=suspect, max_degree=50))

# %%
neo.close()
local.close()
