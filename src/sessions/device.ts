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
