// name: gds/leiden
// description: Leiden communities by weighted modularity, seeded and single-threaded so a run is deterministic.
// parameters: $graph (string), $gamma (float), $seed (integer)
// returns: nodeId, communityId
CALL gds.leiden.stream($graph, {relationshipWeightProperty: 'weight', gamma: $gamma, randomSeed: $seed,
                                concurrency: 1})
YIELD nodeId, communityId
RETURN nodeId, communityId
