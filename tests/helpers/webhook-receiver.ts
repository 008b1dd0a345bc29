/**
 * A real HTTP server on loopback that receives webhooks: it keeps every request (headers and raw
 * body) and answers what the test says, e.g. `receiver.answer(500, 500, 200)` (then 200 for the
 * rest), or `receiver.answer('hang')` to never answer.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

type Answer = number | 'hang';

export interface WebhookReceiver {
  url: string;
  received: Received[];
  answer(...answers: Answer[]): void;
  /** Answers this many milliseconds after the request arrived (a slow receiver). */
  delayMs: number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: Received[] = [];
  let script: Answer[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method!, path: req.url!, headers: req.headers, body: Buffer.concat(chunks), at: Date.now() });
      const next = script.length > 1 ? script.shift()! : (script[0] ?? 200);
      if (next === 'hang') return;
      setTimeout(() => res.writeHead(next, { 'Content-Type': 'text/plain' }).end(`answer ${next}`), receiver.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const receiver: WebhookReceiver = {
    delayMs: 0,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    answer(...answers) {
      script = answers;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return receiver;
}
