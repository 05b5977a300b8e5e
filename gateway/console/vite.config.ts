/**
 * Builds the web console into gateway/console/dist, which the hub serves at `/`.
 * node-seal's WebAssembly is emitted as an asset (`new URL('seal_throws.wasm', import.meta.url)`),
 * so the page's CSP needs only 'wasm-unsafe-eval', never 'unsafe-eval'.
 */
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2023',
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
