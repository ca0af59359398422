import type { Request } from 'express';

const MAX_USER_AGENT_LENGTH = 512;
const MAX_IP_LENGTH = 45;
/** Dual-stack sockets report IPv4 clients as ::ffff:1.2.3.4; show them as 1.2.3.4. */
const IPV4_MAPPED_PREFIX = /^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/;

/** The client's address (as `trust proxy` decides) and user agent, cut to what we store. */
export function requestContext(req: Request): { ip: string | null; userAgent: string | null } {
  const userAgent = req.get('user-agent');
  return {
    ip: req.ip ? req.ip.replace(IPV4_MAPPED_PREFIX, '').slice(0, MAX_IP_LENGTH) : null,
    userAgent: userAgent ? userAgent.slice(0, MAX_USER_AGENT_LENGTH) : null,
  };
}
