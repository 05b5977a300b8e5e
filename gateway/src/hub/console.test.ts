/** The hub serves the built console at `/` with a strict CSP, and never in place of the API. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, mountConsole } from './console.ts';

const dir = mkdtempSync(join(tmpdir(), 'veilgate-console-'));
mkdirSync(join(dir, 'assets'));
writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title>');
writeFileSync(join(dir, 'assets', 'index-abc123XY.js'), 'console.log(1)');
writeFileSync(join(dir, 'assets', 'seal_throws.wasm'), new Uint8Array([0, 97, 115, 109]));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function app(consoleDir: string) {
  const a = express();
  a.get('/v1/health', (_req, res) => res.json({ status: 'ok' }));
  mountConsole(a, consoleDir);
  a.use((_req, res) => res.status(404).json({ code: 'not_found' }));
  return a;
}

describe('console serving', () => {
  it('serves index.html at / and at deep links, uncached, with the CSP', async () => {
    for (const path of ['/', '/researcher/query']) {
      const res = await request(app(dir)).get(path).expect(200);
      expect(res.text).toContain('<title>console</title>');
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['x-frame-options']).toBe('DENY');
    }
  });
  it('allows WebAssembly compilation but no eval, and no other origin', () => {
    expect(CONSOLE_CSP).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(CONSOLE_CSP).not.toMatch(/'unsafe-eval'/);
    expect(CONSOLE_CSP).toContain("connect-src 'self'");
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
  });
  it('serves hashed assets with a long cache', async () => {
    const res = await request(app(dir)).get('/assets/index-abc123XY.js').expect(200);
    expect(res.headers['cache-control']).toContain('immutable');
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
    // An asset without a hash in its name is revalidated (a new build may change it).
    const wasm = await request(app(dir)).get('/assets/seal_throws.wasm').expect(200);
    expect(wasm.headers['cache-control']).toBe('no-cache');
    expect(wasm.headers['content-type']).toBe('application/wasm');
  });
  it('never answers API paths or missing files with the console', async () => {
    await request(app(dir)).get('/v1/health').expect(200, { status: 'ok' });
    const api = await request(app(dir)).get('/v1/nope').expect(404);
    expect(api.body).toEqual({ code: 'not_found' });
    await request(app(dir)).get('/assets/missing.js').expect(404);
  });
  it('says how to build the console when there is no build', async () => {
    const res = await request(app(join(dir, 'absent'))).get('/').expect(503);
    expect(res.text).toContain('npm run build:console');
  });
});
