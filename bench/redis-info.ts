// Reading Redis `INFO` output: the counters the benchmark takes deltas of.

/** `INFO` text → field → value (section headers and blank lines skipped). */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** `INFO commandstats` → command name → calls (`cmdstat_get:calls=12,usec=…` → get: 12). */
export function parseCommandCalls(text: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const [field, value] of parseInfo(text)) {
    if (!field.startsWith('cmdstat_')) continue;
    const match = /(?:^|,)calls=(\d+)/.exec(value);
    if (match) calls.set(field.slice('cmdstat_'.length), Number(match[1]));
  }
  return calls;
}

/** Reading the counters is itself a command; it is not the app's. */
export const OBSERVER_COMMANDS = ['info'];

/** Calls per command between two `INFO commandstats` readings, without the observer's own. */
export function commandDelta(before: Map<string, number>, after: Map<string, number>, ignore: string[] = OBSERVER_COMMANDS): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [command, calls] of after) {
    if (ignore.includes(command)) continue;
    const grown = calls - (before.get(command) ?? 0);
    if (grown > 0) delta.set(command, grown);
  }
  return delta;
}

export function addCounts(into: Map<string, number>, more: Map<string, number>): Map<string, number> {
  for (const [key, count] of more) into.set(key, (into.get(key) ?? 0) + count);
  return into;
}

export function totalCount(counts: Map<string, number>): number {
  let total = 0;
  for (const count of counts.values()) total += count;
  return total;
}

/** `INFO memory` → used_memory in bytes. */
export function usedMemoryBytes(text: string): number {
  const value = parseInfo(text).get('used_memory');
  if (value === undefined || !/^\d+$/.test(value)) throw new Error('INFO memory has no used_memory field');
  return Number(value);
}

/** `INFO cpu` → CPU seconds the redis-server has used (user + system, main and other threads). */
export function usedCpuSeconds(text: string): number {
  const fields = parseInfo(text);
  const user = Number(fields.get('used_cpu_user'));
  const system = Number(fields.get('used_cpu_sys'));
  if (!Number.isFinite(user) || !Number.isFinite(system)) throw new Error('INFO cpu has no used_cpu_user / used_cpu_sys');
  return user + system;
}
