// Classifies the changes between pairs of OpenAPI documents with api-smart-diff.
// Reads {"<api>": [before, after], ...} from the file named by the first argument and prints
// {"<api>": [{"type": "breaking" | "non-breaking" | ..., "description": "...", "path": [...]}]}.
"use strict";
const fs = require("fs");
const { apiCompare } = require("api-smart-diff");

const pairs = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const changes = {};
for (const [api, [before, after]] of Object.entries(pairs)) {
  changes[api] = apiCompare(before, after).diffs.map((diff) => ({
    type: diff.type,
    description: diff.description || `[${diff.action}]`,
    path: diff.path.map(String),
  }));
}
process.stdout.write(JSON.stringify(changes));
