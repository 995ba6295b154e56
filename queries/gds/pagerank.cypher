// name: gds/pagerank
// description: Personalised PageRank from seed applicants over weighted links.
// parameters: $graph (string), $sources (list of node ids), $damping (float), $iterations (integer), $tolerance (float)
// returns: nodeId, score
CALL gds.pageRank.stream($graph, {relationshipWeightProperty: 'weight', sourceNodes: $sources,
                                  dampingFactor: $damping, maxIterations: $iterations, tolerance: $tolerance,
                                  concurrency: 1})
YIELD nodeId, score
RETURN nodeId, score
