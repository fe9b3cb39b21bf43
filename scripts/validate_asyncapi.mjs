// Validates asyncapi.yaml with the official AsyncAPI parser (schema + spectral rules).
// Usage: node scripts/validate_asyncapi.mjs asyncapi.yaml ; exit code 1 on any error.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const path = process.argv[2] ?? "asyncapi.yaml";
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(path, "utf8"));
// Severity 0 = error, 1 = warning, 2 = info, 3 = hint.
const problems = diagnostics.filter((d) => d.severity <= 1);
for (const d of problems) {
  console.log(`${d.severity === 0 ? "error" : "warning"} ${d.code} at ${d.path.join(".")}: ${d.message}`);
}
if (!document || problems.some((d) => d.severity === 0)) {
  process.exit(1);
}
console.log(`${path}: valid AsyncAPI ${document.version()} (${problems.length} warnings)`);
