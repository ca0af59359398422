// `trust proxy` answered from memory. Express asks it about the peer's address for req.ip,
// req.protocol, req.secure and req.host, several times a request behind a proxy; compiled from
// a list of addresses and subnets (TRUST_PROXY=loopback, CIDRs), proxy-addr parses the address
// again (twice) for each question, though for a list the answer depends on the address alone.
import type { Express } from 'express';
import type { Config } from '../config.ts';

/** Distinct addresses remembered (peers, and the hops of X-Forwarded-For chains it walks); past it, asked each time. */
const MAX_REMEMBERED = 1024;

type TrustFn = (address: string | undefined, hop: number) => boolean;

/** Call after `app.set('trust proxy', trustProxy)`: replaces the compiled function with one that remembers. */
export function rememberTrustAnswers(app: Express, trustProxy: Config['trustProxy']): void {
  // true and false are constants already; a hop count's answer depends on the hop, not the address.
  if (!Array.isArray(trustProxy)) return;
  const compiled = app.get('trust proxy fn') as TrustFn;
  const known = new Map<string | undefined, boolean>();
  app.set('trust proxy fn', function trust(address: string | undefined, hop: number): boolean {
    let answer = known.get(address);
    if (answer === undefined) {
      answer = compiled(address, hop);
      if (known.size < MAX_REMEMBERED) known.set(address, answer);
    }
    return answer;
  });
}
