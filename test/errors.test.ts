// The error-code registry stays in sync with docs/errors.md (fastify's errors test habit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { errorCodes, LorakitError, isLorakitError } from '../src/errors.js';

test('every error code is documented in docs/errors.md, and nothing else is', () => {
  const doc = readFileSync('docs/errors.md', 'utf8');
  const documented = new Set([...doc.matchAll(/`(LK_[A-Z_]+)`/g)].map((m) => m[1]));
  for (const code of Object.keys(errorCodes)) assert.ok(documented.has(code), `${code} missing from docs/errors.md`);
  for (const code of documented) assert.ok(code in errorCodes, `docs/errors.md lists unknown code ${code}`);
});

test('LorakitError carries code, hint and details', () => {
  const e = new LorakitError('LK_SHAPE', "MatMul: cannot multiply [2,3] by [4,5]", { hint: 'check the inner dims', details: { op: 'MatMul' } });
  assert.equal(e.code, 'LK_SHAPE');
  assert.ok(isLorakitError(e, 'LK_SHAPE'));
  assert.deepEqual(e.toJSON().details, { op: 'MatMul' });
  assert.ok(!isLorakitError(new Error('x')));
  assert.ok(!isLorakitError(e, 'LK_DTYPE'));
});
