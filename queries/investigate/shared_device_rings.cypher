// name: investigate/shared_device_rings
// description: Devices used by between $min_size and $max_size applicants (above that a device farm or shared terminal), with the applicants and how many have a fraud outcome.
// parameters: $min_size (integer), $max_size (integer), $limit (integer)
// returns: device, size, fraud, applicants
MATCH (a:Applicant)-[:HAS {role: 'own'}]->(d:Device)
WITH d, collect(DISTINCT a) AS holders
WHERE size(holders) >= $min_size AND size(holders) <= $max_size
RETURN d.value AS device, size(holders) AS size,
       size([h IN holders WHERE EXISTS { (h)-[:HAD]->(:Outcome {outcome: 'fraud'}) }]) AS fraud,
       [h IN holders | h.id] AS applicants
ORDER BY fraud DESC, size DESC, device
LIMIT $limit
