import { useState } from 'preact/hooks';
import type { TypeEntry } from './types';

/** What a new module or set is named by: name, version and type, hawkBit's three. */
export function useNameVersionType(types: TypeEntry[]) {
  const [name, setName] = useState('');
  const [version, setVersion] = useState('');
  const [type, setType] = useState(types[0]?.key ?? 'os');
  return {
    name,
    version,
    type,
    types,
    setName,
    setVersion,
    setType,
    clear: () => {
      setName('');
      setVersion('');
    },
  };
}

export function NameVersionTypeFields(props: {
  /** Prefix of the fields' names (`module`, `set`). */
  prefix: string;
  fields: ReturnType<typeof useNameVersionType>;
}) {
  const { prefix, fields } = props;
  return (
    <div class="row">
      <label>
        Name
        <input
          name={`${prefix}Name`}
          value={fields.name}
          required
          onInput={(e) => fields.setName(e.currentTarget.value)}
        />
      </label>
      <label>
        Version
        <input
          name={`${prefix}Version`}
          value={fields.version}
          required
          onInput={(e) => fields.setVersion(e.currentTarget.value)}
        />
      </label>
      <label>
        Type
        <select
          name={`${prefix}Type`}
          value={fields.type}
          onChange={(e) => fields.setType(e.currentTarget.value)}
        >
          {fields.types.map((t) => (
            <option key={t.key} value={t.key}>
              {t.name}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}
