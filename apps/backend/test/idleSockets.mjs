// Opens idle TCP connections for resources.test.ts from a child process, so that the sockets'
// file descriptors count against this process's limit, not the server's. Sends nothing on them;
// reports once all are open, and again, summed up, once the server has closed them all. Argv:
// port, how many, and the lifetime under which a connection closed without a byte was refused.
import net from 'node:net';

const [port, count, refusedBeforeMs] = process.argv.slice(2).map(Number);
const ends = [];
let failed = 0;
let allOpen = false;

function reportWhenAllClosed() {
  if (!allOpen || ends.length < count) return;
  const refused = ends.filter((e) => e.status === '' && e.lifetime < refusedBeforeMs);
  // Closed by the server's timeout: with a 408 answer, or (most, with thousands at once) without.
  const timedOut = ends.filter(
    (e) => e.lifetime >= refusedBeforeMs && (e.status === '' || e.status === 'HTTP/1.1 408'),
  );
  const lifetimes = timedOut.map((e) => e.lifetime);
  process.send(
    {
      type: 'closed',
      refused: refused.length,
      refusedMaxMs: Math.max(0, ...refused.map((e) => e.lifetime)),
      timedOut: timedOut.length,
      answered408: timedOut.filter((e) => e.status !== '').length,
      timedOutMinMs: Math.min(...lifetimes),
      timedOutMaxMs: Math.max(...lifetimes),
      other: ends.length - refused.length - timedOut.length,
    },
    () => process.disconnect(),
  );
}

function open() {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const openedAt = Date.now();
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => {
      data += chunk;
    });
    // A reset is one way a refused connection ends; 'close' follows.
    socket.on('error', () => {});
    socket.once('connect', () => resolve(true));
    socket.once('close', () => {
      ends.push({ lifetime: Date.now() - openedAt, status: data.slice(0, 12) });
      resolve(false);
      reportWhenAllClosed();
    });
  });
}

const started = Date.now();
let connected = 0;
while (connected + failed < count) {
  // In batches, so that the listen backlog never overflows into SYN retries.
  const batch = Math.min(250, count - connected - failed);
  const opened = await Promise.all(Array.from({ length: batch }, open));
  for (const ok of opened) {
    if (ok) connected++;
    else failed++;
  }
}
process.send({ type: 'opened', connected, failed, ms: Date.now() - started });
allOpen = true;
reportWhenAllClosed();
