import ipaddr from 'ipaddr.js';
import { UAParser } from 'ua-parser-js';

export interface Device {
  /** desktop, mobile, tablet, smarttv, wearable, console, embedded, or unknown. */
  type: string;
  browser: string | null;
  os: string | null;
}

const join = (name?: string, version?: string) => (name ? [name, version].filter(Boolean).join(' ') : null);

export function describeDevice(userAgent: string | null): Device {
  if (!userAgent) return { type: 'unknown', browser: null, os: null };
  const ua = new UAParser(userAgent).getResult();
  const browser = join(ua.browser.name, ua.browser.major);
  const os = join(ua.os.name, ua.os.version);
  // ua-parser-js leaves desktop browsers without a device type.
  const type = ua.device.type ?? (browser || os ? 'desktop' : 'unknown');
  return { type, browser, os };
}

/** Room for both names within the `deviceFamily` column (100). */
const MAX_NAME_LENGTH = 45;

/**
 * `Firefox on Linux`: browser and OS names without versions, so an update is not a new device.
 * Unknown parts are spelled the same way every time, so an unrecognized agent matches itself.
 */
export function deviceFamily(userAgent: string | null): string {
  const ua = userAgent ? new UAParser(userAgent).getResult() : null;
  const browser = ua?.browser.name?.slice(0, MAX_NAME_LENGTH) || 'Unknown browser';
  const os = ua?.os.name?.slice(0, MAX_NAME_LENGTH) || 'unknown OS';
  return `${browser} on ${os}`;
}

/** The 16-bit groups of an IPv6 /56: three whole groups and the upper half of the fourth. */
const IPV6_KEPT_GROUPS = 4;
const IPV6_FOURTH_GROUP_MASK = 0xff00;

/**
 * The network an address belongs to, as the new-device check compares them: the IPv4 /24
 * (`203.0.113.0/24`) or the IPv6 /56 (`2001:db8:1:ff00::/56`, about one household or site).
 * IPv4-mapped IPv6 (`::ffff:203.0.113.9`) counts as IPv4. Null for no or an unparseable address.
 */
export function networkOf(ip: string | null): string | null {
  if (!ip) return null;
  const bare = ip.replace(/%.*$/, ''); // a zone id names a local interface, not a network
  if (!ipaddr.isValid(bare)) return null;
  const address = ipaddr.process(bare);
  if (address instanceof ipaddr.IPv4) return `${address.octets.slice(0, 3).join('.')}.0/24`;
  const groups = address.parts.slice(0, IPV6_KEPT_GROUPS);
  groups[IPV6_KEPT_GROUPS - 1] = (groups[IPV6_KEPT_GROUPS - 1] ?? 0) & IPV6_FOURTH_GROUP_MASK;
  // The last four groups are zero, a longer run than any among the first four can be, so the
  // canonical (RFC 5952) form is the kept groups without their trailing zeros, then `::`.
  while (groups.length > 0 && groups.at(-1) === 0) groups.pop();
  return `${groups.map((group) => group.toString(16)).join(':')}::/56`;
}
