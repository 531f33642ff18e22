// One event: its deliveries with a timeline of attempts per target and replay buttons, the
// CloudEvent as targets receive it, and the raw notification.
import { structuredEvent } from '../../event.ts';
import type { EventDetail } from '../../store/store.ts';
import { Layout, Outcome, RecoveredBadge, StatusBadge, time } from '../layout.tsx';

const text = new TextDecoder();
const pretty = (json: string) => JSON.stringify(JSON.parse(json), null, 2);

/** A file of the event in the media archive, as the page shows it. */
export interface ArchivedFile {
  part: 'message' | 'quoted';
  status: 'pending' | 'archived' | 'failed';
  contentType: string | null;
  bytes: number | null;
  error: string | null;
  /** A signed link, when archived. */
  url: string | null;
}

export function EventPage(props: { event: EventDetail; files?: ArchivedFile[]; done?: string; failed?: string }) {
  const { event } = props;
  const raw = text.decode(event.body);
  const byTarget = new Map<string, typeof event.attempts>();
  for (const a of event.attempts) byTarget.set(a.target, [...(byTarget.get(a.target) ?? []), a]);
  return (
    <Layout title={event.type}>
      <Outcome done={props.done} failed={props.failed} />
      <h1>
        {event.type} {event.recovered ? <RecoveredBadge /> : ''}
      </h1>
      <p class="mono">
        {event.id} · {time(event.receivedAt)} · chat {event.subject ?? '–'} · instance {event.instance}
        {event.duplicates > 0 ? ` · ${event.duplicates} duplicate(s)` : ''}
      </p>
      <h2>Deliveries</h2>
      <form class="inline" method="post" action={`/events/${event.id}/replay`}>
        <button type="submit">Replay to all targets</button>
      </form>
      <table>
        <thead>
          <tr>
            <th>target</th>
            <th>state</th>
            <th>timeline (series.attempt: status, latency)</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {event.deliveries.map((d) => (
            <tr>
              <td>{d.target}</td>
              <td>
                <StatusBadge target="" status={d.status} />
                {d.nextAt ? <div class="muted">next {time(d.nextAt)}</div> : ''}
              </td>
              <td>
                <ol class="attempts">
                  {(byTarget.get(d.target) ?? []).map((a) => (
                    <li class={a.outcome === 'delivered' ? 'delivered' : a.outcome === 'dead' ? 'dead' : 'pending'}>
                      <span class="mono">
                        {a.series + 1}.{a.attempt} {time(a.startedAt)} {a.statusCode ?? '—'} {a.latencyMs} ms
                      </span>
                      {a.error ? <span class="muted"> {a.error}</span> : ''}
                    </li>
                  ))}
                </ol>
              </td>
              <td>
                <form
                  class="inline"
                  method="post"
                  action={`/events/${event.id}/replay?target=${encodeURIComponent(d.target)}`}
                >
                  <button type="submit">Replay</button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.files && props.files.length > 0 ? <Files files={props.files} /> : ''}
      <h2>Event (as targets receive it)</h2>
      <pre>{pretty(structuredEvent(event.attributes, event.data, raw))}</pre>
      <h2>
        {event.recovered ? 'Notification rebuilt from the journal (what raw targets receive)' : 'Raw notification'}
      </h2>
      <pre>{raw}</pre>
    </Layout>
  );
}

/** The archived files inline: an image, a player for audio and video, a link for anything else. */
function Files(props: { files: ArchivedFile[] }) {
  return (
    <>
      <h2>Files in the archive</h2>
      {props.files.map((f) => (
        <figure class="file">
          <figcaption class="muted">
            {f.part === 'quoted' ? 'the quoted file' : 'the file'} · {f.status}
            {f.contentType ? ` · ${f.contentType}` : ''}
            {f.bytes !== null ? ` · ${f.bytes} bytes` : ''}
            {f.error ? ` · ${f.error}` : ''}
          </figcaption>
          {!f.url ? (
            ''
          ) : f.contentType?.startsWith('image/') ? (
            <img src={f.url} alt={`${f.part} file`} />
          ) : f.contentType?.startsWith('audio/') ? (
            <audio controls src={f.url} />
          ) : f.contentType?.startsWith('video/') ? (
            <video controls src={f.url} />
          ) : (
            <a href={f.url}>download</a>
          )}
        </figure>
      ))}
    </>
  );
}
