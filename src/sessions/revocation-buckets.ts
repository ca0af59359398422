// Each bucket's revocation state in Redis (`revocations:generation:` and `revocations:seq:`,
// session-keys.ts): which generation of the kept revocations it holds, and how many revocation
// writes it has had. Every remove() (session-entries.ts) counts one and answers it with the
// generation; the revocation outbox (revocation-outbox.ts) compares the pairs with PostgreSQL's
// to tell a Redis that lost writes, and starts a new generation there.
import type { RedisClient } from '../redis.ts';
import { runScript } from '../redis-script.ts';
import { allBuckets, type SessionKeys } from './session-keys.ts';
import { BUCKET_STATE_SCRIPT, SET_GENERATION_SCRIPT } from './session-scripts.ts';

/** A bucket's revocation writes: the highest sequence number, and the generation it carries. */
export interface BucketWrite {
  bucket: number;
  seq: number;
  generation: string | null;
}

export interface BucketState extends BucketWrite {
  /** Whether the server holding the bucket is the one its generation was started on. */
  sameServer: boolean;
}

/** `<generation>:<run_id of the server it was started on>`. */
export function parseMarker(marker: string | null): { generation: string | null; startedOn: string | null } {
  const colon = marker?.lastIndexOf(':') ?? -1;
  return colon < 0 ? { generation: null, startedOn: null } : { generation: marker!.slice(0, colon), startedOn: marker!.slice(colon + 1) };
}

export class RevocationBuckets {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: SessionKeys,
  ) {}

  /** Each bucket's revocation generation and sequence number, and whether its server started that generation. */
  async states(): Promise<BucketState[]> {
    return Promise.all(
      allBuckets().map(async (bucket) => {
        const keys = [this.keys.revocationGeneration(bucket), this.keys.revocationSeq(bucket)];
        const [marker, seq, server] = (await runScript(this.client, BUCKET_STATE_SCRIPT, keys, [])) as [string | null, number, string];
        const { generation, startedOn } = parseMarker(marker);
        return { bucket, generation, seq, sameServer: startedOn === server };
      }),
    );
  }

  /** Starts a generation in every bucket (after which the kept revocations are applied again). */
  async setGeneration(generation: string): Promise<void> {
    await Promise.all(allBuckets().map((bucket) => runScript(this.client, SET_GENERATION_SCRIPT, [this.keys.revocationGeneration(bucket)], [generation])));
  }
}
