#!/usr/bin/env node
// Used by the Dockerfiles: fail the image build if compiled code in DIST
// require()s a package that the production install did not provide (i.e. a
// runtime dependency missing from packages/<name>/package.json that only
// worked locally thanks to workspace hoisting).
//   usage: node check-runtime-deps.js packages/<name>/dist
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { isBuiltin } = require('node:module');

const dist = path.resolve(process.argv[2] || 'dist');
const missing = new Map();
for (const rel of fs.readdirSync(dist, { recursive: true })) {
  if (!rel.endsWith('.js')) continue;
  const file = path.join(dist, rel);
  const code = fs.readFileSync(file, 'utf8');
  for (const [, spec] of code.matchAll(/\brequire\(\s*["']([^"'.][^"']*)["']\s*\)/g)) {
    if (isBuiltin(spec)) continue;
    try {
      require.resolve(spec, { paths: [path.dirname(file)] });
    } catch {
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      if (!missing.has(name)) missing.set(name, path.relative(process.cwd(), file));
    }
  }
}
if (missing.size > 0) {
  const pkg = path.relative(process.cwd(), path.join(dist, '..', 'package.json'));
  for (const [name, file] of missing) {
    console.error(`check-runtime-deps: "${name}" (required by ${file}) is not installed; add it to "dependencies" in ${pkg}`);
  }
  process.exit(1);
}
