// Adapter management for the server: a name → adapter table with three tiers: registered (checked, not read),
// loaded (prepared in host memory, scaling folded into B) and resident (written into one of --max-loras slots).
// Refusals happen when an adapter is registered or loaded, before it serves traffic: rank above --max-lora-rank,
// target modules the base lacks, another base fingerprint. Slots are pinned while a sequence uses them and evicted
// least-recently-used otherwise. Registry references (name, name@v3, name@alias) resolve and export on first use.
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { LorakitError } from '../errors.js';
import type { Checkpoint } from '../models/checkpoint.js';
import { defaultLoraTargets, linearModules } from '../models/modules.js';
import { parseLoraConfig } from '../lora/config.js';
import { loadAdapterFor } from '../lora/load.js';
import { type MultiLoraSlots, type PreparedAdapter, prepareAdapter } from '../lora/multi.js';
import { readAdapterConfigJson, readLorakitMeta } from '../lora/peft-io.js';
import { type LoraSite, resolveSites } from '../lora/targets.js';
import type { Registry } from '../registry/index.js';
import type { SlotLease } from './engine.js';
import type { ServeMetrics } from './metrics.js';

export class AdapterEntry {
  prepared?: PreparedAdapter;
  loadMs?: number;
  slot: number | null = null;
  pins = 0;
  lastUsed = 0;
  removed = false;
  loading?: Promise<void>;
  constructor(readonly name: string, readonly dir: string, readonly root: string, readonly rank: number, readonly sites: readonly LoraSite[]) {}
  get loaded(): boolean { return this.prepared !== undefined; }
}

export interface AdapterManagerOptions {
  readonly maxRank: number;
  readonly baseFingerprint: () => Promise<string>;
  readonly metrics: ServeMetrics;
  readonly registry?: Registry;
  /** Where registry versions are exported to (one folder per version fingerprint). */
  readonly cacheDir?: string;
}

export class AdapterManager {
  private readonly entries = new Map<string, AdapterEntry>();
  private readonly owners: (AdapterEntry | null)[];
  private readonly pending = new Map<string, Promise<AdapterEntry>>();
  private clock = 0;
  hits = 0;
  slotLoads = 0;
  evictions = 0;
  lastSwitchMs = 0;

  constructor(readonly base: Checkpoint, readonly slots: MultiLoraSlots, readonly o: AdapterManagerOptions) {
    this.owners = Array.from({ length: slots.slots }, () => null);
    o.metrics.residentAdapters.set(() => this.owners.filter(Boolean).length);
    o.metrics.cacheHitRate.set(() => (this.hits + this.slotLoads ? this.hits / (this.hits + this.slotLoads) : 0));
  }

  list(): AdapterEntry[] { return [...this.entries.values()]; }
  get(name: string): AdapterEntry | undefined { return this.entries.get(name); }

  /**
   * Checks an adapter folder against the base without reading its weights: config, rank (rank_pattern included),
   * target modules, recorded base fingerprint. Throws LK_ADAPTER / LK_LORA_CONFIG / LK_BASE_MISMATCH.
   */
  async check(dir: string): Promise<{ rank: number; sites: LoraSite[] }> {
    const cfg = this.base.config;
    if (!existsSync(join(dir, 'adapter_model.safetensors'))) throw new LorakitError('LK_ADAPTER', `'${dir}' has no adapter_model.safetensors`);
    const lc = parseLoraConfig(readAdapterConfigJson(dir), join(dir, 'adapter_config.json'), defaultLoraTargets(cfg));
    const sites = resolveSites(lc, linearModules(cfg)); // LK_LORA_CONFIG when a target names a module the base lacks
    const rank = Math.max(...sites.map((s) => s.r));
    if (rank > this.o.maxRank) {
      throw new LorakitError('LK_ADAPTER', `adapter '${dir}' has rank ${rank}, above this server's --max-lora-rank ${this.o.maxRank}`, {
        hint: `restart with --max-lora-rank ${rank} or more, or serve an adapter of rank <= ${this.o.maxRank}`, details: { rank, maxRank: this.o.maxRank },
      });
    }
    const recorded = readLorakitMeta(dir)?.base_fingerprint;
    if (recorded) {
      const fp = await this.o.baseFingerprint();
      if (fp !== recorded) {
        throw new LorakitError('LK_BASE_MISMATCH', `adapter '${dir}' was trained on base ${recorded.slice(0, 12)}, not on the served base '${this.base.dir}' (${fp.slice(0, 12)})`, {
          hint: 'serve the adapter on the base it was trained on', details: { adapter: dir, expectedBase: recorded, actualBase: fp },
        });
      }
    }
    return { rank, sites };
  }

  /** Adds `name` (checked now; weights read on first use unless `preload`). Its modules join the slot target set. */
  async register(name: string, dir: string, opts: { preload?: boolean; root?: string } = {}): Promise<AdapterEntry> {
    if (this.entries.has(name)) throw new LorakitError('LK_CONFLICT', `an adapter named '${name}' is already loaded`, { hint: 'unload it first (POST /v1/unload_lora_adapter)' });
    const abs = resolvePath(dir);
    const { rank, sites } = await this.check(abs);
    const e = new AdapterEntry(name, abs, opts.root ?? abs, rank, sites);
    this.slots.addTargets(sites.map((s) => s.spec));
    this.entries.set(name, e);
    this.o.metrics.adapterResident.set(() => (e.slot !== null ? 1 : 0), { adapter: name });
    if (opts.preload) {
      try { await this.ensureLoaded(e); } catch (err) { this.entries.delete(name); this.o.metrics.adapterResident.delete({ adapter: name }); throw err; }
    }
    return e;
  }

  /** The adapter for a request's `model` name: a registered one, or a registry reference resolved now. */
  async resolve(name: string): Promise<AdapterEntry | undefined> {
    const e = this.entries.get(name);
    if (e || !this.o.registry) return e;
    let p = this.pending.get(name);
    if (!p) {
      p = this.fromRegistry(name);
      this.pending.set(name, p);
      p.finally(() => this.pending.delete(name)).catch(() => undefined);
    }
    try {
      return await p;
    } catch (err) {
      if (err instanceof LorakitError && (err.code === 'LK_NOT_FOUND' || err.code === 'LK_ARG')) return undefined; // unknown or not a reference
      throw err;
    }
  }

  private async fromRegistry(ref: string): Promise<AdapterEntry> {
    const reg = this.o.registry!;
    const v = await reg.resolve(ref); // LK_NOT_FOUND, LK_ARG for a malformed reference
    const fp = await this.o.baseFingerprint();
    if (v.baseFingerprint !== fp) {
      throw new LorakitError('LK_BASE_MISMATCH', `registry adapter '${v.ref}' belongs to base ${v.baseFingerprint.slice(0, 12)}, not to the served base (${fp.slice(0, 12)})`, { details: { ref: v.ref, expectedBase: v.baseFingerprint, actualBase: fp } });
    }
    const dir = join(this.o.cacheDir ?? join(reg.home, 'serve-cache'), v.fingerprint);
    if (!existsSync(join(dir, 'adapter_model.safetensors'))) {
      mkdirSync(this.o.cacheDir ?? join(reg.home, 'serve-cache'), { recursive: true });
      await reg.export(v.ref, dir, { overwrite: true });
    }
    return this.entries.get(ref) ?? this.register(ref, dir, { root: `registry:${v.ref}` });
  }

  /** Reads the adapter from disk into host memory (once; concurrent callers share the load). */
  async ensureLoaded(e: AdapterEntry): Promise<void> {
    if (e.prepared) return;
    e.loading ??= (async () => {
      const t0 = performance.now();
      // The base fingerprint was checked at register time (cached), so loadAdapterFor need not re-hash the base.
      const a = await loadAdapterFor(this.base, e.dir, { allowOtherBase: true });
      const rank = Math.max(...a.sites.map((s) => s.r));
      if (rank > this.o.maxRank) throw new LorakitError('LK_ADAPTER', `adapter '${e.dir}' has rank ${rank}, above this server's --max-lora-rank ${this.o.maxRank}`);
      this.slots.addTargets(a.sites.map((s) => s.spec));
      e.prepared = prepareAdapter(a);
      e.loadMs = performance.now() - t0;
      this.o.metrics.adapterLoads.inc();
      this.o.metrics.adapterLoadSeconds.observe(e.loadMs / 1000);
    })();
    try {
      await e.loading;
    } finally {
      e.loading = undefined;
    }
  }

  /** A lease for the engine: acquire pins `e` in a slot (writing it there if needed), release unpins it. */
  lease(e: AdapterEntry): SlotLease {
    return { acquire: () => this.acquire(e), release: () => this.release(e) };
  }

  private acquire(e: AdapterEntry): number | null {
    if (!e.prepared) throw new LorakitError('LK_INTERNAL', `adapter '${e.name}' is not loaded`);
    e.lastUsed = ++this.clock;
    if (e.slot !== null) {
      e.pins++;
      this.hits++;
      this.o.metrics.adapterHits.inc({ adapter: e.name });
      return e.slot;
    }
    let slot = this.owners.findIndex((o, i) => i > 0 && o === null);
    if (slot < 0) {
      let victim: AdapterEntry | null = null;
      for (const o of this.owners) if (o && o.pins === 0 && (!victim || o.lastUsed < victim.lastUsed)) victim = o;
      if (!victim) return null; // every slot is pinned by a running sequence: wait for one to finish
      slot = victim.slot!;
      victim.slot = null;
      this.evictions++;
      this.o.metrics.adapterEvictions.inc();
    }
    const t0 = performance.now();
    this.slots.write(slot, e.prepared);
    this.lastSwitchMs = performance.now() - t0;
    this.o.metrics.adapterSwitchSeconds.observe(this.lastSwitchMs / 1000);
    this.owners[slot] = e;
    e.slot = slot;
    e.pins++;
    this.slotLoads++;
    this.o.metrics.adapterSlotLoads.inc({ adapter: e.name });
    return slot;
  }

  private release(e: AdapterEntry): void {
    e.pins = Math.max(0, e.pins - 1);
    if (e.removed && e.pins === 0) this.free(e);
  }

  private free(e: AdapterEntry): void {
    if (e.slot !== null) {
      this.slots.clear(e.slot);
      this.owners[e.slot] = null;
      e.slot = null;
    }
  }

  /** Forgets `name`; its slot is freed now, or when the last running sequence using it finishes. */
  unload(name: string): boolean {
    const e = this.entries.get(name);
    if (!e) return false;
    this.entries.delete(name);
    this.o.metrics.adapterResident.delete({ adapter: name });
    e.removed = true;
    if (e.pins === 0) this.free(e);
    return true;
  }
}
