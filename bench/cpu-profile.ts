// What a CPU profile's busy time went to, by package (node_modules/<name>), project file or
// Node module: "on stack" counts a sample for every owner on its stack (nested ones overlap),
// "self" only for the frame that was running. Pure, for bench/profile.ts and its test.
import { markdownTable } from './report.ts';

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

/** The package (node_modules/<name>), project file (src/…), Node module or V8 bucket of a frame. */
export function frameOwner(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [scope, name] = url.slice(modules + '/node_modules/'.length).split('/');
    return scope?.startsWith('@') ? `${scope}/${name}` : (scope ?? url);
  }
  const project = /\/(src|bench)\/(.+)$/.exec(url);
  if (project) return `${project[1]}/${project[2]}`;
  return url.startsWith('node:') ? url : url.replace(/^file:\/\//, '');
}

export interface ProfileShares {
  samples: number;
  onStack: Map<string, number>;
  self: Map<string, number>;
  selfFunctions: Map<string, number>;
}

export function profileShares(profile: CpuProfile): ProfileShares {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  const shares: ProfileShares = { samples: 0, onStack: new Map(), self: new Map(), selfFunctions: new Map() };
  for (const id of profile.samples) {
    const leaf = byId.get(id)!;
    if (leaf.callFrame.functionName === '(idle)') continue;
    shares.samples++;
    const { url, functionName, lineNumber } = leaf.callFrame;
    bump(shares.self, frameOwner(url, functionName));
    bump(shares.selfFunctions, `${functionName || '(anonymous)'} ${frameOwner(url, functionName)}:${lineNumber + 1}`);
    const owners = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (frame.functionName !== '(root)') owners.add(frameOwner(frame.url, frame.functionName));
    }
    for (const owner of owners) bump(shares.onStack, owner);
  }
  return shares;
}

function top(map: Map<string, number>, total: number, count: number): string[][] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, hits]) => [name, `${((100 * hits) / total).toFixed(1)} %`]);
}

export function sharesReport(shares: ProfileShares): string {
  return [
    `${shares.samples} busy samples (idle left out)`,
    '',
    markdownTable(['on stack', 'share of busy time'], top(shares.onStack, shares.samples, 30), [false, true]),
    '',
    markdownTable(['self (package or file)', 'share'], top(shares.self, shares.samples, 20), [false, true]),
    '',
    markdownTable(['self (function)', 'share'], top(shares.selfFunctions, shares.samples, 25), [false, true]),
  ].join('\n');
}
