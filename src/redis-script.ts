// Lua scripts by SHA-1: EVALSHA, and EVAL once when Redis does not know the script yet (first
// use, or after a restart or a failover). NOSCRIPT is the reply's error code for that.
import { createHash } from 'node:crypto';
import { ErrorReply } from 'redis';
import type { RedisClient } from './redis.ts';

const digests = new Map<string, string>();

function sha1(source: string): string {
  let digest = digests.get(source);
  if (!digest) digests.set(source, (digest = createHash('sha1').update(source).digest('hex')));
  return digest;
}

export async function runScript(client: RedisClient, source: string, keys: string[], args: string[]): Promise<unknown> {
  try {
    return await client.evalSha(sha1(source), { keys, arguments: args });
  } catch (err) {
    if (!(err instanceof ErrorReply) || !err.message.startsWith('NOSCRIPT')) throw err;
    return client.eval(source, { keys, arguments: args });
  }
}
