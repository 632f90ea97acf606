import { useState } from 'preact/hooks';
import { api, upload } from '../api';
import { bytes, errorText } from '../format';
import type {
  Artifact,
  AssignmentResult,
  DistributionSet,
  Paged,
  SoftwareModule,
  Target,
  TypeEntry,
} from '../types';
import { useLive } from '../useLive';

type Message = { ok: boolean; text: string } | undefined;

function Feedback(props: { message: Message }) {
  if (!props.message) return null;
  return (
    <p class={props.message.ok ? 'ok' : 'error'} role={props.message.ok ? 'status' : 'alert'}>
      {props.message.text}
    </p>
  );
}

async function loadCatalogue() {
  const [modules, sets, moduleTypes, setTypes] = await Promise.all([
    api<Paged<SoftwareModule>>('GET', '/softwaremodules?limit=100&sort=id:DESC'),
    api<Paged<DistributionSet>>('GET', '/distributionsets?limit=100&sort=id:DESC'),
    api<Paged<TypeEntry>>('GET', '/softwaremoduletypes'),
    api<Paged<TypeEntry>>('GET', '/distributionsettypes'),
  ]);
  return { modules, sets, moduleTypes, setTypes };
}

export function SoftwarePage() {
  // The catalogue has no domain events of its own; forms reload it after they change it.
  const live = useLive(loadCatalogue, [], () => false);
  const d = live.data;
  return (
    <section>
      <h1>Software</h1>
      {live.error && (
        <p class="error" role="alert">
          {live.error}
        </p>
      )}
      {d && (
        <div class="columns">
          <div>
            <h2>Software modules</h2>
            <CreateModule types={d.moduleTypes.content} onCreated={live.reload} />
            <table class="list" aria-label="Software modules">
              <thead>
                <tr>
                  <th scope="col">Module</th>
                  <th scope="col">Type</th>
                  <th scope="col">Artifacts</th>
                </tr>
              </thead>
              <tbody>
                {d.modules.content.map((m) => (
                  <tr key={m.id} data-module={`${m.name}:${m.version}`}>
                    <td>
                      {m.name} <span class="muted">{m.version}</span>
                    </td>
                    <td>{m.typeName ?? m.type}</td>
                    <td>
                      <Artifacts module={m} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div>
            <h2>Distribution sets</h2>
            <CreateSet
              types={d.setTypes.content}
              modules={d.modules.content}
              onCreated={live.reload}
            />
            <AssignSet sets={d.sets.content} />
            <table class="list" aria-label="Distribution sets">
              <thead>
                <tr>
                  <th scope="col">Set</th>
                  <th scope="col">Type</th>
                  <th scope="col">Modules</th>
                </tr>
              </thead>
              <tbody>
                {d.sets.content.map((s) => (
                  <tr key={s.id}>
                    <td>
                      {s.name} <span class="muted">{s.version}</span>
                    </td>
                    <td>{s.type}</td>
                    <td>{s.modules.map((m) => `${m.name} ${m.version}`).join(', ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </section>
  );
}

function CreateModule(props: { types: TypeEntry[]; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [version, setVersion] = useState('');
  const [type, setType] = useState(props.types[0]?.key ?? 'os');
  const [message, setMessage] = useState<Message>();
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await api('POST', '/softwaremodules', [{ name, version, type }]);
      setMessage({ ok: true, text: `Module ${name} ${version} created.` });
      setName('');
      setVersion('');
      props.onCreated();
    } catch (error) {
      setMessage({ ok: false, text: errorText(error) });
    }
  };
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="create-module">
      <h3 id="create-module">Create a module</h3>
      <div class="row">
        <label>
          Name
          <input
            name="moduleName"
            value={name}
            required
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <label>
          Version
          <input
            name="moduleVersion"
            value={version}
            required
            onInput={(e) => setVersion(e.currentTarget.value)}
          />
        </label>
        <label>
          Type
          <select name="moduleType" value={type} onChange={(e) => setType(e.currentTarget.value)}>
            {props.types.map((t) => (
              <option key={t.key} value={t.key}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Create module</button>
      </div>
      <Feedback message={message} />
    </form>
  );
}

function Artifacts(props: { module: SoftwareModule }) {
  const path = `/softwaremodules/${props.module.id}/artifacts`;
  const list = useLive(
    () => api<Artifact[]>('GET', path),
    [path],
    () => false,
  );
  const [progress, setProgress] = useState<{ sent: number; total: number }>();
  const [message, setMessage] = useState<Message>();
  const label = `${props.module.name} ${props.module.version}`;
  const onFile = async (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    setMessage(undefined);
    setProgress({ sent: 0, total: file.size });
    try {
      const artifact = await upload<Artifact>(path, file, (sent, total) =>
        setProgress({ sent, total }),
      );
      setMessage({
        ok: true,
        text: `Uploaded ${artifact.providedFilename} (${bytes(artifact.size)}).`,
      });
      list.reload();
    } catch (error) {
      setMessage({ ok: false, text: errorText(error) });
    } finally {
      setProgress(undefined);
      input.value = '';
    }
  };
  return (
    <div class="artifacts">
      <ul>
        {list.data?.map((a) => (
          <li key={a.id}>
            {a.providedFilename} <span class="muted">{bytes(a.size)}</span>
          </li>
        ))}
      </ul>
      <label class="upload">
        Upload to {label}
        <input type="file" name="file" onChange={onFile} disabled={progress !== undefined} />
      </label>
      {progress && (
        <progress
          max={progress.total || 1}
          value={progress.sent}
          aria-label={`Uploading to ${label}`}
        >
          {Math.round((100 * progress.sent) / (progress.total || 1))}%
        </progress>
      )}
      <Feedback message={message} />
    </div>
  );
}

function CreateSet(props: {
  types: TypeEntry[];
  modules: SoftwareModule[];
  onCreated: () => void;
}) {
  const [name, setName] = useState('');
  const [version, setVersion] = useState('');
  const [type, setType] = useState(props.types[0]?.key ?? 'os');
  const [chosen, setChosen] = useState<number[]>([]);
  const [message, setMessage] = useState<Message>();
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await api('POST', '/distributionsets', [
        { name, version, type, modules: chosen.map((id) => ({ id })) },
      ]);
      setMessage({ ok: true, text: `Set ${name} ${version} created.` });
      setName('');
      setVersion('');
      setChosen([]);
      props.onCreated();
    } catch (error) {
      setMessage({ ok: false, text: errorText(error) });
    }
  };
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="create-set">
      <h3 id="create-set">Create a set</h3>
      <div class="row">
        <label>
          Name
          <input
            name="setName"
            value={name}
            required
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <label>
          Version
          <input
            name="setVersion"
            value={version}
            required
            onInput={(e) => setVersion(e.currentTarget.value)}
          />
        </label>
        <label>
          Type
          <select name="setType" value={type} onChange={(e) => setType(e.currentTarget.value)}>
            {props.types.map((t) => (
              <option key={t.key} value={t.key}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <fieldset>
        <legend>Modules</legend>
        {props.modules.length === 0 && <p>Create a module first.</p>}
        {props.modules.map((m) => (
          <label key={m.id} class="check">
            <input
              type="checkbox"
              checked={chosen.includes(m.id)}
              onChange={(e) =>
                setChosen(
                  e.currentTarget.checked ? [...chosen, m.id] : chosen.filter((id) => id !== m.id),
                )
              }
            />
            {m.name} {m.version} ({m.type})
          </label>
        ))}
      </fieldset>
      <button type="submit">Create set</button>
      <Feedback message={message} />
    </form>
  );
}

/** Every controller id a filter matches, a page at a time (hawkBit's quota is 5,000 per assignment). */
async function targetsOf(filter: string): Promise<string[]> {
  const ids: string[] = [];
  for (let offset = 0; ; offset += 500) {
    const page = await api<Paged<Target>>(
      'GET',
      `/targets?offset=${offset}&limit=500&sort=controllerId:ASC&q=${encodeURIComponent(filter)}`,
    );
    ids.push(...page.content.map((t) => t.controllerId));
    if (page.content.length === 0 || ids.length >= page.total) return ids;
  }
}

function AssignSet(props: { sets: DistributionSet[] }) {
  const [setId, setSetId] = useState<number | undefined>(props.sets[0]?.id);
  const [mode, setMode] = useState<'ids' | 'filter'>('ids');
  const [targets, setTargets] = useState('');
  const [forceType, setForceType] = useState('forced');
  const [message, setMessage] = useState<Message>();
  const chosenSet = setId ?? props.sets[0]?.id;
  const submit = async (e: Event) => {
    e.preventDefault();
    if (chosenSet === undefined) return;
    try {
      const ids =
        mode === 'ids' ? targets.split(/[\s,]+/).filter(Boolean) : await targetsOf(targets.trim());
      if (ids.length === 0) throw new Error('No target to assign to.');
      const result = await api<AssignmentResult>(
        'POST',
        `/distributionsets/${chosenSet}/assignedTargets`,
        ids.map((id) => ({ id, type: forceType })),
      );
      setMessage({
        ok: true,
        text: `Assigned to ${result.assigned} target(s); ${result.alreadyAssigned} had it already.`,
      });
    } catch (error) {
      setMessage({ ok: false, text: errorText(error) });
    }
  };
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="assign-set">
      <h3 id="assign-set">Assign a set</h3>
      <div class="row">
        <label>
          Set
          <select
            name="assignSet"
            value={chosenSet}
            onChange={(e) => setSetId(Number(e.currentTarget.value))}
          >
            {props.sets.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name} {s.version}
              </option>
            ))}
          </select>
        </label>
        <label>
          Targets by
          <select
            name="assignMode"
            value={mode}
            onChange={(e) => setMode(e.currentTarget.value as 'ids' | 'filter')}
          >
            <option value="ids">controller ids</option>
            <option value="filter">RSQL filter</option>
          </select>
        </label>
        <label>
          Type
          <select
            name="forceType"
            value={forceType}
            onChange={(e) => setForceType(e.currentTarget.value)}
          >
            <option value="forced">forced</option>
            <option value="soft">soft</option>
            <option value="downloadonly">download only</option>
          </select>
        </label>
      </div>
      <label>
        {mode === 'ids' ? 'Controller ids (comma or space separated)' : 'Filter (RSQL)'}
        <input
          name="assignTargets"
          value={targets}
          required
          placeholder={mode === 'ids' ? 'dev-1, dev-2' : 'updateStatus==in_sync;channel==ddi'}
          onInput={(e) => setTargets(e.currentTarget.value)}
        />
      </label>
      <button type="submit" disabled={chosenSet === undefined}>
        Assign
      </button>
      <Feedback message={message} />
    </form>
  );
}
