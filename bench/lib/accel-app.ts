/**
 * Scenario (b) of bench/serve.ts: the least an Express 5 app can do for a LOCAL download. One
 * route sets X-Accel-Redirect and ends; no database, no token check, no event. The distance
 * between (a) and (b) is the cost of the proxy hop itself, the floor under the real handler.
 *
 * Runs as its own process (PORT, MEDIA_URL from the environment) and prints
 * "listening on 127.0.0.1:<port>" when ready.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';

const mediaUrl = process.env.MEDIA_URL ?? '/media/';
const app = express();

app.get('/downloads/:key/file', (req, res) => {
  // Opaque hex keys only, as the app stores them: nothing from the URL reaches a path otherwise.
  if (!/^[0-9a-f]{16,64}$/.test(req.params.key)) {
    res.status(404).end();
    return;
  }
  res.set('X-Accel-Redirect', `${mediaUrl}downloads/${req.params.key}`).end();
});

const server = http.createServer(app);
// As in src/main.ts: longer than nginx's upstream keepalive_timeout (60 s).
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening on 127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
