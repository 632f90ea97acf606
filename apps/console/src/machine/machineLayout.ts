import type { GraphNode, MachineGraph } from './machineGraph';

export interface Box {
  node: GraphNode;
  x: number;
  y: number;
  w: number;
  h: number;
}

const W = 150;
const H = 38;
const GAP = 14;
const COLUMN = 250;
const HEADER = 26;

/**
 * Top-level states in columns by their distance from the initial state; a compound state is a
 * box with its children stacked inside. Enough for a machine of a dozen states, and stable: the
 * same definition always gives the same picture.
 */
export function layoutOf(graph: MachineGraph): {
  boxes: Map<string, Box>;
  width: number;
  height: number;
} {
  const top = graph.nodes.filter((n) => n.parent === undefined);
  const topOf = (id: string) => top.find((t) => id === t.id || id.startsWith(`${t.id}.`))?.id ?? id;
  const depth = new Map<string, number>();
  const start = top.find((n) => n.initial) ?? top[0];
  if (start) depth.set(start.id, 0);
  const queue = start ? [start.id] : [];
  while (queue.length > 0) {
    const at = queue.shift() ?? '';
    for (const edge of graph.edges) {
      const from = topOf(edge.from);
      const to = topOf(edge.to);
      if (from !== at || to === at || depth.has(to)) continue;
      depth.set(to, (depth.get(at) ?? 0) + 1);
      queue.push(to);
    }
  }
  const columns: GraphNode[][] = [];
  for (const node of top) {
    const d = depth.get(node.id) ?? columns.length;
    const column = columns[d] ?? [];
    column.push(node);
    columns[d] = column;
  }
  const boxes = new Map<string, Box>();
  let height = 0;
  columns.forEach((column, c) => {
    let y = GAP;
    for (const node of column) {
      const children = graph.nodes.filter((n) => n.parent === node.id);
      const x = GAP + c * COLUMN;
      if (children.length === 0) {
        boxes.set(node.id, { node, x, y, w: W, h: H });
        y += H + GAP * 2;
        continue;
      }
      const h = HEADER + children.length * (H + GAP) + GAP / 2;
      boxes.set(node.id, { node, x, y, w: W + 2 * GAP, h });
      children.forEach((child, i) => {
        boxes.set(child.id, { node: child, x: x + GAP, y: y + HEADER + i * (H + GAP), w: W, h: H });
      });
      y += h + GAP * 2;
    }
    height = Math.max(height, y);
  });
  return { boxes, width: GAP * 2 + (columns.length - 1) * COLUMN + W + 2 * GAP, height };
}

/** A curve from one box to another: forward edges left to right, others loop round the side. */
export function edgePath(a: Box, b: Box): { d: string; lx: number; ly: number } {
  const ay = a.y + a.h / 2;
  const by = b.y + b.h / 2;
  if (b.x >= a.x + a.w) {
    const x1 = a.x + a.w;
    const x2 = b.x;
    const mx = (x1 + x2) / 2;
    return { d: `M${x1},${ay} C${mx},${ay} ${mx},${by} ${x2},${by}`, lx: mx, ly: (ay + by) / 2 };
  }
  if (b.x + b.w <= a.x) {
    const x1 = a.x;
    const x2 = b.x + b.w;
    const mx = (x1 + x2) / 2;
    return { d: `M${x1},${ay} C${mx},${ay} ${mx},${by} ${x2},${by}`, lx: mx, ly: (ay + by) / 2 };
  }
  // Same column (a parent and its child, siblings, a state and itself): out and back on the right.
  const x1 = a.x + a.w;
  const x2 = b.x + b.w;
  const bulge = Math.max(x1, x2) + 30 + Math.abs(ay - by) / 6;
  const y2 = a === b ? by + 10 : by;
  return {
    d: `M${x1},${a === b ? ay - 10 : ay} C${bulge},${ay} ${bulge},${y2} ${x2},${y2}`,
    lx: bulge - 8,
    ly: (ay + y2) / 2,
  };
}

export interface Label {
  x: number;
  y: number;
  text: string;
}

const LINE = 11;
const CHAR = 5.2;

/**
 * Edge labels moved down, a line at a time, until none covers another: many transitions meet
 * between the same two columns, and their midpoints fall close together.
 */
export function placeLabels(labels: readonly Label[]): Label[] {
  const placed: Label[] = [];
  const overlaps = (a: Label, b: Label) =>
    Math.abs(a.x - b.x) * 2 < (a.text.length + b.text.length) * CHAR && Math.abs(a.y - b.y) < LINE;
  for (const label of labels) {
    const at = { ...label };
    for (let tries = 0; tries < 30 && placed.some((p) => overlaps(p, at)); tries++) at.y += LINE;
    placed.push(at);
  }
  return placed;
}
