import { useState } from 'preact/hooks';
import { CountsChart } from '../CountsChart';
import { CHANNELS, history, loadFleetCounts, remember, STATUSES } from '../fleetCounts';
import { Link } from '../Link';
import { useLive } from '../useLive';

export function OverviewPage() {
  const [, setSamples] = useState(0);
  const counts = useLive(
    async () => {
      const loaded = await loadFleetCounts();
      remember(loaded);
      setSamples(history.length);
      return loaded;
    },
    [],
    (event) => event.type.startsWith('TARGET_'),
    300,
  );
  const data = counts.data;
  return (
    <section>
      <h1>Fleet overview</h1>
      {counts.error && (
        <p class="error" role="alert">
          {counts.error}
        </p>
      )}
      <h2>Update status</h2>
      <ul class="cards" aria-label="Targets per update status">
        {STATUSES.map((s) => (
          <li key={s} class={`card s-${s}`} data-status={s}>
            <Link to={`/targets?q=${encodeURIComponent(`updateStatus==${s}`)}`}>
              <span class="count">{data ? data.status[s] : '…'}</span>
              <span class="label">{s.replace('_', ' ')}</span>
            </Link>
          </li>
        ))}
        <li class="card total">
          <Link to="/targets">
            <span class="count">{data ? data.total : '…'}</span>
            <span class="label">all targets</span>
          </Link>
        </li>
      </ul>
      <h2>Channel</h2>
      <ul class="cards" aria-label="Targets per channel">
        {CHANNELS.map((c) => (
          <li key={c} class="card" data-channel={c}>
            <Link to={`/targets?q=${encodeURIComponent(`channel==${c}`)}`}>
              <span class="count">{data ? data.channel[c] : '…'}</span>
              <span class="label">{c === 'ddi' ? 'DDI' : c === 'mqtt' ? 'MQTT' : 'Huawei'}</span>
            </Link>
          </li>
        ))}
        <li class="card" data-channel="none">
          <Link to="/targets">
            <span class="count">
              {data ? data.total - CHANNELS.reduce((sum, c) => sum + data.channel[c], 0) : '…'}
            </span>
            <span class="label">no channel yet</span>
          </Link>
        </li>
      </ul>
      <h2>Over time</h2>
      <CountsChart samples={history} />
    </section>
  );
}
