// Lint Cypher with Neo4j's parser: reads {schema, queries: [{name, text, parameters}]} as JSON on
// stdin and prints [{name, diagnostics: [{severity, message, line}]}] as JSON.
import { lintCypherQuery } from '@neo4j-cypher/language-support';
import { readFileSync } from 'node:fs';

const input = JSON.parse(readFileSync(0, 'utf8'));
const out = input.queries.map((query) => {
  const schema = { ...input.schema, parameters: query.parameters };
  const { diagnostics } = lintCypherQuery(query.text, schema);
  return {
    name: query.name,
    diagnostics: diagnostics.map((d) => ({
      severity: d.severity, message: d.message, line: d.range.start.line + 1,
    })),
  };
});
process.stdout.write(JSON.stringify(out));
