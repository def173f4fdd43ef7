// Enforces the architecture's arrows: each src/ folder may import only the folders listed for it (dependencies
// point towards engine/), and the table lists only imports that exist, so it describes the code as it is: a new
// arrow is a deliberate one-word edit here, and an arrow nobody uses any more must be removed. Also keeps
// src/engine under its line budget (tinygrad's sz.py habit) and onnxruntime-node inside one file.
// Run by `npm run lint` (so by `npm test`); exits 1 with every violation listed. Usage: node scripts/check-layers.mjs [root]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const allowed = {
  errors: [],
  util: ['errors'],
  engine: ['errors'],
  models: ['engine', 'errors', 'util'],
  lora: ['models', 'engine', 'errors', 'util'],
  data: ['errors', 'util'],
  db: ['errors'],
  track: ['db', 'errors', 'util'],
  registry: ['models', 'track', 'db', 'errors', 'util'],
  train: ['data', 'lora', 'models', 'engine', 'errors', 'util'],
  eval: ['data', 'lora', 'models', 'errors', 'util'],
  ui: ['registry', 'track', 'errors'],
  serve: ['registry', 'lora', 'models', 'engine', 'errors', 'util'],
  cli: null, // may import anything
  index: null,
};
// src/engine is about 1,900 lines; the budget leaves room to grow and stays far under the 5,000-line goal.
const ENGINE_LINE_BUDGET = 2500;

const src = join(process.argv[2] ?? '.', 'src');
function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}
const layerOf = (file) => {
  const rel = relative(src, file).split(/[\\/]/);
  return rel.length === 1 ? rel[0].replace(/\.[jt]s$/, '') : rel[0];
};
const problems = [];
const used = new Set();
let engineLines = 0;
for (const file of walk(src)) {
  const text = readFileSync(file, 'utf8');
  const layer = layerOf(file);
  if (layer === 'engine') engineLines += text.split('\n').length;
  if (!(layer in allowed)) { problems.push(`${file}: folder src/${layer} is not in the layer table`); continue; }
  const ok = allowed[layer];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)) {
    const target = relative(src, resolve(dirname(file), m[1]));
    if (target.startsWith('..')) { problems.push(`${file}: imports outside src: ${m[1]}`); continue; }
    const tl = layerOf(join(src, target));
    if (tl === layer || ok === null) continue;
    used.add(`${layer}→${tl}`);
    if (!ok.includes(tl)) problems.push(`${file}: src/${layer} may not import src/${tl} (${m[1]})`);
  }
  if (layer !== 'engine' || !file.endsWith('ort-binding.ts')) {
    if (/from\s+['"]onnxruntime-node['"]/.test(text)) problems.push(`${file}: only src/engine/runtime/ort-binding.ts may import onnxruntime-node`);
  }
}
for (const [layer, ok] of Object.entries(allowed)) {
  for (const tl of ok ?? []) {
    if (!used.has(`${layer}→${tl}`)) {
      problems.push(`scripts/check-layers.mjs: src/${layer} no longer imports src/${tl}; remove '${tl}' from its row`);
    }
  }
}
if (engineLines > ENGINE_LINE_BUDGET) problems.push(`src/engine has ${engineLines} lines, over its budget of ${ENGINE_LINE_BUDGET}`);
if (problems.length) { console.error(problems.join('\n')); process.exit(1); }
console.log(`layers ok; src/engine: ${engineLines}/${ENGINE_LINE_BUDGET} lines`);
