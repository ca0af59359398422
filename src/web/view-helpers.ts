// Small formatting functions templates call as `it.<name>(…)` (they are app.locals). Each
// returns plain text, escaped by the template, except activityChart, which returns SVG that
// chart.ts built with every text escaped.
import { describeDevice, type Device } from '../sessions/device.ts';
import type { EventFlag, SessionEventType } from '../sessions/session-history.ts';
import { lineChartSvg, type ChartSeries } from './chart.ts';

const EVENT_LABELS: Record<SessionEventType, string> = {
  registered: 'Account created',
  login: 'Signed in',
  login_failed: 'Failed sign-in attempt',
  logout: 'Signed out',
  revoked: 'Device signed out',
  expired: 'Session expired',
  password_changed: 'Password changed',
  rate_limited: 'Sign-in blocked (too many attempts)',
  role_changed: 'Role changed',
  reauthenticated: 'Password confirmed',
};

const FLAGGED_LABELS: Record<EventFlag, string> = {
  new_device: 'Signed in from a new device',
};

/** `2026-11-28 10:46 UTC`: the same for everyone, whatever the server's time zone. */
function formatTime(iso: string | Date | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '—' : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const RELATIVE_UNITS: Array<[ms: number, name: string]> = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'min']];

/**
 * `3 min ago`, `in 6 d`, `just now`: short enough for a table cell, counted from `nowMs` (the
 * app's clock, so a page and its tests agree). Whole units, rounded down: "in 6 d" is at least 6 days.
 */
function formatRelativeTime(iso: string | Date | null | undefined, nowMs: number): string {
  if (!iso) return '—';
  const deltaMs = new Date(iso).getTime() - nowMs;
  if (Number.isNaN(deltaMs)) return '—';
  const found = RELATIVE_UNITS.find(([size]) => Math.abs(deltaMs) >= size);
  if (!found) return deltaMs <= 0 ? 'just now' : 'in < 1 min';
  const [size, name] = found;
  const count = Math.floor(Math.abs(deltaMs) / size);
  return deltaMs < 0 ? `${count} ${name} ago` : `in ${count} ${name}`;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** `7 days`, `12 hours`, `90 minutes`: in the largest unit that says it exactly (settings are whole seconds). */
function formatDuration(ms: number): string {
  const units: Array<[number, string]> = [[86_400_000, 'day'], [3_600_000, 'hour'], [60_000, 'minute']];
  const [size, name] = units.find(([unit]) => ms >= unit && ms % unit === 0) ?? [1000, 'second'];
  const count = Math.round(ms / size);
  return `${count} ${name}${count === 1 ? '' : 's'}`;
}

function formatPercent(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined ? 'n/a' : `${(ratio * 100).toFixed(1)} %`;
}

/** `Chrome 120 on Windows 10 (desktop)`. */
function deviceLabel(device: Device | null | undefined): string {
  if (!device || (!device.browser && !device.os)) return 'Unknown device';
  const what = [device.browser ?? 'Unknown browser', device.os ? `on ${device.os}` : null].filter(Boolean).join(' ');
  return device.type && device.type !== 'unknown' ? `${what} (${device.type})` : what;
}

function userAgentLabel(userAgent: string | null): string {
  return deviceLabel(describeDevice(userAgent));
}

/** A history event's label: by its flag when it has one (a new-device sign-in), else by its type. */
function eventLabel(event: { type: string; flags?: readonly EventFlag[] }): string {
  const flag = event.flags?.[0];
  return flag ? FLAGGED_LABELS[flag] : (EVENT_LABELS[event.type as SessionEventType] ?? event.type);
}

interface EndedEvent {
  type: string;
  sessionId?: string;
  by?: { sessionId?: string | null; userAgent?: string | null; admin?: boolean; command?: string };
}

/**
 * Who signed a device out, for the history (the event's own device is the one that ended):
 * "from this device", "from Firefox 120 on Linux", "by an administrator"; null when nobody
 * else did (an expiry, a session ending itself).
 */
function endedBy(event: EndedEvent, currentHandle: string | null): string | null {
  const by = event.by;
  if (!by || (event.type !== 'revoked' && event.type !== 'logout')) return null;
  if (by.admin || by.command !== undefined) return 'by an administrator';
  if (by.sessionId === event.sessionId) return null;
  return by.sessionId === currentHandle ? 'from this device' : `from ${userAgentLabel(by.userAgent ?? null)}`;
}

export interface ActivityAnalytics {
  hours: string[];
  series: Partial<Record<'logins' | 'loginFailures' | 'sessionsCreated' | 'sessionsRevoked' | 'rateLimited', number[]>>;
}

/** The lines of the dashboard chart, in legend order; the template draws the legend from it too. */
export const ACTIVITY_SERIES: Array<{ key: keyof ActivityAnalytics['series']; label: string }> = [
  { key: 'logins', label: 'Sign-ins' },
  { key: 'loginFailures', label: 'Failed sign-ins' },
  { key: 'sessionsCreated', label: 'Sessions created' },
  { key: 'sessionsRevoked', label: 'Sessions revoked' },
  { key: 'rateLimited', label: 'Rate-limited' },
];

function activityChart(analytics: ActivityAnalytics): string {
  const series: ChartSeries[] = ACTIVITY_SERIES.flatMap(({ key, label }) => {
    const values = analytics.series[key];
    return values ? [{ key, label, values }] : [];
  });
  return lineChartSvg(analytics.hours, series, { title: 'Sign-ins and sessions, last 24 hours' });
}

/** A link to the admin listing with these filters (empty ones left out). */
function adminSessionsUrl(params: Record<string, string | number | null | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== null && value !== undefined && value !== '') query.set(name, String(value));
  const text = query.toString();
  return text ? `/admin/sessions?${text}` : '/admin/sessions';
}

export const viewHelpers = { formatTime, formatRelativeTime, formatBytes, formatDuration, formatPercent, deviceLabel, userAgentLabel, eventLabel, endedBy, activityChart, activitySeries: ACTIVITY_SERIES, adminSessionsUrl };
