"""The Python API for notebooks: :func:`graphsvc.open` returns a :class:`Service`.

Look-ups take identifier values as people write them (``138 0013 8000``) and
normalise them exactly as the loader does, so a notebook never needs to know the
canonical form. Results are pandas DataFrames and networkx graphs.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import networkx as nx
import pandas as pd

from graphsvc import normalise, serving
from graphsvc.backtest import backtest
from graphsvc.consent import ConsentRules
from graphsvc.errors import ConfigurationError, InputError, NotFoundError
from graphsvc.explain import explain
from graphsvc.model import Model
from graphsvc.policy import Policy
from graphsvc.projection import Projection
from graphsvc.rescore import Progress, parse_as_of, rescore
from graphsvc.settings import Settings, get_settings
from graphsvc.store import Store, open_store
from graphsvc.store.base import require_applicant


def node_id(kind: str, value: str) -> str:
    """Graph node name of an applicant (kind ``applicant``) or identifier."""
    return f"{kind}:{value}"


class Service:
    """Read access to one store, by natural keys.

    Parameters
    ----------
    store : Store
        The store of record.
    settings : Settings, optional
        For look-up normalisation (phone region, identity-number key).
    """

    def __init__(self, store: Store, settings: Settings | None = None) -> None:
        self.store = store
        self.settings = settings or get_settings()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def canonical(self, kind: str, value: str) -> str:
        """The stored form of an identifier value (E.164 phone, HMAC token, ...).

        Raises
        ------
        ValueError
            When the value is not valid for its kind.
        """
        out = normalise.identifiers(kind, pd.Series([value]), region=self.settings.default_region,
                                    identity_key=self.settings.identity_key).iloc[0]
        if out is None:
            raise InputError(f"{value!r} is not a valid {kind}")
        return out

    def counts(self) -> dict[str, dict[str, int]]:
        """Nodes by kind, links by kind and role, facts, outcomes and relations."""
        return self.store.counts()

    def pending(self) -> pd.DataFrame:
        """Facts (contacts, outcomes, sightings, relations) waiting for their applicant, by
        table: ``table, rows, oldest`` (epoch seconds the oldest was kept). They are
        attached in the transaction that stores the applicant."""
        return self.store.pending()

    def applicants_for(self, kind: str, value: str) -> pd.DataFrame:
        """Applicants linked to an identifier, with role, relation, dates and count.

        Examples
        --------
        >>> svc.applicants_for("phone", "138 0013 8000")  # doctest: +SKIP
        """
        links = self.links_to([(kind, self.canonical(kind, value))])
        return _readable(links.drop(columns=["kind", "value"]))

    def identifiers_of(self, applicant_id: str) -> pd.DataFrame:
        """Identifiers linked to an applicant.

        Raises
        ------
        NotFoundError
            When the applicant is unknown.
        """
        self._require(applicant_id)
        links = self.links_of([applicant_id])
        return _readable(links.drop(columns=["applicant_id"]))

    @property
    def consent(self) -> ConsentRules:
        """The consent rules in force: the served run's (the defaults before any run)."""
        from graphsvc.online import latest_basis

        return latest_basis(self.store).policy.consent

    def links_of(self, applicant_ids: list[str]) -> pd.DataFrame:
        """Links of applicants (``store.base.LINK_COLUMNS``), contacts only where the
        consent rules allow their use for linkage: what every view of the graph shows."""
        return self.consent.links(self.store.applicant_links(applicant_ids), "linkage")

    def links_to(self, identifiers: list[tuple[str, str]], max_degree: int | None = None) -> pd.DataFrame:
        """Links of identifiers (holders above ``max_degree`` not read), as :meth:`links_of`."""
        return self.consent.links(self.store.identifier_links(identifiers, max_degree=max_degree), "linkage")

    def ego_network(self, applicant_id: str, hops: int = 2, max_degree: int = 200,
                    max_nodes: int = 5_000, deadline: float | None = None) -> nx.Graph:
        """The neighbourhood of an applicant as a bipartite networkx graph.

        ``hops`` counts edges from the applicant, as :func:`networkx.ego_graph`'s
        radius does: 1 gives its identifiers, 2 adds the applicants sharing them.
        Identifiers held by more than ``max_degree`` applicants (carrier NAT,
        service numbers) are kept as nodes marked ``hub=True`` but not expanded.
        Growth stops once ``max_nodes`` is reached or the ``deadline``
        (``time.monotonic()`` value) passes (the graph is marked ``truncated``).

        Complexity: one store round trip per hop; the work is bounded by
        ``max_degree`` per identifier and ``max_nodes`` overall.
        """
        if hops < 0:
            raise InputError("hops must be >= 0")
        self._require(applicant_id)
        graph = nx.Graph(center=node_id("applicant", applicant_id), truncated=False)
        graph.add_node(node_id("applicant", applicant_id), kind="applicant", value=applicant_id)
        frontier_applicants, frontier_identifiers = [applicant_id], []
        for hop in range(hops):
            if len(graph) >= max_nodes or (deadline is not None and time.monotonic() > deadline):
                graph.graph["truncated"] = True
                break
            if hop % 2 == 0:
                links = self.links_of(frontier_applicants)
                new = self._add_links(graph, links, max_nodes)
                frontier_identifiers = sorted({(k, v) for k, v in new if k != "applicant"})
                degrees = self.store.identifier_degrees(frontier_identifiers)
                for kind, value, degree in degrees.itertuples(index=False):
                    node = graph.nodes[node_id(kind, value)]
                    node["degree"] = int(degree)
                    node["hub"] = bool(degree > max_degree)
            else:
                expandable = [(k, v) for k, v in frontier_identifiers
                              if not graph.nodes[node_id(k, v)].get("hub")]
                links = self.links_to(expandable, max_degree=max_degree)
                new = self._add_links(graph, links, max_nodes)
                frontier_applicants = sorted(v for k, v in new if k == "applicant")
        self._annotate_applicants(graph)
        return graph

    def _add_links(self, graph: nx.Graph, links: pd.DataFrame, max_nodes: int) -> list[tuple[str, str]]:
        new: list[tuple[str, str]] = []
        for row in links.sort_values(["applicant_id", "kind", "value"]).itertuples(index=False):
            a = node_id("applicant", row.applicant_id)
            i = node_id(row.kind, row.value)
            for node, kind, value in ((a, "applicant", row.applicant_id), (i, row.kind, row.value)):
                if node not in graph:
                    if len(graph) >= max_nodes:
                        graph.graph["truncated"] = True
                        return new
                    graph.add_node(node, kind=kind, value=value)
                    new.append((kind, value))
            roles = graph.edges[a, i]["roles"] if graph.has_edge(a, i) else []
            label = row.role if not row.relation else f"{row.role}:{row.relation}"
            graph.add_edge(a, i, roles=sorted(set(roles) | {label}), count=int(row.count),
                           first_seen=normalise.format_timestamp(row.first_seen),
                           last_seen=normalise.format_timestamp(row.last_seen))
        return new

    def _annotate_applicants(self, graph: nx.Graph) -> None:
        ids = [d["value"] for _, d in graph.nodes(data=True) if d["kind"] == "applicant"]
        info = self.store.applicants(ids)
        for row in info.itertuples(index=False):
            node = graph.nodes[node_id("applicant", row.applicant_id)]
            node["outcomes"] = sorted(row.outcomes.split(",")) if isinstance(row.outcomes, str) else []
            node["applications"] = int(row.applications)

    def paths(self, source: str, target: str, max_hops: int = 3, max_degree: int = 200,
              max_nodes: int = 2_000, deadline: float | None = None) -> dict:
        """A shortest evidence path between two applicants, in applicant hops.

        Breadth-first from ``source`` through shared identifiers (own or listed
        phones) and contact listings, never through hubs (more than
        ``max_degree`` holders), visiting at most ``max_nodes`` applicants before
        ``deadline``. Returns ``found``, ``hops``, ``steps`` (each with the links
        between its two applicants) and ``truncated``.

        Raises
        ------
        NotFoundError
            When either applicant is unknown.
        """
        self._require(source)
        self._require(target)
        parents: dict[str, str | None] = {source: None}
        frontier, truncated = [source], False
        for _ in range(max_hops):
            if target in parents or not frontier:
                break
            if len(parents) >= max_nodes or (deadline is not None and time.monotonic() > deadline):
                truncated = True
                break
            links = self.links_of(frontier)
            identifiers = sorted(set(zip(links["kind"], links["value"])))
            reached = self.links_to(identifiers, max_degree=max_degree)
            holders = links.groupby(["kind", "value"])["applicant_id"].apply(list).to_dict()
            nxt = []
            for row in reached.sort_values(["applicant_id", "kind", "value"]).itertuples(index=False):
                if row.applicant_id in parents:
                    continue
                parents[row.applicant_id] = sorted(holders[(row.kind, row.value)])[0]
                nxt.append(row.applicant_id)
                if len(parents) >= max_nodes:
                    truncated = True
                    break
            frontier = nxt
        if target not in parents:
            return {"from": source, "to": target, "found": False, "hops": None, "steps": [], "truncated": truncated}
        chain = [target]
        while parents[chain[-1]] is not None:
            chain.append(parents[chain[-1]])
        chain.reverse()
        steps = [{"from": a, "to": b, "links": self.links_between(a, b)} for a, b in itertools.pairwise(chain)]
        return {"from": source, "to": target, "found": True, "hops": len(chain) - 1, "steps": steps,
                "truncated": truncated}

    def links_between(self, first: str, second: str) -> list[dict]:
        """What links two applicants: identifiers both hold (``shared``), a phone of
        one the other lists (``listed``), a number both list (``co-listed``)."""
        links = self.links_of([first, second])
        mine = links[links["applicant_id"] == first]
        theirs = links[links["applicant_id"] == second]
        out = []
        for (kind, value), a in mine.groupby(["kind", "value"]):
            b = theirs[(theirs["kind"] == kind) & (theirs["value"] == value)]
            if not len(b):
                continue
            roles = {*a["role"], *b["role"]}
            how = ("shared" if "own" in set(a["role"]) and "own" in set(b["role"])
                   else "co-listed" if roles == {"contact"} else "listed")
            out.append({"kind": kind, "value": value, "how": how})
        return out

    def shared_identifiers(self, kind: str, min_degree: int = 2, top: int | None = None) -> pd.DataFrame:
        """Identifiers of ``kind`` held by several applicants, with their fraud share."""
        shared = self.store.shared_identifiers(kind, min_degree)
        shared["fraud_share"] = (shared["fraud"] / shared["degree"]).round(4)
        return shared.head(top) if top else shared

    # -- re-scoring (graphsvc.rescore) -------------------------------------------------

    def rescore(self, *, as_of: str | None = None, seed: int = 7, policy: Policy | None = None,
                model: Model | str | Path | None = None, progress: Progress | None = None,
                promote: bool = False) -> dict:
        """Re-run the whole-graph analytics and write a new versioned run.

        ``as_of`` (ISO date or timestamp) uses only what was known then; ``model``
        (a :class:`~graphsvc.model.Model` or its JSON file, see :meth:`fit`) scores
        the run, and score-on-write after it. The run is served from now on when it
        covers the store (:mod:`graphsvc.serving`), or with ``promote``. Returns the
        run record: run_id, parameters, per-stage timings, counts, and the serving
        ``decision`` (promote or hold) with its ``reason``.
        """
        return rescore(self.store, as_of=parse_as_of(as_of, self.settings.timezone), seed=seed,
                       policy=policy, model=_model(model), progress=progress, promote=promote)

    def promote(self, run_id: str, reason: str = "promoted by hand") -> dict:
        """Serve ``run_id`` from now on (API, score-on-write, ring ids); returns the log entry."""
        return serving.promote(self.store, run_id, reason)

    def rollback(self, reason: str = "rolled back by hand") -> dict:
        """Serve again the run served before the current one; returns the log entry."""
        return serving.rollback(self.store, reason)

    def promotions(self) -> pd.DataFrame:
        """The promotion log, newest first: at, run_id, action, reason, replaces."""
        return self.store.promotions()

    def features(self, *, as_of: str | None = None, at: str = "as-of", policy: Policy | None = None) -> pd.DataFrame:
        """The feature table (:mod:`graphsvc.features`, catalogue in ``docs/features.md``):
        one row per applicant known at ``as_of``, computed from what was known at
        ``as_of`` (``at="as-of"``) or at each applicant's first application (``"own"``,
        as :meth:`fit` trains)."""
        from graphsvc import features as features_
        from graphsvc.linkage import link

        if at not in ("as-of", "own"):
            raise InputError("at must be 'as-of' or 'own'")
        policy = policy or Policy()
        when = parse_as_of(as_of, self.settings.timezone)
        projection = Projection.from_store(self.store, when, policy.consent)
        linked = link(projection, policy, self.store)
        if at == "own":
            from graphsvc.model import training_set

            data = training_set(projection, policy, as_of=when, store=self.store, linked=linked)
            return data.table.frame().assign(at=data.at, fraud=data.label)
        return features_.compute(projection, policy, store=self.store, linked=linked).frame()

    def fit(self, as_of: str | None = None, *, maturity_days: int = 0, seed: int = 7,
            policy: Policy | None = None) -> Model:
        """Fit a scorecard (:mod:`graphsvc.model`) on the fraud outcomes known at ``as_of``,
        with features as of each applicant's first application; ``Model.save`` writes it.

        Raises
        ------
        ModelError
            When too few outcomes are known (the hand-set policy stays).
        """
        from graphsvc.model import fit

        policy = policy or Policy()
        when = parse_as_of(as_of, self.settings.timezone)
        projection = Projection.from_store(self.store, when, policy.consent)
        return fit(projection, policy, as_of=when, seed=seed, maturity_days=maturity_days, store=self.store)

    def runs(self) -> pd.DataFrame:
        """Re-score runs, newest first, with ``served`` (the one served now) and the
        latest serving ``decision`` about each with its ``reason``."""
        return serving.annotate(self.store.runs(), self.store.promotions(), self.store.served_run())

    def run_id(self, run_id: str | None = None) -> str:
        """``run_id`` if given, else the served run's.

        Raises
        ------
        NotFoundError
            When nothing has been re-scored yet.
        """
        if run_id:
            return run_id
        latest = self.store.served_run()
        if latest is None:
            raise NotFoundError("no re-score run yet: run `graphsvc rescore` first")
        return str(latest["run_id"])

    def rings(self, top: int | None = None, run_id: str | None = None) -> pd.DataFrame:
        """Rings of a run by descending risk, features as columns."""
        rings = self.store.run_table(self.run_id(run_id), "rings")
        features = pd.DataFrame([json.loads(f) for f in rings["features"]], index=rings.index)
        out = pd.concat([rings.drop(columns=["features"]), features], axis=1)
        out = out.sort_values(["risk", "size", "ring_id"], ascending=[False, False, True], ignore_index=True)
        return out.head(top) if top else out

    def ring_members(self, ring_id: str, run_id: str | None = None) -> pd.DataFrame:
        """Members of a ring with their scores and bands."""
        run = self.run_id(run_id)
        members = self.store.run_table(run, "ring_members", where={"ring_id": [ring_id]})
        if not len(members):
            raise NotFoundError(f"run {run} has no ring {ring_id!r}")
        scores = self.store.run_table(run, "scores", where={"applicant_id": members["applicant_id"].tolist()})
        return members.merge(scores.drop(columns=["ring_id", "reasons"]), on="applicant_id", how="left")

    def scores(self, run_id: str | None = None) -> pd.DataFrame:
        """Every applicant's score, band, ring and reasons (JSON) in a run."""
        return self.store.run_table(self.run_id(run_id), "scores")

    def hubs(self, run_id: str | None = None) -> pd.DataFrame:
        """Identifiers left out of the linkage as hubs, with their verdicts."""
        return self.store.run_table(self.run_id(run_id), "hubs")

    def explain(self, applicant_id: str, run_id: str | None = None) -> dict:
        """Score, band, ring and reasons of an applicant, evidence paths spelled out
        (:func:`graphsvc.explain.as_text` prints it for a person)."""
        return explain(self.store, self.run_id(run_id), applicant_id)

    def backtest(self, as_of: str, *, seed: int = 7, policy: Policy | None = None, k: int = 100,
                 truth: str | Path | None = None, model: Model | str | Path | None = None,
                 new_applications: bool = True, limit: int | None = None, progress: Progress | None = None) -> dict:
        """Score with what was known at ``as_of`` and evaluate on what came after:
        applicants known then, and (``new_applications``) applicants first applying
        later, each scored as score-on-write scored it (:func:`graphsvc.backtest.backtest`)."""
        at = parse_as_of(as_of, self.settings.timezone)
        return backtest(self.store, at, seed=seed, policy=policy, k=k, truth=Path(truth) if truth else None,
                        model=_model(model), new_applications=new_applications, limit=limit, progress=progress)

    def ring_graph(self, ring_id: str, run_id: str | None = None, max_degree: int = 200) -> nx.Graph:
        """A ring as a networkx graph: its members and the identifiers at least two
        of them hold or list (hubs marked, as in :meth:`ego_network`)."""
        members = self.ring_members(ring_id, run_id=run_id)["applicant_id"].tolist()
        links = self.links_of(members)
        holders = links.groupby(["kind", "value"])["applicant_id"].nunique()
        shared = set(holders[holders >= 2].index)
        graph = nx.Graph(title=f"ring {ring_id}", ring_id=ring_id, truncated=False)
        for member in members:
            graph.add_node(node_id("applicant", member), kind="applicant", value=member)
        keep = [(k, v) in shared for k, v in zip(links["kind"], links["value"])]
        self._add_links(graph, links[keep], max_nodes=len(members) + len(shared))
        for kind, value, degree in self.store.identifier_degrees(sorted(shared), cap=max_degree).itertuples(
                index=False):
            node = graph.nodes[node_id(kind, value)]
            node["degree"], node["hub"] = int(degree), bool(degree > max_degree)
        self._annotate_applicants(graph)
        return graph

    # -- skip-tracing (graphsvc.skiptrace) ----------------------------------------------

    def subject_access(self, applicant_id: str) -> dict:
        """Everything held about one person, for them to read (:mod:`graphsvc.subject`):
        applications, identifiers (identity numbers as held only), declared contacts, how
        many list them, outcomes, relations, every run's score and reasons, and every
        audit row of access to their data. The caller records the access."""
        from graphsvc import subject

        return subject.export(self.store, applicant_id)

    def forget(self, applicant_id: str, reason: str, *, caller: str, role: str = "admin",
               route: str = "graphsvc subject forget", method: str = "CLI", dry_run: bool = False) -> dict:
        """Erase one person (:mod:`graphsvc.erasure`) in one audited transaction and keep
        them erased: what was removed, by kind of row, and the label that now stands for
        them in other applicants' reasons. ``dry_run`` only says what would be removed.

        Raises
        ------
        NotFoundError
            When the store holds no such applicant.
        """
        from graphsvc import erasure
        from graphsvc.store.base import access_entry

        if len(reason.strip()) < 3:
            raise InputError("the reason must say why (3 characters or more)")
        plan = erasure.plan(self.store, applicant_id, reason.strip(), self.settings.identity_key())
        if dry_run:
            return {**plan.summary(), "removed": {}}
        entry = access_entry(caller, role, route, method, 200, [applicant_id], purpose=f"erasure: {reason.strip()}")
        return {**plan.summary(), "removed": self.store.forget([plan], [entry])[0]}

    def request_review(self, applicant_id: str, *, by: str, reason: str | None = None,
                       application_id: str | None = None) -> dict:
        """Record a person's request for human review of the automated decision on them
        (:mod:`graphsvc.decision`); the caller records the access."""
        from graphsvc import decision

        return decision.request(self.store, applicant_id, by=by, reason=reason, application_id=application_id)

    def reviews(self, status: str | None = None) -> pd.DataFrame:
        """Review requests, newest first (``store.base.REVIEW_COLUMNS``)."""
        return self.store.reviews(status=status)

    def close_review(self, review_id: str, *, by: str, outcome: str, note: str) -> dict:
        """Close an open review with its outcome (``upheld`` or ``changed``) and a note."""
        from graphsvc import decision

        return decision.close(self.store, review_id, by=by, outcome=outcome, note=note)

    def skiptrace(self, applicant_id: str, limit: int = 10) -> pd.DataFrame:
        """Ranked contact points for a borrower who stopped answering: phone,
        channel (own or third party), evidence, confidence, usage and the path."""
        from graphsvc.online import latest_basis
        from graphsvc.skiptrace import skiptrace

        return skiptrace(self.store, applicant_id, latest_basis(self.store).policy, limit=limit)

    def lost_contact(self) -> list[str]:
        """Borrowers whose contact is lost (and not restored since)."""
        from graphsvc.skiptrace import lost_contact_borrowers

        return lost_contact_borrowers(self.store)

    def holdout(self, share: float = 0.3, *, seed: int = 7, policy: Policy | None = None, k: int = 100,
                fit: bool = False) -> dict:
        """Hide a share of the fraud labels, score without them, and measure how
        well the scores find them (AUC, precision at k, recall at the review band);
        with ``fit``, by a scorecard fitted on the labels left."""
        from graphsvc.backtest import holdout

        return holdout(self.store, share, seed=seed, policy=policy, k=k, fit=fit)

    def query(self, name: str, **parameters) -> pd.DataFrame:
        """Run a named query of the Cypher library (``queries/``, e.g.
        ``investigate/contact_cycles``) on the Neo4j backend.

        Raises
        ------
        ConfigurationError
            On the embedded store, which speaks SQL, not Cypher.
        NotFoundError
            For an unknown query name.
        """
        from graphsvc import queries
        from graphsvc.store.base import NO_CYPHER

        if not self.store.speaks_cypher:
            raise ConfigurationError(NO_CYPHER)
        query = queries.get(name)
        missing = set(query.parameters) - set(parameters)
        if missing:
            raise InputError(f"{name} needs parameters {sorted(missing)}")
        return pd.DataFrame(self.store.query(name, **parameters))

    def _require(self, applicant_id: str) -> None:
        require_applicant(self.store, applicant_id)


def _model(model: Model | str | Path | None) -> Model | None:
    return Model.load(model) if isinstance(model, str | Path) else model


def _readable(links: pd.DataFrame) -> pd.DataFrame:
    out = links.drop(columns=["consents"])
    for column in ("first_seen", "last_seen"):
        out[column] = [normalise.format_timestamp(v) for v in out[column]]
    return out.reset_index(drop=True)


def open(path: str | Path | None = None, *, readonly: bool = False,  # noqa: A001
         settings: Settings | None = None) -> Service:
    """Open the store for notebooks and scripts: the embedded file at ``path``, or
    Neo4j when the settings say ``backend="neo4j"`` (``path`` is then not used).

    Examples
    --------
    >>> import graphsvc
    >>> svc = graphsvc.open("demo-data/graph.db")  # doctest: +SKIP
    >>> svc.ego_network("A00000042", hops=2)  # doctest: +SKIP
    """
    settings = settings or get_settings()
    if path is None and settings.backend == "embedded":
        raise InputError("graphsvc.open needs the store file's path (or settings with backend='neo4j')")
    return Service(open_store(str(path), readonly=readonly, settings=settings), settings)
