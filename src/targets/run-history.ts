/**
 * An IdP's recent runs for the status API, kept in columns of typed arrays: a fixed
 * ring, so memory is bounded however long the daemon runs, and some 34 bytes a run
 * instead of the 130 an object with four boxed numbers takes. At 5,000 IdPs keeping 60
 * runs each, that is 10 MB instead of 40.
 */
import { FAILURE_REASONS, type FailureReason } from '../probes/reasons.js';
import { RingSlots } from './ring.js';

/** One past run, summarised for the status API and the page. */
export interface RunSummary {
  startedAt: number;
  ok: boolean;
  chainSeconds: number | null;
  discoverySeconds: number;
  jwksSeconds: number | null;
  reason: FailureReason | null;
}

const NO_REASON = 255;

export class RunHistory {
  private readonly startedAt: Float64Array;
  private readonly chainSeconds: Float64Array;
  private readonly discoverySeconds: Float64Array;
  private readonly jwksSeconds: Float64Array;
  /** 0 failed, 1 ok. */
  private readonly ok: Uint8Array;
  /** Index into FAILURE_REASONS, NO_REASON for none. */
  private readonly reason: Uint8Array;
  private readonly slots: RingSlots;

  constructor(readonly capacity: number) {
    this.slots = new RingSlots(capacity);
    this.startedAt = new Float64Array(capacity);
    this.chainSeconds = new Float64Array(capacity);
    this.discoverySeconds = new Float64Array(capacity);
    this.jwksSeconds = new Float64Array(capacity);
    this.ok = new Uint8Array(capacity);
    this.reason = new Uint8Array(capacity);
  }

  push(run: RunSummary): void {
    const i = this.slots.claim();
    this.startedAt[i] = run.startedAt;
    this.chainSeconds[i] = run.chainSeconds ?? Number.NaN;
    this.discoverySeconds[i] = run.discoverySeconds;
    this.jwksSeconds[i] = run.jwksSeconds ?? Number.NaN;
    this.ok[i] = run.ok ? 1 : 0;
    this.reason[i] = run.reason === null ? NO_REASON : FAILURE_REASONS.indexOf(run.reason);
  }

  get size(): number {
    return this.slots.size;
  }

  /** Oldest first. */
  toArray(): RunSummary[] {
    return this.slots.order().map((i) => {
      const chain = this.chainSeconds[i]!;
      const jwks = this.jwksSeconds[i]!;
      const reason = this.reason[i]!;
      return {
        startedAt: this.startedAt[i]!,
        ok: this.ok[i] === 1,
        chainSeconds: Number.isNaN(chain) ? null : chain,
        discoverySeconds: this.discoverySeconds[i]!,
        jwksSeconds: Number.isNaN(jwks) ? null : jwks,
        reason: reason === NO_REASON ? null : FAILURE_REASONS[reason]!,
      };
    });
  }
}
