// The store port: everything the relay keeps, behind one interface that the SQL store (Node,
// Workers, Deno self-hosted) and later a Deno KV store implement. Every method is async because
// some stores live across an RPC or a network hop; the SQL one answers synchronously inside.

/** An event ready to be stored, with the names of the targets whose filter it matches. */
export interface NewEvent {
  id: string;
  instance: string;
  type: string;
  subject: string | null;
  /** Epoch ms. */
  receivedAt: number;
  /** CloudEvents attributes as JSON (see event.ts `eventTexts`). */
  attributes: string;
  /** `data` as JSON, without `raw`. */
  data: string;
  /** The notification exactly as Green API sent it. */
  body: Uint8Array;
  targets: string[];
}

export interface QuarantinedBody {
  receivedAt: number;
  reason: string;
  instance: string | null;
  contentType: string | null;
  body: Uint8Array;
}

/** A delivery the dispatcher has claimed: it owns it until it records an attempt. */
export interface ClaimedDelivery {
  id: number;
  eventId: string;
  target: string;
  /** The number of the attempt about to be made, from 1. */
  attempt: number;
  attributes: string;
  data: string;
  body: Uint8Array;
}

/** How many due deliveries of one target to claim, and for how long. */
export interface ClaimRequest {
  target: string;
  limit: number;
  leaseMs: number;
}

export interface AttemptRecord {
  deliveryId: number;
  eventId: string;
  target: string;
  attempt: number;
  startedAt: number;
  latencyMs: number;
  statusCode: number | null;
  error: string | null;
  /** What happens next: done, try again at `nextAt`, or give up. */
  outcome: 'delivered' | 'retry' | 'dead';
  nextAt: number | null;
}

export interface Store {
  /** Stores the event and one pending delivery per target in one transaction; an id seen within the dedup window writes nothing new. */
  ingest(event: NewEvent): Promise<'accepted' | 'duplicate'>;
  /** Keeps a body the relay could not accept as an event; returns its quarantine id. */
  quarantine(body: QuarantinedBody): Promise<string>;
  /**
   * Up to `limit` due deliveries of each target, oldest first, leased until `now + leaseMs` so
   * that no one sends them again meanwhile. One call is one transaction.
   */
  claim(requests: ClaimRequest[], now: number): Promise<ClaimedDelivery[]>;
  /** Records one attempt and moves its delivery on. */
  record(attempt: AttemptRecord): Promise<void>;
  /** Makes every leased delivery due now: for a single owner starting up, nothing is in flight. */
  releaseClaims(now: number): Promise<number>;
  /** When the earliest pending delivery of these targets is due (epoch ms), or null. */
  nextDueAt(targets: string[]): Promise<number | null>;
  /** Deletes settled events older than the retention; returns how many. */
  prune(now: number): Promise<number>;
  /** Throws when the store cannot take writes (for /healthz). */
  ping(): Promise<void>;
}
