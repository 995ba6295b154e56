// name: store/forget_identifiers
// description: Erase identifiers with every link, hub and outcome phone reference to them; returns how many identifiers and links went.
// parameters: $refs (list of identifier refs)
// returns: identifiers, links
UNWIND $refs AS ref
MATCH (i:Identifier {ref: ref})
WITH i, COUNT { (i)<-[:HAS]-() } AS links
DETACH DELETE i
RETURN count(*) AS identifiers, sum(links) AS links
