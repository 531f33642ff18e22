// The store port: everything the relay keeps, behind one interface that the SQL store (Node,
// Workers, Deno self-hosted) and the Deno KV store implement, with the rules they share in
// rules.ts. Every method is async because some stores live across an RPC, a thread or a network
// hop; the SQL one answers synchronously inside.

/** An event ready to be stored, with the names of the targets whose filter it matches. */
export interface NewEvent {
  id: string;
  instance: string;
  type: string;
  subject: string | null;
  /** Epoch ms. */
  receivedAt: number;
  /** The one line lists show (event-preview.ts), made once at ingest. */
  preview: string | null;
  /** Rebuilt from Green API's journal: its webhook never came. */
  recovered?: boolean;
  /** CloudEvents attributes as JSON (see event.ts `eventTexts`). */
  attributes: string;
  /** `data` as JSON, without `raw`. */
  data: string;
  /** The notification exactly as Green API sent it. */
  body: Uint8Array;
  targets: string[];
  /** Files to archive (media archive on): stored as jobs in the same transaction. */
  media?: NewMedia[];
  /** Targets (of `targets`) whose deliveries wait until every file of the event is archived or has failed. */
  waitFor?: string[];
}

/** Which file of an event: the message's own, or the one it quotes. */
export type MediaPart = 'message' | 'quoted';

/** A file to archive, and where to get it. */
export interface NewMedia {
  part: MediaPart;
  /** Green API's link; null when it sent none (quoted files), then downloadFile gives one. */
  url: string | null;
  chatId: string;
  /** The id downloadFile takes: the message's own, or the quoted one's (stanzaId). */
  messageId: string;
  mimeType: string | null;
  fileName: string | null;
}

/** A file the archiver has claimed: it owns it until it records a result. */
export interface MediaJob extends NewMedia {
  eventId: string;
  instance: string;
  /** The number of the try about to be made, from 1. */
  attempt: number;
}

/** What the archive holds of one file. */
export interface MediaRecord {
  eventId: string;
  part: MediaPart;
  status: 'pending' | 'archived' | 'failed';
  contentType: string | null;
  fileName: string | null;
  bytes: number | null;
  /** Where the archive keeps the bytes (a file or an R2 object); null until archived. */
  key: string | null;
  /** Why it failed, or the last try's error. */
  error: string | null;
  attempts: number;
  updatedAt: number;
}

export interface MediaResult {
  eventId: string;
  part: MediaPart;
  outcome: 'archived' | 'retry' | 'failed';
  /** When to try again (retry). */
  nextAt: number | null;
  contentType?: string | null;
  bytes?: number | null;
  key?: string | null;
  error?: string | null;
  at: number;
}

export interface QuarantinedBody {
  receivedAt: number;
  reason: string;
  instance: string | null;
  contentType: string | null;
  body: Uint8Array;
}

/** A store's own handle of a delivery: handed back with its attempt as it was, never looked into. */
export type DeliveryRef = string | number;

/** Deliveries to lease in an ingest's own commit, as a claim would (sql-store.ts SqlStore.ingestLeased). */
export interface IngestLease {
  targets: string[];
  until: number;
}

export interface LeasedIngest {
  status: 'accepted' | 'duplicate';
  /** The deliveries leased, as a claim would have handed them (without the event's texts). */
  leased: { ref: DeliveryRef; target: string }[];
}

/** A delivery the dispatcher has claimed: it owns it until it records an attempt. */
export interface ClaimedDelivery {
  ref: DeliveryRef;
  eventId: string;
  target: string;
  /** The number of the attempt about to be made, from 1. */
  attempt: number;
  attributes: string;
  data: string;
  body: Uint8Array;
  /** The event's archived files, for a target that takes them (ClaimRequest.media). */
  media?: MediaRecord[];
}

/** How many due deliveries of one target to claim, and for how long. */
export interface ClaimRequest {
  target: string;
  limit: number;
  leaseMs: number;
  /** Only the oldest pending delivery of each chat (per-chat ordering). */
  perChat?: boolean;
  /** Hand each delivery its event's archived files. */
  media?: boolean;
}

/** A target's circuit and pause (delivery/circuit.ts says what the fields mean). */
export interface TargetState {
  target: string;
  /** Bumped by every write; a write that names an older version loses (several dispatchers share a target). */
  version: number;
  paused: boolean;
  pausedAt: number | null;
  /** When the circuit opened; null while closed. */
  openedAt: number | null;
  /** Failed attempts since the last success. */
  failures: number;
  /** When the next probe may start (open only). */
  probeAt: number | null;
  /** Failed probes since the circuit opened. */
  probes: number;
  lastError: string | null;
  updatedAt: number;
}

export interface AttemptRecord {
  /** `ClaimedDelivery.ref` of the delivery attempted. */
  ref: DeliveryRef;
  eventId: string;
  target: string;
  attempt: number;
  startedAt: number;
  latencyMs: number;
  statusCode: number | null;
  error: string | null;
  /**
   * What happens next: done, try again at `nextAt`, give up, or `held`: the target's circuit is
   * open (or it is paused), so the attempt is kept but its delivery keeps its place and retries
   * (due again at `nextAt`, once the hold ends).
   */
  outcome: 'delivered' | 'retry' | 'dead' | 'held';
  nextAt: number | null;
}

/** What the HTTP app needs: taking notifications in, and what operators read and do. */
export interface AppStore extends OperatorStore {
  /** Stores the event and one pending delivery per target in one transaction; an id seen within the dedup window writes nothing new. */
  ingest(event: NewEvent): Promise<'accepted' | 'duplicate'>;
  /** Keeps a body the relay could not accept as an event; returns its quarantine id. */
  quarantine(body: QuarantinedBody): Promise<string>;
  /** Throws when the store cannot take writes (for /healthz). */
  ping(): Promise<void>;
  /** Every target's stored circuit and pause (targets never held have none). */
  targetStates(): Promise<TargetState[]>;
  /** Pauses or resumes a target (an operator's doing), whatever its circuit; bumps its version. */
  setTargetPaused(target: string, paused: boolean, now: number): Promise<TargetState>;
  /** Counts `by` occurrences (default 1) towards the grouped alert `key` (dead deliveries, quarantined bodies). */
  countAlert(key: string, at: number, sample: string, by?: number): Promise<void>;
  /** Takes (and forgets) the alert counts whose first occurrence is before `before`; `next`: the first occurrence of those left. */
  takeAlertCounts(before: number): Promise<{ taken: AlertCount[]; next: number | null }>;
  /** The archive's record of an event's files (none when it has none, or the archive is off); `instance`: the event's, where a store is split by instance. */
  getMedia(eventId: string, instance?: string): Promise<MediaRecord[]>;
  /** A small value the relay keeps between starts (last states seen, pass times); null when never written. */
  readState(key: string): Promise<string | null>;
  writeState(key: string, value: string, now: number): Promise<void>;
}

/** The relay's own state beside the events (circuits, pauses, alert counts, small values, leases), as each store keeps it. */
export type ControlStore = Pick<
  Store,
  | 'targetStates'
  | 'setTargetPaused'
  | 'saveTargetState'
  | 'countAlert'
  | 'takeAlertCounts'
  | 'readState'
  | 'writeState'
  | 'takeLease'
  | 'dropLease'
  | 'reserveStart'
>;

export interface AlertCount {
  key: string;
  count: number;
  firstAt: number;
  lastAt: number;
  /** The latest occurrence's words (the last error, the last reason). */
  sample: string;
}

/** The whole store: the app's side and the dispatcher's. */
export interface Store extends AppStore {
  /**
   * Up to `limit` due deliveries of each target, oldest first, leased until `now + leaseMs` so
   * that no one sends them again meanwhile. A claim is all-or-nothing.
   */
  claim(requests: ClaimRequest[], now: number): Promise<ClaimedDelivery[]>;
  /** Records one attempt and moves its delivery on. */
  record(attempt: AttemptRecord): Promise<void>;
  /** Makes every leased delivery (and media job) due now: for a single owner starting up, nothing is in flight; where relays share the store, only this relay's own. */
  releaseClaims(now: number): Promise<number>;
  /** Up to `limit` due media jobs, oldest first, leased until `now + leaseMs`. */
  claimMedia(limit: number, now: number, leaseMs: number): Promise<MediaJob[]>;
  /** Records a try; once an event's files are all settled, its waiting deliveries are due. */
  recordMedia(result: MediaResult): Promise<void>;
  /** When the earliest media job is due, or null. */
  nextMediaDueAt(): Promise<number | null>;
  /** Forgets the files of events that were pruned; returns their keys, for the archive to delete. */
  takeOrphanMedia(limit: number): Promise<string[]>;
  /** When the earliest pending delivery of these targets is due (epoch ms), or null. */
  nextDueAt(targets: string[]): Promise<number | null>;
  /** Deletes settled events older than the retention; returns how many. */
  prune(now: number): Promise<number>;
  /** Writes a target's state if its stored version is still `state.version`; false when another writer came first. */
  saveTargetState(state: TargetState): Promise<boolean>;
  /** Makes the pending deliveries of `target` last touched before `before` dead, with `error`; returns how many. */
  expireHeld(target: string, before: number, error: string, now: number): Promise<number>;
  /**
   * Takes or renews the lease `name` (a pulled instance, a reconciliation pass, pruning) for
   * `ttlMs`: true when this relay holds it now. Where several relays share the store, the work it
   * names runs in one of them at a time; a store with one owner always answers true.
   */
  takeLease(name: string, now: number, ttlMs: number): Promise<boolean>;
  /** Gives a lease up before its time (a relay stopping), for another relay to take at once. */
  dropLease(name: string): Promise<void>;
  /**
   * Reserves the next start of a rate-limited target, `intervalMs` after the one before it, at
   * or after `now`, and returns it, where relays share the target; null for a store with one
   * owner, whose dispatcher spaces the starts itself (delivery/rate.ts).
   */
  reserveStart(target: string, now: number, intervalMs: number): Promise<number | null>;
}

// ---- what operators read and do (admin API, inspector, metrics) ----------------------------

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

export interface EventQuery {
  /** Events with a delivery in this state (to `target` when given); `delivered`: every delivery delivered. */
  status?: DeliveryStatus;
  /** Exact type, or a prefix wildcard such as `com.green-api.message.*`. */
  type?: string;
  instance?: string;
  /** The chat (event subject). */
  chat?: string;
  target?: string;
  /** Received at or after (epoch ms). */
  since?: number;
  /** Received before (epoch ms). */
  until?: number;
  limit: number;
  /** From a previous page's `next`. */
  cursor?: string;
}

export interface DeliveryState {
  target: string;
  status: DeliveryStatus;
  /** Attempts made in the current series. */
  attempts: number;
  /** Replays so far: 0 for the first series. */
  series: number;
  leased: boolean;
  nextAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
  updatedAt: number;
}

export interface EventSummary {
  id: string;
  instance: string;
  type: string;
  subject: string | null;
  receivedAt: number;
  duplicates: number;
  /** A line for lists: the message kind and text, the status, or the state. */
  preview: string | null;
  /** Recovered from Green API's journal. */
  recovered: boolean;
  deliveries: DeliveryState[];
}

export interface AttemptRow {
  target: string;
  series: number;
  attempt: number;
  startedAt: number;
  latencyMs: number;
  statusCode: number | null;
  error: string | null;
  outcome: AttemptRecord['outcome'];
}

export interface EventDetail extends EventSummary {
  attributes: string;
  data: string;
  body: Uint8Array;
  attempts: AttemptRow[];
}

export interface QuarantineSummary {
  id: string;
  receivedAt: number;
  reason: string;
  instance: string | null;
  contentType: string | null;
  bytes: number;
  /** The event it became when an operator released it. */
  releasedAs: string | null;
}

export interface QuarantineDetail extends QuarantineSummary {
  body: Uint8Array;
}

export interface TargetStats {
  target: string;
  pending: number;
  dead: number;
  delivered: number;
  /** Attempts in the stats window and how many succeeded. */
  attempts: number;
  succeeded: number;
  lastError: string | null;
  lastErrorAt: number | null;
}

export interface Page<T> {
  items: T[];
  next: string | null;
}

/** What the admin API and the inspector need from a store, beyond the relay's own work. */
export interface OperatorStore {
  listEvents(query: EventQuery): Promise<Page<EventSummary>>;
  getEvent(id: string): Promise<EventDetail | null>;
  /**
   * Makes the event's deliveries (to `target` only, when given) due now as a new series: attempts
   * count from 1 again, the event id and `webhook-id` stay. A target that had no delivery of the
   * event gets one. Deliveries in flight are left alone. Returns how many were made due.
   */
  replay(eventId: string, targets: string[], now: number): Promise<number>;
  /** Replays every dead delivery of one target; returns how many. */
  replayDead(target: string, now: number): Promise<number>;
  listQuarantine(limit: number, cursor?: string): Promise<Page<QuarantineSummary>>;
  getQuarantined(id: string): Promise<QuarantineDetail | null>;
  /** Notes that a quarantined body was released as an event. */
  markReleased(id: string, eventId: string): Promise<void>;
  /** Per-target counts, and attempts since `since` (epoch ms). */
  targetStats(since: number): Promise<TargetStats[]>;
  /** Notifications received and attempts made per bucket of `bucketMs` since `since`, for the inspector's charts. */
  activity(since: number, bucketMs: number): Promise<Activity>;
}

export interface Activity {
  /** Bucket start (epoch ms) and how many events arrived in it. */
  received: { at: number; count: number }[];
  /** Bucket start, target, outcome and how many attempts. */
  attempts: { at: number; target: string; outcome: AttemptRecord['outcome']; count: number }[];
}
