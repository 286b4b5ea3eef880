// Builds the dashboard into the Python package (src/greenstream/web/dist), served at / by
// `greenstream serve`. Everything is bundled: no CDN, no tile server, no web font service.
import { defineConfig } from 'vite';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

// The sources the bundle is built from, hashed as greenstream.web.source_sha256 hashes them
// (sorted relative paths, each path, a NUL, its bytes, a NUL), written next to the bundle so a
// test can tell a stale committed bundle from a fresh one.
const SOURCES = ['index.html', 'vite.config.js', 'package.json', 'package-lock.json', 'src', 'public'];
function files(path) {
  return statSync(path).isDirectory() ? readdirSync(path).flatMap((n) => files(join(path, n))) : [path];
}
function sourceHash(root) {
  const all = SOURCES.flatMap((s) => files(join(root, s))).map((f) => relative(root, f).split(sep).join('/')).sort();
  const h = createHash('sha256');
  for (const f of all) { h.update(f); h.update('\0'); h.update(readFileSync(join(root, f))); h.update('\0'); }
  return h.digest('hex');
}
function buildInfo() {
  return {
    name: 'greenstream-build-info',
    writeBundle(options) {
      const info = { source_sha256: sourceHash(import.meta.dirname), built_by: 'vite' };
      writeFileSync(join(options.dir, 'build-info.json'), JSON.stringify(info, null, 1) + '\n');
    },
  };
}

export default defineConfig({
  base: '/',
  plugins: [buildInfo()],
  build: {
    outDir: '../src/greenstream/web/dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    chunkSizeWarningLimit: 4000,
    sourcemap: false,
    rollupOptions: {
      output: {
        manualChunks(id) {
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'echarts';
          if (id.includes('node_modules/maplibre-gl')) return 'maplibre';
          if (id.includes('node_modules/@deck.gl') || id.includes('node_modules/@luma.gl') ||
              id.includes('node_modules/@loaders.gl') || id.includes('node_modules/@math.gl') ||
              id.includes('node_modules/h3-js')) return 'deckgl';
          return undefined;
        },
      },
    },
  },
});
