/**
 * A `fetch` for the agent that reports bytes as they arrive (the agent itself only reports in
 * 10 % steps over MQTT), and with `fail` refuses every download, to simulate a broken network.
 */
export function countingFetch(options: {
  fail?: boolean;
  onProgress?: (url: string, received: number, total: number) => void;
}): typeof fetch {
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (options.fail) throw new Error(`simulated download failure (--fail-download): ${url}`);
    const res = await fetch(input, init);
    const total = Number(res.headers.get('content-length') ?? 0);
    if (!res.body || !options.onProgress || !(total > 0)) return res;
    let received = 0;
    const report = options.onProgress;
    const counted = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          received += chunk.byteLength;
          report(url, received, total);
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
  };
}
