import type { MachineGraph as Graph, Walk } from './machineGraph';
import { edgePath, layoutOf } from './machineLayout';

const shortEvent = (type: string) => type.replace(/^action\./, '');

/**
 * The machine drawn as SVG: states as boxes (final ones doubled), transitions as labelled curves;
 * the states and transitions of `walk` highlighted, its last state the current one.
 */
export function MachineGraph(props: { graph: Graph; walk: Walk; title: string }) {
  const { graph, walk } = props;
  const { boxes, width, height } = layoutOf(graph);
  const current = walk.states.at(-1);
  const visited = new Set(walk.states);
  return (
    <svg
      class="machine"
      viewBox={`0 0 ${width + 60} ${height}`}
      role="img"
      aria-label={`${props.title}: current state ${current ?? 'unknown'}, path ${walk.states.join(' → ')}`}
    >
      <defs>
        <marker
          id="arrow"
          viewBox="0 0 10 10"
          refX="9"
          refY="5"
          markerWidth="7"
          markerHeight="7"
          orient="auto-start-reverse"
        >
          <path d="M0,0 L10,5 L0,10 z" class="arrowhead" />
        </marker>
        <marker
          id="arrow-taken"
          viewBox="0 0 10 10"
          refX="9"
          refY="5"
          markerWidth="7"
          markerHeight="7"
          orient="auto-start-reverse"
        >
          <path d="M0,0 L10,5 L0,10 z" class="arrowhead taken" />
        </marker>
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
          return (
            <g key={state} class={classes.join(' ')} data-state={state}>
              <title>{`${state}${box.node.records.length ? ` (records ${box.node.records.join(', ')})` : ''}`}</title>
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
                y={box.node.compound ? box.y + 17 : box.y + box.h / 2 + 4}
                text-anchor="middle"
              >
                {box.node.key}
              </text>
            </g>
          );
        })}
      {graph.edges.map((edge) => {
        const a = boxes.get(edge.from);
        const b = boxes.get(edge.to);
        if (!a || !b) return null;
        const key = `${edge.from}>${edge.to}`;
        const taken = walk.edges.has(key);
        const { d, lx, ly } = edgePath(a, b);
        const label = edge.events.map(shortEvent).join(', ');
        return (
          <g key={key} class={taken ? 'edge taken' : 'edge'} data-edge={key}>
            <title>{`${edge.from} → ${edge.to}: ${edge.events.join(', ')}`}</title>
            <path d={d} marker-end={taken ? 'url(#arrow-taken)' : 'url(#arrow)'} />
            <text class="edge-label" x={lx} y={ly - 3} text-anchor="middle">
              {label.length > 34 ? `${label.slice(0, 32)}…` : label}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
