import type { MachineGraph as Graph, GraphEdge, Walk } from './machineGraph';
import { type Box, edgePath, layoutOf, placeLabels } from './machineLayout';

const shortEvent = (type: string) => type.replace(/^action\./, '');
const keyOf = (edge: GraphEdge) => `${edge.from}>${edge.to}`;
/** A transition of a parent into one of its own children (`running` on `action.download`). */
const isInner = (edge: GraphEdge) => edge.to.startsWith(`${edge.from}.`);

/**
 * The machine drawn as SVG: states as boxes (final ones doubled, nested ones inside their
 * parent), transitions as labelled curves; a parent's transitions into its own children are
 * written inside the child ("on download"). The states and transitions of `walk` are highlighted,
 * its last state is the current one.
 */
export function MachineGraph(props: { graph: Graph; walk: Walk; title: string }) {
  const { graph, walk } = props;
  const { boxes, width, height } = layoutOf(graph);
  const current = walk.states.at(-1);
  const visited = new Set(walk.states);
  const inner = graph.edges.filter(isInner);
  const outer = graph.edges
    .filter((e) => !isInner(e))
    .flatMap((edge) => {
      const a = boxes.get(edge.from);
      const b = boxes.get(edge.to);
      if (!a || !b) return [];
      const label = edge.events.map(shortEvent).join(', ');
      return [
        {
          edge,
          a,
          b,
          ...edgePath(a, b),
          label: label.length > 30 ? `${label.slice(0, 28)}…` : label,
        },
      ];
    });
  const labels = placeLabels(outer.map((o) => ({ x: o.lx, y: o.ly - 3, text: o.label })));
  const entered = (box: Box) =>
    inner.filter((e) => e.to === box.node.id).flatMap((e) => e.events.map(shortEvent));
  return (
    <svg
      class="machine"
      viewBox={`0 0 ${width + 90} ${height}`}
      role="img"
      aria-label={`${props.title}: current state ${current ?? 'unknown'}, path ${walk.states.join(' → ')}`}
    >
      <defs>
        {['arrow', 'arrow-taken'].map((id) => (
          <marker
            key={id}
            id={id}
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerUnits="userSpaceOnUse"
            markerWidth="9"
            markerHeight="9"
            orient="auto-start-reverse"
          >
            <path d="M0,0 L10,5 L0,10 z" class={id === 'arrow' ? 'arrowhead' : 'arrowhead taken'} />
          </marker>
        ))}
      </defs>
      {[...boxes.values()]
        .sort((a, b) => Number(b.node.compound) - Number(a.node.compound))
        .map((box) => {
          const state = box.node.id;
          const classes = ['state'];
          if (box.node.compound) classes.push('compound');
          if (box.node.final) classes.push('final');
          if (visited.has(state)) classes.push('visited');
          if (state === current) classes.push('current');
          const on = entered(box);
          const parent = box.node.parent ? boxes.get(box.node.parent) : undefined;
          const stubTaken = inner.some((e) => e.to === state && walk.edges.has(keyOf(e)));
          return (
            <g key={state} class={classes.join(' ')} data-state={state}>
              <title>{`${state}${box.node.records.length ? ` (records ${box.node.records.join(', ')})` : ''}`}</title>
              {parent && on.length > 0 && (
                <path
                  d={`M${parent.x},${box.y + box.h / 2} H${box.x}`}
                  class={stubTaken ? 'stub taken' : 'stub'}
                  marker-end={stubTaken ? 'url(#arrow-taken)' : 'url(#arrow)'}
                />
              )}
              <rect x={box.x} y={box.y} width={box.w} height={box.h} rx={8} />
              {box.node.final && (
                <rect
                  x={box.x + 3}
                  y={box.y + 3}
                  width={box.w - 6}
                  height={box.h - 6}
                  rx={6}
                  class="inner"
                />
              )}
              <text
                class="state-label"
                x={box.x + box.w / 2}
                y={box.node.compound ? box.y + 17 : box.y + (on.length > 0 ? 16 : box.h / 2 + 4)}
                text-anchor="middle"
              >
                {box.node.key}
              </text>
              {on.length > 0 && !box.node.compound && (
                <text class="entry-label" x={box.x + box.w / 2} y={box.y + 30} text-anchor="middle">
                  {`on ${on.join(', ')}`}
                </text>
              )}
            </g>
          );
        })}
      {outer.map(({ edge, d }, i) => {
        const key = keyOf(edge);
        const taken = walk.edges.has(key);
        const label = labels[i];
        return (
          <g key={key} class={taken ? 'edge taken' : 'edge'} data-edge={key}>
            <title>{`${edge.from} → ${edge.to}: ${edge.events.join(', ')}`}</title>
            <path d={d} marker-end={taken ? 'url(#arrow-taken)' : 'url(#arrow)'} />
            {label && (
              <text class="edge-label" x={label.x} y={label.y} text-anchor="middle">
                {label.text}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}
