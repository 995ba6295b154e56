"""Ingest: a lender's files become validated, normalised rows of the data contract.

In: CSV or Parquet files, read as contract tables directly or through a source
mapping (``loaders/*.toml``: :mod:`~graphsvc.ingest.sources`,
:mod:`~graphsvc.ingest.templates`). Out: batches for the store
(:mod:`~graphsvc.ingest.loader`), each with its rejects and quarantined fields.

* :mod:`~graphsvc.ingest.contract`: the tables, columns, identifier kinds, roles and
  reason codes every other stage speaks;
* :mod:`~graphsvc.ingest.normalise`: one canonical form per kind (E.164 phones, HMAC
  tokens of identity numbers, IP networks, epoch seconds);
* :mod:`~graphsvc.ingest.validate`: row rules, what is quarantined and what rejected;
* :mod:`~graphsvc.ingest.keys`: the 63-bit hashes of natural keys that make a re-run
  a no-op.
"""
