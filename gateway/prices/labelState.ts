/**
 * The state model of label tracking (labels.ts keeps it): each label's target and acknowledged
 * content and where its transfer stands, the buckets ops counts by, and the shapes the tracker
 * takes and returns. Pure data and one pure function.
 */
import type { BackoffConfig } from '../uplink/backoff.js';

export const LABEL_STATES = ['pending', 'sent', 'acked', 'failed'] as const;
export type LabelState = (typeof LABEL_STATES)[number];
export const STATE_CODE: Record<LabelState, number> = { pending: 0, sent: 1, acked: 2, failed: 3 };

export interface TrackedLabel {
  labelId: string;
  /** The AP that last heard the label (status or ack). */
  ap: string | null;
  /** The AP of the label binding (used until one hears it). */
  bindAp: string | null;
  target: string | null;
  acked: string | null;
  state: LabelState;
  attempts: number;
  /** Earliest time of the next send (pending) — ms. */
  nextAt: number;
  cmdId: string | null;
  err: string | null;
}

export type Bucket = 'none' | 'current' | 'pending' | 'sent' | 'failed';

export function bucketOf(l: TrackedLabel): Bucket {
  if (l.target === null) return 'none';
  if (l.acked === l.target) return 'current';
  return l.state === 'failed' ? 'failed' : l.state === 'sent' ? 'sent' : 'pending';
}
export interface AckEntry {
  labelId: string;
  ok: boolean;
  shownHash?: string;
  error?: string;
}

export interface Outstanding {
  cmdId: string;
  ap: string;
  sentAt: number;
  /** labelId → hash sent, removed as answers arrive. */
  labels: Map<string, string>;
}
export interface TrackerOptions {
  ackTimeoutMs: number;
  maxAttempts: number;
  backoff?: Partial<BackoffConfig>;
  random?: () => number;
}

/** What an evaluation will change, planned ahead of the switch (planTarget/planRemoval, setTargets). */
export interface TargetPlan {
  epoch: number;
  set: { labelId: string; label: TrackedLabel | null; hash: string | null; bindAp: string | null }[];
  remove: string[];
}

export interface LabelCounts {
  total: number;
  current: number;
  stale: number;
  pending: number;
  sent: number;
  failed: number;
}
