import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
export const TLS = {
  cert: fs.readFileSync(path.join(fixtures, 'localhost-cert.pem')),
  key: fs.readFileSync(path.join(fixtures, 'localhost-key.pem')),
};

export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** For each configured secret, in order: did the standardwebhooks library verify the delivery with it? */
  verified: boolean[];
  /** The library's parsed payload when some secret verified. */
  payload: unknown;
}

/** How the receiver answers one request; `raw` takes over the response entirely. */
export type Reply = { status?: number; body?: string | Buffer; headers?: Record<string, string>; delayMs?: number } | { raw: (res: http.ServerResponse) => void };

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  secrets: string[];
  reply: (request: Received) => Reply;
  close(): Promise<void>;
}

/**
 * A real webhook receiver on a loopback port: it reads the raw body and verifies every delivery with
 * the `standardwebhooks` library against each configured secret, as an integrator's endpoint would.
 */
export async function startReceiver(options: { secrets?: string[]; tls?: boolean; reply?: (request: Received) => Reply } = {}): Promise<Receiver> {
  const receiver = {
    received: [] as Received[],
    secrets: options.secrets ?? [],
    reply: options.reply ?? ((): Reply => ({ status: 200, body: 'ok' })),
  } as Receiver;
  const timers = new Set<NodeJS.Timeout>();
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let payload: unknown;
      const verified = receiver.secrets.map((secret) => {
        try {
          payload = new Webhook(secret).verify(body, req.headers as Record<string, string>);
          return true;
        } catch {
          return false;
        }
      });
      const received: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, verified, payload };
      receiver.received.push(received);
      const reply = receiver.reply(received);
      if ('raw' in reply) return reply.raw(res);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(reply.status ?? 200, reply.headers ?? {});
        res.end(reply.body ?? '');
      };
      if (reply.delayMs) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          send();
        }, reply.delayMs);
        timers.add(timer);
      } else send();
    });
  };
  const server = options.tls ? https.createServer({ cert: TLS.cert, key: TLS.key }, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  receiver.port = port;
  receiver.url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  receiver.close = async () => {
    for (const timer of timers) clearTimeout(timer);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return receiver;
}
