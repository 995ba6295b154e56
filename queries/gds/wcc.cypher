// name: gds/wcc
// description: Weakly connected components of a projected graph (single-threaded: ids are reproducible).
// parameters: $graph (string)
// returns: nodeId, componentId
CALL gds.wcc.stream($graph, {concurrency: 1})
YIELD nodeId, componentId
RETURN nodeId, componentId
