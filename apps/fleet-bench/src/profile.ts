import { readFileSync } from 'node:fs';

export interface ProfileEntry {
  functionName: string;
  url: string;
  line: number;
  selfMs: number;
  share: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function from a V8 `.cpuprofile`, largest first. */
export function summariseCpuProfile(
  file: string,
  top = 15,
): { totalMs: number; entries: ProfileEntry[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byNode = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<string, { frame: CpuProfile['nodes'][number]['callFrame']; us: number }>();
  let total = 0;
  profile.samples.forEach((nodeId, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    total += us;
    const frame = byNode.get(nodeId);
    if (!frame) return;
    const key = `${frame.functionName}|${frame.url}|${frame.lineNumber}`;
    const entry = self.get(key) ?? { frame, us: 0 };
    entry.us += us;
    self.set(key, entry);
  });
  const entries = [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map(({ frame, us }) => ({
      functionName: frame.functionName || '(anonymous)',
      url: frame.url.replace(/^file:\/\/.*?\/(packages|apps|node_modules)\//, '$1/'),
      line: frame.lineNumber + 1,
      selfMs: us / 1000,
      share: total ? us / total : 0,
    }));
  return { totalMs: total / 1000, entries };
}
