// The rules every store keeps the same way, written once: page cursors, quarantine ids, the chat a
// delivery is ordered in, what an attempt's outcome makes of its delivery, how a delivery is shown.
// The SQL store and the KV store both use these, so that the store contract cannot drift between
// them.
import type { AttemptRecord, DeliveryState, DeliveryStatus } from './store.ts';

/** Pages go newest first; a cursor is the (receivedAt, id) of the last item shown. */
export function encodeCursor(receivedAt: number, id: string | number): string {
  return `${receivedAt}.${id}`;
}

export function decodeCursor(cursor: string): { receivedAt: number; id: string } | null {
  const match = /^(\d+)\.([A-Za-z0-9_-]+)$/.exec(cursor);
  return match ? { receivedAt: Number(match[1]), id: match[2]! } : null;
}

/** A quarantined body's id, `q<n>`: never a valid event id shape, so one route can serve both. */
export function quarantineId(n: number): string {
  return `q${n}`;
}

export function quarantineNumber(id: string): number | null {
  const match = /^q(\d+)$/.exec(id);
  return match ? Number(match[1]) : null;
}

export const isQuarantineId = (id: string) => quarantineNumber(id) !== null;

/** The chat whose order per-chat delivery keeps: the instance and the event's subject; none without a subject. */
export function chatKey(instance: string, subject: string | null): string | null {
  return subject === null ? null : `${instance}/${subject}`;
}

/** What a delivery becomes after an attempt with this outcome. */
export const STATUS_AFTER: Record<AttemptRecord['outcome'], DeliveryStatus> = {
  delivered: 'delivered',
  retry: 'pending',
  dead: 'dead',
  held: 'pending',
};

/** The attempts a delivery has spent after one with this outcome: a held attempt spends none. */
export const attemptsAfter = (a: Pick<AttemptRecord, 'attempt' | 'outcome'>) =>
  a.outcome === 'held' ? a.attempt - 1 : a.attempt;

/** A stored delivery as operators see it: `nextAt` only while it is pending. */
export function deliveryState(d: Omit<DeliveryState, 'nextAt'> & { nextAt: number }): DeliveryState {
  return { ...d, nextAt: d.status === 'pending' ? d.nextAt : null };
}
