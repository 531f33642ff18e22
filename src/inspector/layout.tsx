// The inspector's page frame: navigation, one small stylesheet that reads well on a phone and on
// a laptop, and the pieces every page uses. Server-rendered with Hono's JSX; no build step, no
// client framework.
import type { Child } from 'hono/jsx';

const STYLE = `
:root { color-scheme: light dark; --muted: #8a8f98; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --line: #8884; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, sans-serif; margin: 0; }
header { display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: baseline; padding: .6rem 1rem; border-bottom: 1px solid var(--line); }
header strong { margin-right: .5rem; }
header a { text-decoration: none; }
main { padding: .8rem 1rem 2rem; max-width: 1200px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.nowrap, .mono { white-space: nowrap; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
pre { background: #8881; padding: .6rem; overflow: auto; font-size: 12px; max-height: 28rem; }
.badge { display: inline-block; padding: 0 .4rem; border-radius: .6rem; font-size: 12px; border: 1px solid currentColor; margin: 0 .2rem .2rem 0; white-space: nowrap; }
.delivered { color: var(--ok); } .pending { color: var(--warn); } .dead { color: var(--bad); } .muted { color: var(--muted); }
form.inline { display: inline; }
form.filters { display: flex; flex-wrap: wrap; gap: .4rem; margin-bottom: .8rem; }
input, select, button, textarea { font: inherit; padding: .25rem .4rem; }
textarea { width: 100%; min-height: 10rem; font-family: ui-monospace, monospace; font-size: 12px; }
.notice { padding: .5rem .7rem; border: 1px solid var(--line); margin-bottom: .8rem; }
h1 { font-size: 1.2rem; } h2 { font-size: 1rem; }
ol.attempts { margin: 0; padding-left: 1.2rem; }
.held { color: #8250df; } .received { color: #0969da; } .recovered { color: #bf8700; }
figure.file { margin: .4rem 0 1rem; } figure.file img, figure.file video { max-width: 100%; max-height: 24rem; display: block; }
figure.chart { margin: .6rem 0 1rem; } figure.chart svg { width: 100%; height: 60px; display: block; border-bottom: 1px solid var(--line); }
.chart .series { stroke: currentColor; stroke-width: 2px; vector-effect: non-scaling-stroke; fill: none; } /* 1,440 columns are narrower than a pixel: drawn 2 px wide */ .chart .axis { stroke: var(--line); stroke-width: 1; }
.chart-scale { display: flex; justify-content: space-between; font-size: 11px; } .legend { margin-left: .6rem; font-size: 12px; }
.legend::before { content: "■ "; }
@media (max-width: 640px) { .wide { display: none; } main { padding: .5rem; } }
`;

export function Layout(props: { title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · green-relay</title>
        <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      </head>
      <body>
        <header>
          <strong>green-relay</strong>
          <a href="/">Events</a>
          <a href="/dead">Dead letters</a>
          <a href="/quarantine">Quarantine</a>
          <a href="/targets">Targets</a>
        </header>
        <main>{props.children}</main>
      </body>
    </html>
  );
}

export function StatusBadge(props: { target: string; status: string; attempts?: number }) {
  return (
    <span class={`badge ${props.status}`} title={`${props.target}: ${props.status}`}>
      {props.target} {props.status}
      {props.attempts && props.attempts > 1 ? ` ×${props.attempts}` : ''}
    </span>
  );
}

/** An event rebuilt from Green API's journal: its webhook never came. */
export function RecoveredBadge() {
  return (
    <span class="badge recovered" title="its webhook never came: rebuilt from Green API's journal">
      recovered
    </span>
  );
}

export const time = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');

/** The outcome of the button that brought the operator here (`?done=` or `?failed=`). */
export function Outcome(props: { done?: string; failed?: string }) {
  if (props.done) return <p class="notice delivered">{props.done}</p>;
  if (props.failed) return <p class="notice dead">{props.failed}</p>;
  return <></>;
}
