// The quarantine: bodies that carried a valid token but were not a notification. The list shows
// what they are; each one's own page holds its body to correct and release as an event (so the
// list reads no body at all).
import type { QuarantineDetail, QuarantineSummary } from '../../store/store.ts';
import { Layout, Outcome, time } from '../layout.tsx';

const text = new TextDecoder();

function Released(props: { as: string | null }) {
  return props.as ? (
    <>
      {' '}
      · released as <a href={`/events/${props.as}`}>{props.as}</a>
    </>
  ) : (
    <></>
  );
}

export function QuarantinePage(props: {
  items: QuarantineSummary[];
  next: string | null;
  done?: string;
  failed?: string;
}) {
  return (
    <Layout title="Quarantine">
      <Outcome done={props.done} failed={props.failed} />
      <h1>Quarantine</h1>
      <p class="muted">
        Bodies that carried a valid token but were not a notification. Open one to fix it and release it as an event.
      </p>
      {props.items.length === 0 ? <p class="muted">Nothing in quarantine.</p> : ''}
      <table>
        <tbody>
          {props.items.map((item) => (
            <tr>
              <td class="nowrap">
                <a href={`/quarantine/${item.id}`} class="mono">
                  {item.id}
                </a>
              </td>
              <td class="nowrap">{time(item.receivedAt)}</td>
              <td>
                {item.reason}
                <span class="muted"> · {item.bytes} bytes</span>
                <Released as={item.releasedAs} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.next ? (
        <p>
          <a href={`/quarantine?cursor=${encodeURIComponent(props.next)}`}>Older →</a>
        </p>
      ) : (
        ''
      )}
    </Layout>
  );
}

export function QuarantinedPage(props: { item: QuarantineDetail; done?: string; failed?: string }) {
  const { item } = props;
  return (
    <Layout title={`Quarantine ${item.id}`}>
      <Outcome done={props.done} failed={props.failed} />
      <h1>Quarantine {item.id}</h1>
      <p>
        {time(item.receivedAt)} · {item.reason}
        <Released as={item.releasedAs} />
      </p>
      <form method="post" action={`/quarantine/${item.id}/release`}>
        <textarea name="body">{text.decode(item.body)}</textarea>
        <button type="submit" disabled={item.releasedAs !== null}>
          Release as an event
        </button>
      </form>
    </Layout>
  );
}
