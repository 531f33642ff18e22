// What an operator can do, shared by the admin API and the inspector's buttons: replay an event,
// replay a target's dead letters, release a quarantined body. A refusal is an OperationError, an
// HTTPException carrying the relay's error shape: the API answers it as it is (app.ts onError),
// and the inspector turns it into a notice.
import { HTTPException } from 'hono/http-exception';
import type { RelayConfig } from '../config.ts';
import type { TargetMatcher } from '../delivery/filter.ts';
import type { EventAttributes } from '../event.ts';
import { errorResponse } from '../http.ts';
import { parseNotification, type Ingest } from '../ingest.ts';
import type { Logger } from '../log.ts';
import type { AppStore, TargetState } from '../store/store.ts';
import type { Alerter } from '../alerts.ts';

export interface OperationsDeps {
  config: RelayConfig;
  store: AppStore;
  ingest: Ingest;
  alerter: Pick<Alerter, 'emit'>;
  matchTargets: TargetMatcher;
  logger: Logger;
  now: () => number;
  /** Something became due: wake the dispatcher. */
  onDue?: () => void;
  /** A target was paused or resumed. */
  onTargetsChanged?: () => void;
}

/** A refusal an operator can act on, answered with its error code. */
export class OperationError extends HTTPException {
  constructor(code: 'not_found' | 'conflict' | 'unprocessable', message: string) {
    const res = errorResponse(code, message);
    super(res.status as 404 | 409 | 422, { message, res });
  }
}

export type Operations = ReturnType<typeof createOperations>;

export function createOperations(deps: OperationsDeps) {
  const { config, store, logger, now } = deps;
  const targetNames = new Set(config.targets.map((t) => t.name));
  const requireTarget = (name: string) => {
    if (!targetNames.has(name)) throw new OperationError('not_found', `no target named ${name} in the configuration`);
  };

  return {
    /**
     * Pauses a target (contract §7): its deliveries are held, as with an open circuit, until it is
     * resumed, across restarts too. Resuming lets the held backlog flow.
     */
    async setPaused(target: string, paused: boolean): Promise<TargetState> {
      requireTarget(target);
      const before = (await store.targetStates()).find((s) => s.target === target);
      const state = await store.setTargetPaused(target, paused, now());
      logger.warn(paused ? 'target.paused' : 'target.resumed', { target });
      if ((before?.paused ?? false) !== paused) {
        await deps.alerter.emit(
          paused
            ? {
                kind: 'target.paused',
                text: `${target} was paused by an operator: its deliveries are held until it is resumed`,
                target,
              }
            : {
                kind: 'target.resumed',
                text: `${target} was resumed by an operator: its held deliveries flow again`,
                target,
              },
        );
      }
      deps.onTargetsChanged?.();
      return state;
    },

    /** Delivers the event again now, as a new attempt series, to one target or to all of its targets. */
    async replay(eventId: string, target?: string): Promise<number> {
      if (target !== undefined) requireTarget(target);
      const event = await store.getEvent(eventId);
      if (!event) throw new OperationError('not_found', `no event ${eventId}`);
      // All targets: those the event matches now, and those it went to that are still configured.
      const targets = target
        ? [target]
        : [
            ...new Set([
              ...deps.matchTargets(JSON.parse(event.attributes) as EventAttributes),
              ...event.deliveries.map((d) => d.target).filter((t) => targetNames.has(t)),
            ]),
          ];
      const replayed = await store.replay(eventId, targets, now());
      logger.info('event.replayed', { eventId, targets, replayed });
      if (replayed > 0) deps.onDue?.();
      return replayed;
    },

    async replayDead(target: string): Promise<number> {
      requireTarget(target);
      const replayed = await store.replayDead(target, now());
      logger.info('target.dead_replayed', { target, replayed });
      if (replayed > 0) deps.onDue?.();
      return replayed;
    },

    /** Accepts a quarantined body as an event: the operator's corrected body, or the stored one when none is given. */
    async release(id: string, corrected?: Uint8Array): Promise<{ status: 'accepted' | 'duplicate'; id: string }> {
      const kept = await store.getQuarantined(id);
      if (!kept) throw new OperationError('not_found', `no quarantined body ${id}`);
      if (kept.releasedAs)
        throw new OperationError('conflict', `${id} was already released as event ${kept.releasedAs}`);
      const body = corrected && corrected.byteLength > 0 ? corrected : kept.body;
      const parsed = parseNotification(body);
      if (parsed.ok && !config.instances[parsed.instance] && !config.instances['*'])
        throw new OperationError('unprocessable', `instance ${parsed.instance} is not configured`);
      const result = await deps.ingest({
        body,
        parsed,
        receivedAt: now(),
        contentType: kept.contentType,
        via: 'release',
        invalid: 'refuse',
      });
      if (result.status === 'refused' || result.status === 'quarantined')
        throw new OperationError('unprocessable', `still not a notification: ${result.reason}`);
      await store.markReleased(id, result.event.id);
      logger.info('quarantine.released', { quarantineId: id, eventId: result.event.id, status: result.status });
      return { status: result.status, id: result.event.id };
    },
  };
}
