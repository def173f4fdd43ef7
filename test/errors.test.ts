// The error-code registry (codes, HTTP statuses, meanings) stays in sync with docs/errors.md (fastify's errors test habit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { errorCodes, httpStatus, LorakitError, isLorakitError } from '../src/errors.js';

test('every error code is documented in docs/errors.md with its HTTP status and meaning, and nothing else is', () => {
  const doc = readFileSync('docs/errors.md', 'utf8');
  const rows = new Map([...doc.matchAll(/^\| `(LK_[A-Z_]+)` \| (\d{3}) \| (.+) \|$/gm)].map((m) => [m[1], { http: Number(m[2]), meaning: m[3] }]));
  const mentioned = new Set([...doc.matchAll(/`(LK_[A-Z_]+)`/g)].map((m) => m[1]));
  for (const [code, info] of Object.entries(errorCodes))
    assert.deepEqual(rows.get(code), { ...info }, `${code}: docs/errors.md row differs from src/errors.ts`);
  for (const code of mentioned) assert.ok(code in errorCodes, `docs/errors.md lists unknown code ${code}`);
});

test('httpStatus reads the registry: 400 for a bad adapter, 404, 409, 500 for a bug', () => {
  assert.equal(httpStatus('LK_ADAPTER'), 400);
  assert.equal(httpStatus('LK_BASE_MISMATCH'), 400);
  assert.equal(httpStatus('LK_NOT_FOUND'), 404);
  assert.equal(httpStatus('LK_CONFLICT'), 409);
  assert.equal(httpStatus('LK_INTERNAL'), 500);
});

test('LorakitError carries code, hint and details', () => {
  const e = new LorakitError('LK_SHAPE', "MatMul: cannot multiply [2,3] by [4,5]", { hint: 'check the inner dims', details: { op: 'MatMul' } });
  assert.equal(e.code, 'LK_SHAPE');
  assert.ok(isLorakitError(e, 'LK_SHAPE'));
  assert.deepEqual(e.toJSON().details, { op: 'MatMul' });
  assert.ok(!isLorakitError(new Error('x')));
  assert.ok(!isLorakitError(e, 'LK_DTYPE'));
});
