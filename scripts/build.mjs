// `npm run build`: compiles src/ into dist/ with the TypeScript compiler (tsconfig.build.json),
// then copies what the compiled code reads from beside itself: the page templates and the
// static files. dist/ is emptied first, so a renamed or deleted module leaves nothing behind.
// Plain JavaScript on purpose: building must not need tsx. `--out-dir <dir>` builds elsewhere
// (the tests build into a temporary directory, never over the working tree's dist/).
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const flag = process.argv.indexOf('--out-dir');
const outDir = resolve(root, flag >= 0 ? process.argv[flag + 1] ?? '' : 'dist');
if (outDir === resolve(root) || outDir === resolve(root, 'src')) throw new Error(`refusing to build into ${outDir}`);

rmSync(outDir, { recursive: true, force: true });
// The package's own launcher (its `bin`), which starts the native compiler; the package
// exports no path to it, so it is found beside the installed package.
const tsc = resolve(root, 'node_modules/typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', resolve(root, 'tsconfig.build.json'), '--outDir', outDir], { stdio: 'inherit' });
for (const assets of ['web/views', 'web/public']) {
  cpSync(resolve(root, 'src', assets), resolve(outDir, assets), { recursive: true });
}
