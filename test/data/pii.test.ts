// PII detectors, table-driven: what each one must find, and look-alikes it must leave alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyPiiCounts, luhnValid, scrubText, type PiiKind } from '../../src/data/index.js';

const cases: readonly { text: string; kind: PiiKind | null; redacted?: string }[] = [
  { text: 'mail me at jane.doe+work@example.co.uk today', kind: 'email', redacted: 'mail me at <EMAIL> today' },
  { text: 'call (555) 123-4567 now', kind: 'phone', redacted: 'call <PHONE> now' },
  { text: 'or +44 20 7946 0958 in London', kind: 'phone' },
  { text: 'card 4111 1111 1111 1111 exp 12/30', kind: 'credit_card', redacted: 'card <CREDIT_CARD> exp 12/30' },
  { text: 'card 4111-1111-1111-1112 fails Luhn', kind: null },
  { text: 'order number 1234567890123456 is random', kind: null },
  { text: 'server at 192.168.10.254, port 22', kind: 'ipv4', redacted: 'server at <IP_ADDRESS>, port 22' },
  { text: 'version 1.2.3.4.5 is not an address', kind: null },
  { text: 'v6 host 2001:db8::8a2e:370:7334 is up', kind: 'ipv6', redacted: 'v6 host <IP_ADDRESS> is up' },
  { text: 'meeting at 10:30:45 sharp', kind: null },
  { text: 'key sk-proj-abcDEF1234567890abcdefGHIJ leaked', kind: 'secret', redacted: 'key <SECRET> leaked' },
  { text: 'aws AKIAIOSFODNN7EXAMPLE in config', kind: 'secret' },
  { text: 'token ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 here', kind: 'secret' },
  { text: 'blob Zx9Qm2Lp7Vt4Rk8Wn3Hs6Jd1Fg5Yc0Ba2Ne7Ui in env', kind: 'secret' },
  { text: 'md5 7c53336b37003a9286aba55d2945844c is a hash', kind: null },
  { text: 'a plain sentence with no personal data at all', kind: null },
];

test('each detector finds its kind and leaves look-alikes alone', () => {
  for (const c of cases) {
    const counts = emptyPiiCounts();
    const out = scrubText(c.text, counts);
    const found = (Object.keys(counts) as PiiKind[]).filter((k) => counts[k] > 0);
    assert.deepEqual(found, c.kind ? [c.kind] : [], c.text);
    if (c.redacted) assert.equal(out, c.redacted);
    if (!c.kind) assert.equal(out, c.text);
  }
});

test('Luhn: valid test numbers pass, one changed digit fails', () => {
  assert.ok(luhnValid('4111111111111111'));
  assert.ok(luhnValid('5500 0000 0000 0004'));
  assert.ok(!luhnValid('4111111111111112'));
  assert.ok(!luhnValid('1234'));
});

test('several kinds in one text are each counted once', () => {
  const counts = emptyPiiCounts();
  const out = scrubText('From bob@corp.com (10.0.0.1): call 555-987-6543, card 5500000000000004.', counts);
  assert.deepEqual(counts, { email: 1, phone: 1, credit_card: 1, ipv4: 1, ipv6: 0, secret: 0 });
  assert.equal(out, 'From <EMAIL> (<IP_ADDRESS>): call <PHONE>, card <CREDIT_CARD>.');
});
