// scripts/lib/tool.ts: a program found on PATH is used; a missing one skips with one line
// outside CI and throws under CI. PATH is a directory of this test's own, so the result does not
// depend on what this machine has installed.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { findOnPath, toolOrSkip, underCi } from '../scripts/lib/tool.ts';

const dir = mkdtempSync(join(tmpdir(), 'rsa-tool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'present-tool'), '#!/bin/sh\n');
chmodSync(join(dir, 'present-tool'), 0o755);
writeFileSync(join(dir, 'not-executable'), '');

const MISSING = { name: 'no-such-tool-rsa-test', install: 'apt-get install -y no-such-tool' };
const THIS_FILE = 'tests/tool-skip.test.ts';

/** toolOrSkip under the given CI value, PATH = `dir`, with what it writes to stderr. */
function run(ci: string | undefined, tool: { name: string; install: string }, what?: string) {
  vi.stubEnv('PATH', dir);
  vi.stubEnv('CI', ci);
  const written: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
  try {
    return { result: toolOrSkip(import.meta.url, tool, what), written };
  } finally {
    vi.restoreAllMocks();
  }
}

afterEach(() => vi.unstubAllEnvs());

describe('toolOrSkip', () => {
  it('returns the path of a tool on PATH and writes nothing, under CI or not', () => {
    for (const ci of [undefined, 'true']) expect(run(ci, { name: 'present-tool', install: '-' })).toEqual({ result: join(dir, 'present-tool'), written: [] });
  });

  it('outside CI, returns undefined for a missing tool and writes one line naming it and how to install it', () => {
    for (const ci of [undefined, '', 'false', '0']) {
      expect(run(ci, MISSING)).toEqual({ result: undefined, written: [`skipped ${THIS_FILE}: no-such-tool-rsa-test not found — install it: apt-get install -y no-such-tool\n`] });
    }
    expect(run(undefined, MISSING, 'the TLS tests').written).toEqual([`skipped the TLS tests in ${THIS_FILE}: no-such-tool-rsa-test not found — install it: apt-get install -y no-such-tool\n`]);
  });

  it('under CI, throws for a missing tool, naming it and how to install it', () => {
    for (const ci of ['true', '1', 'yes']) {
      expect(() => run(ci, MISSING)).toThrow(
        `no-such-tool-rsa-test not found on PATH, so ${THIS_FILE} cannot run, and CI=${ci} makes that a failure — install it: apt-get install -y no-such-tool`,
      );
    }
  });
});

describe('findOnPath', () => {
  it('finds executable files only, in PATH order, and runs nothing', () => {
    expect(findOnPath('present-tool', `/nonexistent:${dir}`)).toBe(join(dir, 'present-tool'));
    expect(findOnPath('not-executable', dir)).toBeUndefined();
    expect(findOnPath('present-tool', '')).toBeUndefined();
    expect(findOnPath('.', dir)).toBeUndefined(); // a directory is not a program
  });

  it('reads CI as set unless it is unset, empty, "false" or "0"', () => {
    vi.stubEnv('CI', undefined);
    expect(underCi()).toBe(false);
    expect(['', 'false', '0'].map((value) => underCi(value))).toEqual([false, false, false]);
    expect(['true', '1', 'yes'].map((value) => underCi(value))).toEqual([true, true, true]);
  });
});
