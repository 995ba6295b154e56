// name: store/merge_links
// description: Add aggregated sightings to applicant-identifier links: first and last seen widen, counts add up, the name and source of the newest sighting that gave one win (whatever the order of arrival).
// parameters: $rows (list of maps: applicant_id, ref, role, relation, first_seen, last_seen, count, name, source)
// returns: nothing
UNWIND $rows AS row
MATCH (a:Applicant {id: row.applicant_id})
MATCH (i:Identifier {ref: row.ref})
MERGE (a)-[l:HAS {role: row.role, relation: row.relation}]->(i)
  ON CREATE SET l.first_seen = row.first_seen, l.last_seen = row.last_seen, l.count = row.count,
                l.name = row.name, l.source = row.source
  ON MATCH SET l.name = CASE WHEN coalesce(row.last_seen, -1000000000000) >= coalesce(l.last_seen, -1000000000000)
                             THEN coalesce(row.name, l.name) ELSE coalesce(l.name, row.name) END,
               l.source = CASE WHEN coalesce(row.last_seen, -1000000000000) >= coalesce(l.last_seen, -1000000000000)
                               THEN coalesce(row.source, l.source) ELSE coalesce(l.source, row.source) END,
               l.first_seen = CASE WHEN l.first_seen IS NULL OR row.first_seen < l.first_seen
                                   THEN coalesce(row.first_seen, l.first_seen) ELSE l.first_seen END,
               l.last_seen = CASE WHEN l.last_seen IS NULL OR row.last_seen > l.last_seen
                                  THEN coalesce(row.last_seen, l.last_seen) ELSE l.last_seen END,
               l.count = l.count + row.count
