// name: gds/drop
// description: Drop a projected graph (no error when it is already gone).
// parameters: $graph (string)
// returns: graphName
CALL gds.graph.drop($graph, false)
YIELD graphName
RETURN graphName
