import { actionMachine } from '@otaflow/core';
import { describe, expect, it } from 'vitest';
import { graphOf, type StateNodeLike, walkOf } from '../src/machine/machineGraph';
import { layoutOf } from '../src/machine/machineLayout';
import { createSseParser, type SseMessage } from '../src/sse';

const graph = graphOf(actionMachine.root as unknown as StateNodeLike);

describe("the action machine's graph", () => {
  it("is read from core's definition: states, nesting, finals, recorded statuses", () => {
    const byId = new Map(graph.nodes.map((n) => [n.id, n]));
    expect(byId.get('created')?.initial).toBe(true);
    expect(byId.get('running')?.compound).toBe(true);
    expect(graph.nodes.filter((n) => n.parent === 'running').map((n) => n.key)).toEqual([
      'running',
      'retrieved',
      'download',
      'downloaded',
      'warning',
    ]);
    expect(
      graph.nodes
        .filter((n) => n.final)
        .map((n) => n.id)
        .sort(),
    ).toEqual(['canceled', 'downloadOnlyDone', 'error', 'finished'].sort());
    expect(byId.get('running.download')?.records).toEqual(['DOWNLOAD']);
    const edge = graph.edges.find((e) => e.from === 'running' && e.to === 'canceling');
    expect(edge?.events).toEqual(['cancel.requested']);
    expect(graph.edges.find((e) => e.from === 'created' && e.to === 'running')?.events).toEqual([
      'always',
    ]);
  });

  it('walks the path an action took from its status history', () => {
    const walk = walkOf(graph, ['running', 'retrieved', 'download', 'downloaded', 'finished'], {
      status: 'finished',
      active: false,
    });
    expect(walk.states).toEqual([
      'created',
      'running.running',
      'running.retrieved',
      'running.download',
      'running.downloaded',
      'finished',
    ]);
    expect(walk.edges.has('created>running')).toBe(true);
    expect(walk.edges.has('running>finished')).toBe(true);
    // A download-only action that is closed ended in its own final state.
    const only = walkOf(graph, ['running', 'downloaded'], { status: 'downloaded', active: false });
    expect(only.states.at(-1)).toBe('downloadOnlyDone');
    // Canceled while running.
    const canceled = walkOf(graph, ['running', 'canceling', 'canceled'], {
      status: 'canceled',
      active: false,
    });
    expect(canceled.states).toEqual(['created', 'running.running', 'canceling', 'canceled']);
    expect([...canceled.edges]).toEqual([
      'created>running',
      'running>canceling',
      'canceling>canceled',
    ]);
  });

  it('lays every state out in a box, children inside their parent', () => {
    const { boxes } = layoutOf(graph);
    expect(boxes.size).toBe(graph.nodes.length);
    const parent = boxes.get('running');
    const child = boxes.get('running.download');
    expect(parent && child).toBeTruthy();
    if (!parent || !child) return;
    expect(child.x).toBeGreaterThan(parent.x);
    expect(child.y + child.h).toBeLessThanOrEqual(parent.y + parent.h);
  });
});

describe('the SSE parser', () => {
  it('splits a stream cut anywhere into its messages, skipping comments', () => {
    const seen: SseMessage[] = [];
    const feed = createSseParser((m) => seen.push(m));
    const text =
      ': heartbeat\n\nid: a.1\nevent: TARGET_CREATED\ndata: {"x":1}\n\nretry: 2000\n\nid: a.2\r\nevent: reset\r\ndata: {}\r\n\r\n';
    for (const ch of text) feed(ch);
    expect(seen).toEqual([
      { id: 'a.1', event: 'TARGET_CREATED', data: '{"x":1}' },
      { id: 'a.2', event: 'reset', data: '{}' },
    ]);
  });
});
