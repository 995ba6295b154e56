// name: gds/project
// description: Project the applicant linkage graph, computed by graphsvc.linkage, into GDS: one row per undirected link (target null for an applicant without links), node ids are applicant positions.
// parameters: $graph (string), $edges (list of maps: source, target, weight)
// returns: graph, nodes, relationships
UNWIND $edges AS edge
WITH gds.graph.project($graph, edge.source, edge.target,
                       {relationshipProperties: {weight: edge.weight}},
                       {undirectedRelationshipTypes: ['*']}) AS g
RETURN g.graphName AS graph, g.nodeCount AS nodes, g.relationshipCount AS relationships
