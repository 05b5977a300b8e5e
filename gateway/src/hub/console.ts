/**
 * Serves the web console (gateway/console, built by Vite into gateway/console/dist) at `/`.
 * API paths (`/v1/…`) never reach it. Every console response carries a strict Content
 * Security Policy: scripts only from this origin, WebAssembly compilation for node-seal
 * ('wasm-unsafe-eval', CSP Level 3 §6.1.1 — no general eval), no framing, no outside
 * connections (the secret key and decrypted numbers have nowhere else to go).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import express, { type Express, type Response } from 'express';

/** Where `npm run build:console` writes the console. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../console/dist', import.meta.url));

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function secure(res: Response): void {
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('X-Frame-Options', 'DENY');
}

/**
 * Mounts the console on `app`. Without a build it answers `/` with a page saying how to
 * build one (the API keeps working).
 */
export function mountConsole(app: Express, dir: string = DEFAULT_CONSOLE_DIR): void {
  const index = path.join(dir, 'index.html');
  const isApi = (p: string) => p.startsWith('/v1/') || p === '/v1' || p.startsWith('/.well-known/');
  app.use('/assets', (req, res, next) => {
    secure(res);
    next();
  });
  app.use(
    express.static(dir, {
      index: false,
      fallthrough: true,
      // Hashed file names (name-<hash>.ext) are cached for a year; anything else (node-seal's
      // WebAssembly keeps its plain name) and index.html (below) are revalidated every time.
      setHeaders: (res, file) => {
        secure(res);
        res.setHeader('Cache-Control', /-[\w-]{8,}\.\w+$/.test(path.basename(file)) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );
  app.get(/^\/(?!v1(\/|$)|\.well-known\/).*/, (req, res, next) => {
    if (isApi(req.path) || path.extname(req.path) !== '') return next();
    secure(res);
    res.setHeader('Cache-Control', 'no-cache');
    if (!existsSync(index)) {
      res.status(503).type('text/plain').send('The web console is not built. Run `npm run build:console` (npm start does it for you).\n');
      return;
    }
    res.sendFile(index);
  });
}
