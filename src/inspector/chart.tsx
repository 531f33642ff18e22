// A column chart drawn as SVG on the server (no client framework): one column per bucket, the
// series stacked in each, one path per series. For attempts per minute by outcome, and
// notifications received per minute, over the last 24 hours.

export interface Series {
  name: string;
  /** A class of the stylesheet that colours it (delivered, pending, dead, held, received). */
  class: string;
  /** Count per bucket start (epoch ms). */
  counts: Map<number, number>;
}

const HEIGHT = 60;

export function ColumnChart(props: {
  since: number;
  bucketMs: number;
  buckets: number;
  series: Series[];
  title: string;
}) {
  const { since, bucketMs, buckets, series } = props;
  // The window ends with the bucket holding now (since + buckets × bucketMs), so the first column is
  // the bucket after the one holding `since`: its partial bucket would make buckets + 1 columns.
  const first = (Math.floor(since / bucketMs) + 1) * bucketMs;
  const totals = Array.from({ length: buckets }, (_, i) =>
    series.reduce((sum, s) => sum + (s.counts.get(first + i * bucketMs) ?? 0), 0),
  );
  const max = Math.max(1, ...totals);
  const base = new Array<number>(buckets).fill(0);
  const paths = series.map((s) => {
    let d = '';
    for (let i = 0; i < buckets; i++) {
      const count = s.counts.get(first + i * bucketMs) ?? 0;
      if (count === 0) continue;
      const bottom = HEIGHT - (base[i]! / max) * HEIGHT;
      const top = HEIGHT - ((base[i]! + count) / max) * HEIGHT;
      base[i]! += count;
      d += `M${i + 0.5} ${bottom.toFixed(2)}V${top.toFixed(2)}`;
    }
    return { s, d, total: [...s.counts.values()].reduce((a, b) => a + b, 0) };
  });
  return (
    <figure class="chart">
      <figcaption>
        {props.title}{' '}
        <span class="muted">
          (peak {max} per {bucketMs >= 60_000 ? `${bucketMs / 60_000} min` : `${bucketMs / 1000} s`})
        </span>{' '}
        {paths.map(({ s, total }) => (
          <span class={`legend ${s.class}`}>
            {s.name} {total}
          </span>
        ))}
      </figcaption>
      <svg viewBox={`0 0 ${buckets} ${HEIGHT}`} preserveAspectRatio="none" role="img" aria-label={props.title}>
        <line x1="0" y1={HEIGHT - 0.5} x2={buckets} y2={HEIGHT - 0.5} class="axis" />
        {paths.map(({ s, d }) => (d ? <path d={d} class={`series ${s.class}`} /> : ''))}
      </svg>
      <div class="chart-scale muted">
        <span>{new Date(first).toISOString().slice(11, 16)} UTC</span>
        <span>now</span>
      </div>
    </figure>
  );
}

/** Counts by bucket of one series, from rows of (at, count). */
export function countsOf(rows: { at: number; count: number }[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const row of rows) counts.set(row.at, (counts.get(row.at) ?? 0) + row.count);
  return counts;
}
