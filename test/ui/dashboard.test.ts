// The dashboard: JSON routes through fastify inject (mounted under /ui as the server will), then the page
// in a real headless Chromium (Debian's, driven by playwright-core) with a pixel check that curves are drawn.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { registerDashboard, startDashboard } from '../../src/ui/index.js';
import { populate, type Populated } from './fixture.js';
import { countColoured, decodePng } from './png.js';

const CHROMIUM = '/usr/bin/chromium';
let fx: Populated;
before(async () => { fx = await populate(); });
after(async () => { await fx.tracker.close(); await fx.registry.close(); });

test('JSON routes under /ui: runs, metrics, compare, adapters grouped by base, lineage; read-only', async () => {
  const app = Fastify();
  await app.register(registerDashboard, { prefix: '/ui', tracker: fx.tracker, registry: fx.registry });
  const get = async (url: string) => {
    const r = await app.inject({ method: 'GET', url });
    return {
      status: r.statusCode,
      body: String(r.headers['content-type']).includes('json') ? r.json() : r.body,
      type: r.headers['content-type'],
    };
  };
  const page = await get('/ui/');
  assert.equal(page.status, 200);
  assert.match(String(page.type), /text\/html/);
  assert.match(page.body, /<canvas id="chart"/);
  assert.doesNotMatch(page.body, /https?:\/\//, 'no external URLs in the page');
  assert.equal((await get('/ui/app.js')).status, 200);
  const runs = (await get('/ui/api/runs')).body.runs;
  assert.equal(runs.length, 3);
  assert.equal(runs.find((r: { id: string }) => r.id === fx.runIds[0]).final.eval_loss > 0, true);
  const m = (await get(`/ui/api/runs/${fx.runIds[0]}/metrics?keys=loss`)).body;
  assert.deepEqual(Object.keys(m.series), ['loss']);
  assert.deepEqual(m.series.loss[0], [0, 3.5]);
  const cmp = (await get(`/ui/api/compare?ids=${fx.runIds.join(',')}`)).body;
  assert.equal(cmp.rows.find((r: { key: string }) => r.key === 'lr').differs, true);
  const groups = (await get('/ui/api/adapters')).body.groups;
  assert.deepEqual(groups.map((g: { base: { name: string | null } }) => g.base.name), ['tiny-llama', null]);
  assert.deepEqual(groups[0].versions.map((v: { ref: string }) => v.ref), ['support@v1', 'support@v2', 'support@v3']);
  assert.deepEqual(groups[0].versions[1].aliases, ['production']);
  const lin = (await get('/ui/api/lineage?ref=' + encodeURIComponent('support@production'))).body;
  assert.equal(lin.adapter.ref, 'support@v2');
  assert.equal(lin.run.id, fx.runIds[1]);
  assert.equal(lin.dataset, 'd'.repeat(64));
  assert.deepEqual(lin.evals.map((e: { suite: string; passed: boolean }) => [e.suite, e.passed]), [['smoke', true]]);
  assert.deepEqual(lin.aliasHistory.map((h: { who: string; toVersion: number }) => [h.who, h.toVersion]), [['alice', 1], ['bob', 2]]);
  assert.equal((await get('/ui/api/runs/nope')).status, 404);
  assert.equal((await get('/ui/api/lineage?ref=support@v99')).status, 404);
  assert.equal((await app.inject({ method: 'POST', url: '/ui/api/runs' })).statusCode, 404, 'no write routes');
  await app.close();
});

test('dashboard in headless Chromium: table, overlaid curves drawn, compare, lineage', async (t) => {
  if (!existsSync(CHROMIUM)) { t.skip(`Debian chromium not found at ${CHROMIUM} (CI installs it with apt-get)`); return; }
  const { chromium } = await import('playwright-core');
  const server = await startDashboard({ tracker: fx.tracker, registry: fx.registry, port: 0, host: '127.0.0.1' });
  const profile = mkdtempSync(join(tmpdir(), 'lk-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 1400 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  try {
    const external: string[] = [];
    await ctx.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith(server.url)) return route.continue();
      external.push(u);
      return route.abort();
    });
    const page = ctx.pages()[0] ?? await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 15000 });
    assert.equal(await page.locator('#runs tbody tr').count(), 3);
    // the two most recent runs start ticked: loss + eval_loss each
    assert.equal(await page.getAttribute('#chart', 'data-series'), '4');
    await page.locator(`input[data-run="${fx.runIds[0]}"]`).check();
    await page.waitForSelector('#chart[data-series="6"]', { timeout: 5000 });
    const inPage = await page.evaluate(() => {
      const cv = document.getElementById('chart') as HTMLCanvasElement;
      const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) n++;
      return n;
    });
    assert.ok(inPage > 1500, `canvas should hold coloured curve pixels, found ${inPage}`);
    const shot = decodePng(await page.locator('#chart').screenshot());
    const coloured = countColoured(shot);
    assert.ok(coloured > 1500, `the screenshot of the chart should show coloured curves, found ${coloured} pixels of ${shot.width}x${shot.height}`);
    // unticking every run empties the chart
    for (const id of fx.runIds) await page.locator(`input[data-run="${id}"]`).uncheck();
    await page.waitForSelector('#chart[data-series="0"]', { timeout: 5000 });
    assert.ok(countColoured(decodePng(await page.locator('#chart').screenshot())) < 50, 'an empty chart has no curves');
    // compare two runs: the lr row differs and is marked
    await page.locator(`input[data-run="${fx.runIds[0]}"]`).check();
    await page.locator(`input[data-run="${fx.runIds[1]}"]`).check();
    await page.click('#compare-btn');
    await page.waitForSelector('#compare-table');
    const differing = await page.locator('#compare-table tr.differs td:first-child').allTextContents();
    assert.ok(differing.includes('* lr'), `differing rows: ${differing.join(', ')}`);
    assert.ok(!differing.includes('* lora.r'));
    // adapters grouped by base, and the lineage of the production adapter
    assert.equal(await page.locator('#adapters .base').count(), 2);
    assert.match(await page.locator('#adapters .base').first().innerText(), /tiny-llama/);
    await page.click('a.ref[data-ref="support@v2"]');
    await page.waitForSelector('#lineage-chain[data-ref="support@v2"]');
    const text = (kind: string) => page.locator(`#lineage-chain .node[data-kind="${kind}"]`).innerText();
    assert.match(await text('data'), /dddddddddddd/);
    assert.match(await text('run'), new RegExp(fx.runIds[1]));
    assert.match(await text('adapter'), /support@v2/);
    assert.match(await text('eval'), /smoke: passed/);
    assert.match(await text('alias'), /production/);
    assert.match(await page.locator('#lineage').innerText(), /bob: alias-set production v1 → v2 — smoke passed/);
    assert.deepEqual(errors, []);
    assert.deepEqual(external, [], 'the page makes no request outside this server');
  } finally {
    await ctx.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
