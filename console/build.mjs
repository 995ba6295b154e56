// Builds the console into the Python package (graphsvc/console/static), or into the
// folder given as the first argument (the tests compare that build with the shipped one).
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] || path.join(here, "..", "graphsvc", "console", "static");

await build({
  entryPoints: [path.join(here, "src", "main.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  legalComments: "none",
  outfile: path.join(out, "app.js"),
  logLevel: "warning",
});
