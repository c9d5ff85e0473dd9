import type { Provider } from '../config/index.js';
import type { OutcomeKind } from '../outcomes/types.js';

/** What the pipeline reports as it works; the metrics module implements it. All optional, all sync. */
export interface PipelineObserver {
  outcome?(event: {
    readonly queue: string;
    readonly name: string;
    readonly provider: Provider;
    readonly account: string;
    readonly code: number | null;
    readonly outcome: OutcomeKind;
    readonly charge: number;
  }): void;
  upstreamCall?(event: {
    readonly provider: Provider;
    readonly operation: string;
    readonly seconds: number;
  }): void;
  /** A worker took a job from its queue (once per take: a job parked and back is taken again). */
  taken?(event: { readonly queue: string }): void;
  limiterWait?(event: { readonly account: string; readonly seconds: number }): void;
  /** A job parked: for its turn ('limit'), a held account, or another run's call in flight ('busy'). */
  parked?(event: { readonly account: string; readonly why: 'limit' | 'held' | 'busy' }): void;
  /** A job named an account this process does not know, and was parked. */
  unknownAccount?(event: { readonly account: string }): void;
  /** A granted slot given up because the process reached it too late to send. */
  slotMissed?(event: { readonly account: string }): void;
  unknownCharge?(event: { readonly account: string }): void;
}
