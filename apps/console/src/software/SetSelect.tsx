import type { DistributionSet } from '../types';

/** A labelled choice of distribution set, as the assign and rollout forms offer it. */
export function SetSelect(props: {
  name: string;
  sets: readonly DistributionSet[];
  value: number | undefined;
  onChange: (id: number) => void;
}) {
  return (
    <label>
      Set
      <select
        name={props.name}
        value={props.value}
        onChange={(e) => props.onChange(Number(e.currentTarget.value))}
      >
        {props.sets.map((s) => (
          <option key={s.id} value={s.id}>
            {s.name} {s.version}
          </option>
        ))}
      </select>
    </label>
  );
}
