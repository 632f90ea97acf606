import { type FleetCounts, STATUSES } from './fleetCounts';

const W = 640;
const H = 200;
const PAD = { left: 40, right: 12, top: 10, bottom: 24 };

/** Targets per update status over time, as step lines in plain SVG. */
export function CountsChart(props: { samples: readonly FleetCounts[] }) {
  const { samples } = props;
  if (samples.length === 0) return <p>No counts yet.</p>;
  const first = samples[0]?.at ?? 0;
  const now = Math.max(Date.now(), (samples.at(-1)?.at ?? 0) + 1000);
  const maxY = Math.max(1, ...samples.flatMap((s) => STATUSES.map((k) => s.status[k])));
  const x = (t: number) =>
    PAD.left + ((t - first) / Math.max(1, now - first)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / maxY) * (H - PAD.top - PAD.bottom);
  const line = (key: (typeof STATUSES)[number]) => {
    let d = '';
    samples.forEach((s, i) => {
      const v = y(s.status[key]);
      d += i === 0 ? `M${x(s.at)},${v}` : `H${x(s.at)}V${v}`;
    });
    return `${d}H${x(now)}`;
  };
  const seconds = Math.round((now - first) / 1000);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Targets per update status over time">
        <line x1={PAD.left} y1={y(0)} x2={W - PAD.right} y2={y(0)} class="axis" />
        <line x1={PAD.left} y1={y(0)} x2={PAD.left} y2={PAD.top} class="axis" />
        <text x={PAD.left - 6} y={y(maxY) + 4} text-anchor="end">
          {maxY}
        </text>
        <text x={PAD.left - 6} y={y(0) + 4} text-anchor="end">
          0
        </text>
        <text x={W - PAD.right} y={H - 6} text-anchor="end">
          {`last ${seconds} s`}
        </text>
        {STATUSES.map((key) => (
          <path key={key} d={line(key)} class={`series s-${key}`} />
        ))}
      </svg>
      <figcaption>
        {STATUSES.map((key) => (
          <span key={key} class={`legend s-${key}`}>
            {key.replace('_', ' ')}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
