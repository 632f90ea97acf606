import { useState } from 'preact/hooks';
import { api } from '../api';
import { Feedback, useSubmit } from '../Feedback';
import { when } from '../format';
import { Link } from '../Link';
import { StatusBadge } from '../StatusBadge';
import type { Paged, Target } from '../types';
import { useLive } from '../useLive';

const PAGE = 25;
const SORTS = [
  { value: 'controllerId:ASC', label: 'Controller id' },
  { value: 'name:ASC', label: 'Name' },
  { value: 'updateStatus:ASC', label: 'Update status' },
  { value: 'lastModifiedAt:DESC', label: 'Last change, newest first' },
  { value: 'createdAt:DESC', label: 'Created, newest first' },
] as const;

export function TargetsPage() {
  const [query, setQuery] = useState(() => new URLSearchParams(location.search).get('q') ?? '');
  const [draft, setDraft] = useState(query);
  const [sort, setSort] = useState<string>(SORTS[0].value);
  const [offset, setOffset] = useState(0);
  const list = useLive(
    async () => {
      const q = query ? `&q=${encodeURIComponent(query)}` : '';
      const page = await api<Paged<Target>>(
        'GET',
        `/targets?offset=${offset}&limit=${PAGE}&sort=${encodeURIComponent(sort)}${q}`,
      );
      // The pager tells what is shown, not what was asked for while it loads.
      return { ...page, offset };
    },
    [query, sort, offset],
    (event) => event.type.startsWith('TARGET_'),
  );
  const apply = (e: Event) => {
    e.preventDefault();
    setOffset(0);
    setQuery(draft.trim());
    const url = new URL(location.href);
    if (draft.trim()) url.searchParams.set('q', draft.trim());
    else url.searchParams.delete('q');
    history.replaceState(null, '', url);
  };
  const total = list.data?.total ?? 0;
  const shown = list.data?.offset ?? 0;
  return (
    <section>
      <h1>Targets</h1>
      <form class="toolbar" onSubmit={apply} aria-label="Filter and sort">
        <label class="grow">
          Filter (RSQL)
          <input
            name="q"
            value={draft}
            placeholder="updateStatus==pending;name==*door*"
            onInput={(e) => setDraft(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Apply</button>
        <label>
          Sort by
          <select
            name="sort"
            value={sort}
            onChange={(e) => {
              setSort(e.currentTarget.value);
              setOffset(0);
            }}
          >
            {SORTS.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
      </form>
      {list.error && (
        <p class="error" role="alert">
          {list.error}
        </p>
      )}
      <table class="list" aria-label="Targets">
        <thead>
          <tr>
            <th scope="col">Controller id</th>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">Channel</th>
            <th scope="col">Last poll</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.content.map((t) => (
            <tr key={t.controllerId} data-target={t.controllerId}>
              <td>
                <Link to={`/targets/${encodeURIComponent(t.controllerId)}`}>{t.controllerId}</Link>
              </td>
              <td>{t.name}</td>
              <td>
                <StatusBadge status={t.updateStatus} />
              </td>
              <td>{t.channel ?? '—'}</td>
              <td>{when(t.lastControllerRequestAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav class="pager" aria-label="Pages">
        <button
          type="button"
          disabled={offset === 0}
          onClick={() => setOffset(Math.max(0, offset - PAGE))}
        >
          Previous
        </button>
        <span>
          {total === 0
            ? 'no targets'
            : `${shown + 1}–${shown + (list.data?.content.length ?? 0)} of ${total}`}
        </span>
        <button
          type="button"
          disabled={offset + PAGE >= total}
          onClick={() => setOffset(offset + PAGE)}
        >
          Next
        </button>
      </nav>
      <CreateTarget onCreated={list.reload} />
    </section>
  );
}

function CreateTarget(props: { onCreated: () => void }) {
  const [controllerId, setControllerId] = useState('');
  const [name, setName] = useState('');
  const { message, submit } = useSubmit(async () => {
    await api('POST', '/targets', [{ controllerId, name: name || controllerId }]);
    setControllerId('');
    setName('');
    props.onCreated();
    return `Target ${controllerId} created.`;
  });
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="create-target">
      <h2 id="create-target">Create a target</h2>
      <div class="row">
        <label>
          Controller id
          <input
            name="controllerId"
            value={controllerId}
            required
            onInput={(e) => setControllerId(e.currentTarget.value)}
          />
        </label>
        <label>
          Name
          <input name="name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <button type="submit">Create target</button>
      </div>
      <Feedback message={message} />
    </form>
  );
}
