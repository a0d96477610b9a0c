#!/usr/bin/env node
// npm's postbuild hook (after tsc in `npm run build`): make every file declared in a workspace's
// package.json "bin" executable. tsc writes its output with mode 0644, and on a fresh clone npm ci ran before dist/
// existed, so nothing else sets the bit; without it a declared bin cannot run directly.
//   usage: node scripts/chmod-bins.js   (from the repository root)
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const missing = [];
for (const pkg of fs.readdirSync(path.join(root, 'packages'))) {
  const manifest = path.join(root, 'packages', pkg, 'package.json');
  if (!fs.existsSync(manifest)) continue;
  const { name, bin } = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  const bins = typeof bin === 'string' ? { [name]: bin } : bin || {};
  for (const [cmd, rel] of Object.entries(bins)) {
    const file = path.join(root, 'packages', pkg, rel);
    if (!fs.existsSync(file)) {
      missing.push(`${cmd}: ${path.relative(root, file)} does not exist (not built?)`);
      continue;
    }
    fs.chmodSync(file, fs.statSync(file).mode | 0o111);
  }
}
if (missing.length > 0) {
  process.stderr.write(`chmod-bins: ${missing.join('\n  ')}\n`);
  process.exit(1);
}
