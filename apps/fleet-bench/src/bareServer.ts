// The ceiling for polls: node:http answering every request with the bytes the backend answered
// a poll with, and nothing else (no routing, no store, no JSON). Run as its own process, as the
// backend is, and prints the same kind of `ready` line.
import http from 'node:http';

const body = Buffer.from(process.env.BARE_BODY ?? '{}');
const server = http.createServer((_req, res) => {
  res.writeHead(200, {
    'Content-Type': 'application/hal+json',
    'Content-Length': body.length,
  });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ msg: 'ready', url: `http://127.0.0.1:${port}` })}\n`);
});
const close = () => server.close(() => process.exit(0));
process.on('SIGTERM', close);
process.on('SIGINT', close);
setTimeout(() => process.exit(3), 15 * 60_000).unref();
