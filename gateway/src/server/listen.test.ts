/**
 * `listen`: a server answers every request it accepts — 503 `not_ready` with Retry-After until
 * it serves — and cuts off clients that never finish their headers or body. Real sockets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { listen, SERVER_TIMEOUTS, type Running } from './config.ts';

const opened: Running[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => r.close()));
});

async function start(timeouts: Parameters<typeof listen>[3] = {}): Promise<Running> {
  const running = await listen(createServer(), 0, '127.0.0.1', timeouts);
  opened.push(running);
  return running;
}

/** Opens a raw socket; resolves how long until the server closed it and what it sent. */
function rawClient(url: string): { socket: Socket; closed: Promise<{ afterMs: number; received: string }> } {
  const { port, hostname } = new URL(url);
  const socket = connect(Number(port), hostname);
  const started = Date.now();
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<{ afterMs: number; received: string }>((r) => socket.on('close', () => r({ afterMs: Date.now() - started, received })));
  return { socket, closed };
}

describe('answers while starting', () => {
  it('a request before serve() gets 503 not_ready with Retry-After, promptly', async () => {
    const running = await start();
    const t0 = Date.now();
    const res = await fetch(`${running.url}/v1/health`);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toEqual({ code: 'not_ready', message: expect.stringContaining('starting') });
  });

  it('a POST with a body before serve() is answered too, and after serve() the handler answers', async () => {
    const running = await start();
    const early = await fetch(`${running.url}/v1/queries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' });
    expect(early.status).toBe(503);
    running.serve((_req, res) => res.end('ready'));
    const late = await fetch(`${running.url}/v1/health`);
    expect(late.status).toBe(200);
    expect(await late.text()).toBe('ready');
  });

  it('a server created with its handler serves at once', async () => {
    const running = await listen(createServer((_req, res) => res.end('ok')), 0, '127.0.0.1');
    opened.push(running);
    expect(await (await fetch(running.url)).text()).toBe('ok');
  });
});

describe('server-side timeouts', () => {
  it('the defaults are set on the server', async () => {
    const running = await listen(createServer((_q, r) => r.end()), 0, '127.0.0.1');
    opened.push(running);
    expect(running.server.headersTimeout).toBe(SERVER_TIMEOUTS.headersMs);
    expect(running.server.requestTimeout).toBe(SERVER_TIMEOUTS.requestMs);
    expect(running.server.keepAliveTimeout).toBe(SERVER_TIMEOUTS.keepAliveMs);
    expect(running.server.timeout).toBe(SERVER_TIMEOUTS.idleSocketMs);
  });

  it('a slowloris client that never finishes its headers is cut off after headersTimeout', async () => {
    const running = await start({ headersMs: 600, requestMs: 5_000, checkIntervalMs: 100 });
    running.serve((_req, res) => res.end('ok'));
    const { socket, closed } = rawClient(running.url);
    socket.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => socket.writable && socket.write('X-A: b\r\n'), 150);
    const { afterMs, received } = await closed;
    clearInterval(drip);
    expect(afterMs).toBeLessThan(3_000);
    expect(received).toMatch(/^HTTP\/1\.1 408|^$/);
  });

  it('a client that never finishes its body is cut off after requestTimeout', async () => {
    const running = await start({ headersMs: 500, requestMs: 1_000, checkIntervalMs: 100 });
    running.serve((req, res) => {
      req.resume();
      req.on('end', () => res.end('read it all'));
    });
    const { socket, closed } = rawClient(running.url);
    socket.write('POST /v1/queries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{');
    const drip = setInterval(() => socket.writable && socket.write(' '), 100);
    const { afterMs, received } = await closed;
    clearInterval(drip);
    expect(afterMs).toBeLessThan(4_000);
    expect(received).not.toContain('read it all');
  });

  it('an idle kept-alive connection is closed after keepAliveTimeout', async () => {
    const running = await start({ keepAliveMs: 300 });
    running.serve((_req, res) => res.end('ok'));
    const { socket, closed } = rawClient(running.url);
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const { afterMs, received } = await closed;
    expect(received).toContain('200 OK');
    expect(afterMs).toBeLessThan(2_000);
  });
});
