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
    rolldownOptions: {
      // node-seal's Emscripten loader has a Node-only branch (`await import('module')`) that
      // never runs in a browser; Vite's notice about externalizing it is expected.
      onwarn(warning, warn) {
        if (/"module" has been externalized for browser compatibility/.test(warning.message)) return;
        warn(warning);
      },
      output: {
        // node-seal's loader asks for the WebAssembly by its plain name, next to its own module
        // (locateFile: new URL(path, import.meta.url)); every other asset keeps its content hash.
        assetFileNames: (asset) => (asset.names.some((n) => n.endsWith('seal_throws.wasm')) ? 'assets/[name][extname]' : 'assets/[name]-[hash][extname]'),
      },
    },
  },
  logLevel: 'warn',
});
