// Builds the graph-library comparison page for benchmarks/console.py into the folder given.
import { build } from "esbuild";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
await build({ entryPoints: [path.join(here, "libraries.js")], bundle: true, format: "iife", target: "es2020",
              outfile: path.join(out, "libraries.js"), logLevel: "warning" });
writeFileSync(path.join(out, "libraries.html"),
  '<!DOCTYPE html><html><head><meta charset="utf-8"><script src="libraries.js"></script></head><body></body></html>');
