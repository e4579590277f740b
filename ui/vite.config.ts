// Builds ui/ into ui/dist, which tauri.conf.json embeds. No dev server: the app always loads the
// built files, so what the tests drive is what ships.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: '.',
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2021', sourcemap: false },
  test: { environment: 'happy-dom', include: ['src/**/*.test.ts'] },
});
