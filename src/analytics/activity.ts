// Everything that happens to sessions and sign-in attempts, reported once and fanned out to
// the three places that want it: activity counters in Redis (the admin's analytics; per hour
// and per minute, activity-counters.ts), Prometheus metrics, and live events (SSE).
import type { Metrics } from '../metrics/metrics.ts';
import type { ActivityCounters } from './activity-counters.ts';
import type { LiveEvents } from './live-events.ts';

export interface SessionRef {
  userId: string;
  handle: string;
  /** The owner's email, when the caller has it at hand: shown in the admin's live events. */
  email?: string | null | undefined;
}

/** `email` only when known: an event's JSON has no `"email": null`. */
const withEmail = (email: string | null | undefined) => (email ? { email } : {});

export class Activity {
  constructor(
    readonly counters: ActivityCounters,
    readonly live: LiveEvents,
    readonly metrics: Metrics,
    private readonly now: () => number,
  ) {}

  private at(): string {
    return new Date(this.now()).toISOString();
  }

  sessionCreated(session: SessionRef, ip: string | null): void {
    this.counters.increment('sessions_created');
    this.metrics.sessionsCreated.inc();
    this.live.publish({ type: 'created', at: this.at(), userId: session.userId, sessionId: session.handle, ip, ...withEmail(session.email) });
  }

  loginSucceeded(): void {
    this.counters.increment('logins');
  }

  /** A sign-in from a device or network new to the account (session-history.ts decides). */
  newDeviceSignIn(session: SessionRef, ip: string | null, device: string): void {
    this.counters.increment('new_device_sign_ins');
    this.metrics.newDeviceSignIns.inc();
    this.live.publish({ type: 'new_device', at: this.at(), userId: session.userId, sessionId: session.handle, ip, device, ...withEmail(session.email) });
  }

  sessionsRevoked(sessions: SessionRef[]): void {
    this.ended('revoked', sessions);
  }

  sessionsExpired(sessions: SessionRef[]): void {
    this.ended('expired', sessions);
  }

  private ended(type: 'revoked' | 'expired', sessions: SessionRef[]): void {
    if (sessions.length === 0) return;
    this.counters.increment(type === 'revoked' ? 'sessions_revoked' : 'sessions_expired', sessions.length);
    (type === 'revoked' ? this.metrics.sessionsRevoked : this.metrics.sessionsExpired).inc(sessions.length);
    // One live event per user: revoking 10,000 sessions is one line for the operator, not 10,000.
    const byUser = new Map<string, SessionRef[]>();
    for (const s of sessions) {
      const list = byUser.get(s.userId);
      if (list) list.push(s);
      else byUser.set(s.userId, [s]);
    }
    for (const [userId, refs] of byUser) {
      const email = withEmail(refs.find((ref) => ref.email)?.email);
      this.live.publish(refs.length === 1 ? { type, at: this.at(), userId, sessionId: refs[0]!.handle, ...email } : { type, at: this.at(), userId, count: refs.length, ...email });
    }
  }

  /**
   * `email`: the account's, only when there is an account. A typed email that matches none is
   * not shown: it is often a password typed into the wrong field.
   */
  loginFailed(userId: string | null, ip: string | null, email?: string | null): void {
    this.counters.increment('login_failed');
    this.metrics.loginFailures.inc();
    this.live.publish({ type: 'login_failed', at: this.at(), userId, ip, ...withEmail(userId ? email : null) });
  }

  /** `email` as for loginFailed. */
  rateLimited(userId: string | null, ip: string | null, email?: string | null): void {
    this.counters.increment('rate_limited');
    this.metrics.rateLimited.inc();
    this.live.publish({ type: 'rate_limited', at: this.at(), userId, ip, ...withEmail(userId ? email : null) });
  }

  challengeIssued(): void {
    this.counters.increment('challenge_issued');
  }

  /** Per request: in-memory counts only (flushed in batches), nothing sent to Redis now. */
  cacheLookup(hit: boolean): void {
    this.counters.increment(hit ? 'cache_hits' : 'cache_misses');
    this.metrics.sessionCache.inc({ result: hit ? 'hit' : 'miss' });
  }
}
