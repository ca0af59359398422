// The README is what operators trust: the facts it states that the repository also states
// elsewhere must agree with them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
const envExample = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');

describe('README', () => {
  it('names the Node.js versions package.json accepts', () => {
    const match = /^>=(\d+\.\d+) <(\d+)$/.exec(pkg.engines.node);
    expect(match, `engines.node is ${pkg.engines.node}`).not.toBeNull();
    const [, lowest, below] = match!;
    expect(readme).toContain(`Needs Node.js ${lowest} or later (below ${below}`);
  });

  it('lists every app setting of .env.example in its settings table', () => {
    // The file's last part is for docker compose only (documented under Docker Compose).
    const appPart = envExample.split('# --- docker compose')[0]!;
    const settings = [...appPart.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!);
    expect(settings.length).toBeGreaterThan(10);
    for (const name of settings) expect(readme, name).toMatch(new RegExp(`^\\| \`${name}\`[ |,]`, 'm'));
  });
});
