// name: store/counts
// description: Nodes by kind, links by kind and role, facts, outcomes and relations, as (part, key, n) rows.
// parameters: none
// returns: part, key, n
MATCH (a:Applicant)
RETURN 'nodes' AS part, 'applicant' AS key, count(a) AS n
UNION ALL
MATCH (i:Identifier)
RETURN 'nodes' AS part, i.kind AS key, count(i) AS n
UNION ALL
MATCH (:Applicant)-[l:HAS]->(i:Identifier)
RETURN 'links' AS part, i.kind + ':' + l.role AS key, count(l) AS n
UNION ALL
MATCH (p:Application)
RETURN 'facts' AS part, 'applications' AS key, count(p) AS n
UNION ALL
MATCH (f:Fact)
RETURN 'facts' AS part, f.table AS key, count(f) AS n
UNION ALL
MATCH (o:Outcome)
RETURN 'outcomes' AS part, o.outcome AS key, count(o) AS n
UNION ALL
MATCH (:Applicant)-[r:RELATED]->(:Applicant)
RETURN 'relations' AS part, r.type AS key, count(r) AS n
