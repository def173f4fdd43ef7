// Normalisation (NFC, whitespace) and e-mail boilerplate stripping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeText, stripBoilerplate } from '../../src/data/index.js';

test('NFC, odd spaces, zero-width and control characters, blank-line runs', () => {
  assert.equal(normalizeText('cafe\u0301'), 'caf\u00e9');
  assert.equal(normalizeText('a\u00a0b\u200bc\r\nd  e \t\n\n\n\nf  '), 'a bc\nd e\n\nf');
  assert.equal(normalizeText('def f():\n    return 1'), 'def f():\n    return 1'); // indentation kept
});

const mail = [
  'From alice@example.com  Thu Aug 22 12:36:23 2002',
  'Return-Path: <alice@example.com>',
  'Received: from localhost (localhost [127.0.0.1])',
  '\tby mail.example.com (Postfix) with ESMTP id D03E543C36',
  'Subject: Re: the build',
  'Date: Thu, 22 Aug 2002 07:36:16 -0400',
  '',
  'I agree, the build is broken on Tuesdays.',
  '',
  'On Wed, 21 Aug 2002, Bob Smith wrote:',
  '> Is the build broken?',
  '> It fails for me.',
  '',
  'Let us fix it tomorrow.',
  '-- ',
  'Alice, Build Team, +1 555 123 4567',
].join('\n');

test('boilerplate: headers, quoted reply, attribution and signature are removed', () => {
  assert.equal(normalizeText(stripBoilerplate(mail)), 'I agree, the build is broken on Tuesdays.\n\nLet us fix it tomorrow.');
});

test('boilerplate: mailing-list footer, MIME lines and base64 blocks; plain text unchanged', () => {
  const body = ['Body text here.', '------=_NextPart_000_0007_01C2', 'Content-Type: text/plain',
    'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2', 'More body.',
    '_______________________________________________', 'Exmh-workers mailing list',
    'https://listman.redhat.com/mailman/listinfo/exmh-workers'].join('\n');
  assert.equal(normalizeText(stripBoilerplate(body)), 'Body text here.\nMore body.');
  const plain = 'Subject lines in prose: this is not a header block.\nNor is this.';
  assert.equal(stripBoilerplate(plain), plain);
});
