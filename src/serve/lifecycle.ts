// A replica's lifecycle for load balancers: 'starting' until it listens, 'ready' while it takes work,
// 'draining' after SIGTERM (GET /ready answers 503, new generation requests get 503 so HAProxy retries them
// elsewhere, requests already in flight run to the end), then the process exits.
export type Phase = 'starting' | 'ready' | 'draining';

export class Lifecycle {
  phase: Phase = 'starting';
  inFlight = 0;
  private waiters: (() => void)[] = [];

  get ready(): boolean { return this.phase === 'ready'; }
  enter(): void { this.inFlight++; }
  leave(): void { if (--this.inFlight === 0) for (const w of this.waiters.splice(0)) w(); }

  /** Stops taking work; resolves true once every in-flight request finished, false if `timeoutMs` ran out first. */
  drain(timeoutMs: number): Promise<boolean> {
    this.phase = 'draining';
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => { clearTimeout(t); resolve(true); });
    });
  }
}
