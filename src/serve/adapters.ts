// Adapter management for the server: a name → adapter table with three tiers: registered (checked, not read),
// loaded (prepared in host memory, scaling folded into B) and resident (written into one of --max-loras slots).
// An adapter is checked once, when it is registered (src/lora/load.ts, plus rank above --max-lora-rank): another
// base, target modules the base lacks, a missing or misshapen tensor. Loading then reads only its tensor data
// (a non-finite weight is refused then), before it serves traffic. Slots are pinned while a sequence uses them and evicted
// least-recently-used otherwise. Registry references (name, name@v3, name@alias) resolve and export on first use.
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { LorakitError } from '../errors.js';
import type { Checkpoint } from '../models/checkpoint.js';
import { precisionMismatch } from '../models/quant/scheme.js';
import { type AdapterCheck, checkAdapterFor } from '../lora/load.js';
import { type MultiLoraSlots, type PreparedAdapter, prepareAdapter } from '../lora/multi.js';
import { readAdapterTensors } from '../lora/peft-io.js';
import type { Registry } from '../registry/index.js';
import { parseRef } from '../registry/refs.js';
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
  /** For a registry reference that can move (name, name@alias): the version served and when it was last checked. */
  registry?: { readonly version: string; checkedAt: number };
  constructor(readonly name: string, readonly root: string, readonly check: AdapterCheck) {}
  get dir(): string { return this.check.dir; }
  get rank(): number { return this.check.rank; }
  get loaded(): boolean { return this.prepared !== undefined; }
}

export interface AdapterManagerOptions {
  readonly maxRank: number;
  readonly baseFingerprint: () => Promise<string>;
  readonly metrics: ServeMetrics;
  readonly registry?: Registry;
  /** Where registry versions are exported to (one folder per version fingerprint). */
  readonly cacheDir?: string;
  /**
   * Seconds a resolved 'name@alias' (or plain 'name', i.e. latest) is served before the registry is asked again
   * (default 5). When the alias has moved, the next request loads and serves the new version; requests already
   * running finish on the old one. 'name@v3' never moves and is not re-checked.
   */
  readonly aliasTtlS?: number;
  /** Names the base is known by besides its folder (the served model name), for base_model_name_or_path checks. */
  readonly baseNames?: readonly string[];
  /** Where "base unverified" warnings go (default: stderr). */
  readonly warn?: (message: string) => void;
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
   * Checks an adapter folder against the base without reading its weights (src/lora/load.ts: files, base binding,
   * config, sites, tensor shapes from the header), then against this server's --max-lora-rank.
   * Throws LK_ADAPTER / LK_LORA_CONFIG / LK_BASE_MISMATCH.
   */
  async check(dir: string): Promise<AdapterCheck> {
    const c = await checkAdapterFor(this.base, dir, { fingerprint: this.o.baseFingerprint, baseNames: await this.baseNames() });
    if (c.rank > this.o.maxRank) {
      throw new LorakitError('LK_ADAPTER', `adapter '${dir}' has rank ${c.rank}, above this server's --max-lora-rank ${this.o.maxRank}`, {
        hint: `restart with --max-lora-rank ${c.rank} or more, or serve an adapter of rank <= ${this.o.maxRank}`,
        details: { rank: c.rank, maxRank: this.o.maxRank },
      });
    }
    if (!c.baseCheck.verified) this.warn(`adapter '${dir}': ${c.baseCheck.message}`);
    const precision = precisionMismatch(c.meta?.base_quantization, this.base.quantization);
    if (precision) this.warn(`adapter '${dir}': ${precision} (measure the drift with lorakit eval --suite, which runs the parity paths)`);
    return c;
  }

  /** The served name and, with a registry, the registered base's name. */
  private async baseNames(): Promise<string[]> {
    const names = [...(this.o.baseNames ?? [])];
    if (this.o.registry) {
      const b = await this.o.registry.meta.getBase(await this.o.baseFingerprint()).catch(() => undefined);
      if (b?.name) names.push(b.name);
    }
    return names;
  }

  private warn(msg: string): void { (this.o.warn ?? ((m: string) => process.stderr.write(`warning: ${m}\n`)))(msg); }

  /** Adds `name` (checked now; weights read on first use unless `preload`). Its modules join the slot target set. */
  async register(name: string, dir: string, opts: { preload?: boolean; root?: string } = {}): Promise<AdapterEntry> {
    if (this.entries.has(name)) {
      throw new LorakitError('LK_CONFLICT', `an adapter named '${name}' is already loaded`, {
        hint: 'unload it first (POST /v1/unload_lora_adapter)',
      });
    }
    const abs = resolvePath(dir);
    const check = await this.check(abs);
    const e = new AdapterEntry(name, opts.root ?? abs, check);
    this.slots.addTargets(check.sites.map((s) => s.spec));
    this.entries.set(name, e);
    this.o.metrics.adapterResident.set(() => (e.slot !== null ? 1 : 0), { adapter: name });
    if (opts.preload) {
      try {
        await this.ensureLoaded(e);
      } catch (err) {
        this.entries.delete(name);
        this.o.metrics.adapterResident.delete({ adapter: name });
        throw err;
      }
    }
    return e;
  }

  /** The adapter for a request's `model` name: a registered one, or a registry reference resolved now. */
  async resolve(name: string): Promise<AdapterEntry | undefined> {
    const e = this.entries.get(name);
    if (!this.o.registry) return e;
    if (e && (!e.registry || Date.now() - e.registry.checkedAt < (this.o.aliasTtlS ?? 5) * 1000)) return e;
    let p = this.pending.get(name);
    if (!p) {
      p = this.fromRegistry(name, e);
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

  /** Resolves `ref` in the registry; `current` is the entry served for it now (re-checked after the alias TTL). */
  private async fromRegistry(ref: string, current?: AdapterEntry): Promise<AdapterEntry> {
    const reg = this.o.registry!;
    const v = await reg.resolve(ref); // LK_NOT_FOUND, LK_ARG for a malformed reference
    if (current?.registry && current.registry.version === v.ref && this.entries.get(ref) === current) {
      current.registry.checkedAt = Date.now();
      return current;
    }
    const fp = await this.o.baseFingerprint();
    if (v.baseFingerprint !== fp) {
      throw new LorakitError(
        'LK_BASE_MISMATCH',
        `registry adapter '${v.ref}' belongs to base ${v.baseFingerprint.slice(0, 12)}, not to the served base (${fp.slice(0, 12)})`,
        { details: { ref: v.ref, expectedBase: v.baseFingerprint, actualBase: fp } },
      );
    }
    const dir = join(this.o.cacheDir ?? join(reg.home, 'serve-cache'), v.fingerprint);
    // lorakit.json carries the base binding (older caches lack it: export again).
    if (!existsSync(join(dir, 'adapter_model.safetensors')) || !existsSync(join(dir, 'lorakit.json'))) {
      mkdirSync(this.o.cacheDir ?? join(reg.home, 'serve-cache'), { recursive: true });
      await reg.export(v.ref, dir, { overwrite: true });
    }
    const now = this.entries.get(ref);
    if (now && now !== current) return now;
    // The alias moved (or first use): swap in the new version; sequences running on the old one keep their slot
    // until they finish (unload frees it when the last pin goes).
    if (now) this.unload(ref);
    const e = await this.register(ref, dir, { root: `registry:${v.ref}` });
    if (parseRef(ref).selector.kind !== 'version') e.registry = { version: v.ref, checkedAt: Date.now() };
    return e;
  }

  /** Reads the adapter from disk into host memory (once; concurrent callers share the load). */
  async ensureLoaded(e: AdapterEntry): Promise<void> {
    if (e.prepared) return;
    e.loading ??= (async () => {
      const t0 = performance.now();
      // check() ran at registration; only the tensor data is read now.
      e.prepared = prepareAdapter({ sites: e.check.sites, tensors: readAdapterTensors(e.dir, e.check.sites) });
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
