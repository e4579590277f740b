// The window's modules import one way: no module imports one that imports it back (directly or
// through others), and only `backend.ts` imports Tauri.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = dirname(fileURLToPath(import.meta.url));

function modules(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return modules(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^import\s+(?:type\s+)?[^'"]*['"]([^'"]+)['"]/gm)]
    .map((m) => m[1])
    .filter((spec) => spec.startsWith('.') && !spec.endsWith('.css'))
    .map((spec) => resolve(dirname(file), spec) + '.ts');
}

describe('module imports', () => {
  const graph = new Map(modules(src).map((m) => [m, imports(m)]));

  it('form no circle', () => {
    const circles: string[] = [];
    const visit = (m: string, path: string[]) => {
      if (path.includes(m)) {
        circles.push([...path.slice(path.indexOf(m)), m].map((p) => relative(src, p)).join(' → '));
        return;
      }
      for (const next of graph.get(m) ?? []) visit(next, [...path, m]);
    };
    for (const m of graph.keys()) visit(m, []);
    expect([...new Set(circles)]).toEqual([]);
  });

  it('reach Tauri through backend.ts only', () => {
    const tauri = [...graph.keys()].filter((m) => /from ['"]@tauri-apps\//.test(readFileSync(m, 'utf8')));
    expect(tauri.map((m) => relative(src, m))).toEqual(['backend.ts']);
  });
});
