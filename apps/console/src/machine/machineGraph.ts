/**
 * A state machine's definition as a graph to draw: its states (nested ones inside their parent)
 * and its transitions, read from XState's state nodes, so that the drawing is always the machine
 * that runs in core, not a copy of it.
 */

/** The parts of XState's StateNode the graph reads. */
export interface StateNodeLike {
  key: string;
  path: string[];
  type: string;
  states: Record<string, StateNodeLike>;
  initial?: { target: readonly StateNodeLike[] } | undefined;
  transitions: Map<string, readonly TransitionLike[]>;
  always?: readonly TransitionLike[] | undefined;
  entry: readonly unknown[];
}

interface TransitionLike {
  eventType: string;
  target?: readonly StateNodeLike[] | undefined;
}

export interface GraphNode {
  /** The state's path, dot-separated (`running.download`). */
  id: string;
  key: string;
  parent: string | undefined;
  final: boolean;
  compound: boolean;
  /** The parent's (or the machine's) initial state. */
  initial: boolean;
  /** The ActionStatus values this state records on entry (its `record` actions). */
  records: string[];
}

export interface GraphEdge {
  from: string;
  to: string;
  /** Event types, `always` for an eventless transition; one edge per pair of states. */
  events: string[];
}

export interface MachineGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

const idOf = (node: StateNodeLike) => node.path.join('.');

export function graphOf(root: StateNodeLike): MachineGraph {
  const nodes: GraphNode[] = [];
  const edges = new Map<string, GraphEdge>();
  const add = (from: string, transition: TransitionLike, type: string) => {
    for (const target of transition.target ?? []) {
      const to = idOf(target);
      const key = `${from}>${to}`;
      const edge = edges.get(key) ?? { from, to, events: [] };
      if (!edge.events.includes(type)) edge.events.push(type);
      edges.set(key, edge);
    }
  };
  const walk = (node: StateNodeLike, parent: StateNodeLike | undefined) => {
    const initialOfParent = parent?.initial?.target.map(idOf) ?? [];
    if (parent) {
      const id = idOf(node);
      nodes.push({
        id,
        key: node.key,
        parent: parent.path.length > 0 ? idOf(parent) : undefined,
        final: node.type === 'final',
        compound: Object.keys(node.states).length > 0,
        initial: initialOfParent.includes(id),
        records: node.entry.flatMap(recordedStatus),
      });
      for (const transition of node.always ?? []) add(id, transition, 'always');
      for (const [type, list] of node.transitions)
        for (const transition of list) add(id, transition, type);
    }
    for (const child of Object.values(node.states)) walk(child, node);
  };
  walk(root, undefined);
  return { nodes, edges: [...edges.values()] };
}

function recordedStatus(action: unknown): string[] {
  if (!action || typeof action !== 'object') return [];
  const { type, params } = action as { type?: unknown; params?: { status?: unknown } };
  return type === 'record' && typeof params?.status === 'string' ? [params.status] : [];
}

/** The state and its ancestors, innermost first. */
export function lineage(graph: MachineGraph, id: string): string[] {
  const out: string[] = [];
  let at: string | undefined = id;
  while (at !== undefined) {
    out.push(at);
    at = graph.nodes.find((n) => n.id === at)?.parent;
  }
  return out;
}

export interface Walk {
  /** States passed through, in order, the current one last. */
  states: string[];
  /** `from>to` keys of the graph's edges the walk took. */
  edges: Set<string>;
}

/**
 * The path an action took, from its status history (oldest first) and its current status: each
 * entry moves to the state that records that status. A status two states record (DOWNLOADED: a
 * step of a running update, or the end of a download-only one) means the final one only when it
 * is the action's last word and the action is closed. Entries no state records (a warning noted
 * on the way) move nothing.
 */
export function walkOf(
  graph: MachineGraph,
  history: readonly string[],
  current: { status: string; active: boolean },
): Walk {
  const initial = graph.nodes.find((n) => n.initial && n.parent === undefined);
  const states: string[] = initial ? [initial.id] : [];
  const steps = [...history.map((s) => s.toUpperCase())];
  if (steps.at(-1) !== current.status.toUpperCase()) steps.push(current.status.toUpperCase());
  steps.forEach((status, i) => {
    const candidates = graph.nodes.filter((n) => n.records.includes(status));
    if (candidates.length === 0) return;
    const last = i === steps.length - 1;
    const chosen = candidates.find((n) => n.final === (last && !current.active)) ?? candidates[0];
    if (chosen && states.at(-1) !== chosen.id) states.push(chosen.id);
  });
  const edges = new Set<string>();
  for (let i = 1; i < states.length; i++) {
    const from = lineage(graph, states[i - 1] ?? '');
    const to = lineage(graph, states[i] ?? '');
    const edge = graph.edges.find((e) => from.includes(e.from) && to.includes(e.to));
    if (edge) edges.add(`${edge.from}>${edge.to}`);
  }
  return { states, edges };
}
