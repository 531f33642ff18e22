// Dead letters: events with a delivery whose retries are exhausted, and a button per target to
// replay all of that target's at once.
import type { EventSummary, TargetStats } from '../../store/store.ts';
import { Layout, Outcome } from '../layout.tsx';
import { EventTable } from './events.tsx';

export function DeadPage(props: {
  events: EventSummary[];
  next: string | null;
  stats: TargetStats[];
  done?: string;
  failed?: string;
}) {
  return (
    <Layout title="Dead letters">
      <Outcome done={props.done} failed={props.failed} />
      <h1>Dead letters</h1>
      <p>
        {props.stats
          .filter((t) => t.dead > 0)
          .map((t) => (
            <form class="inline" method="post" action={`/dead/${encodeURIComponent(t.target)}/replay`}>
              <button type="submit">
                Replay {t.dead} dead of {t.target}
              </button>{' '}
            </form>
          ))}
      </p>
      <EventTable
        events={props.events}
        next={props.next}
        nextHref={(cursor) => `/dead?cursor=${encodeURIComponent(cursor)}`}
      />
    </Layout>
  );
}
