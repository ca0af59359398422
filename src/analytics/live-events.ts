// Session events published through Redis pub/sub, so an admin's live view (GET /admin/events)
// sees what happens on every instance. Publishing is fire-and-forget; subscribing opens one
// dedicated Redis connection per instance on first use and fans messages out in-process.
import { EventEmitter } from 'node:events';
import type { Logger } from '../logger.ts';
import type { RedisClient } from '../redis.ts';

export type LiveEventType = 'created' | 'revoked' | 'expired' | 'login_failed' | 'rate_limited' | 'new_device';

export interface LiveEvent {
  type: LiveEventType;
  at: string;
  userId: string | null;
  /** The account's email, where the publisher knows it without a query (the admin sees who, not an id). */
  email?: string;
  /** The session's public handle, when the event is about one session. */
  sessionId?: string;
  /** How many sessions, when one event stands for several of a user's (bulk revocation). */
  count?: number;
  ip?: string | null;
  /** The browser and OS family ("Firefox on Linux"), on a `new_device` sign-in. */
  device?: string;
}

export type LiveEventListener = (event: LiveEvent) => void;

export class LiveEvents {
  private readonly channel: string;
  private readonly local = new EventEmitter();
  /** A connection of its own (a subscribed connection takes no other commands). */
  private subscriber: { destroy(): void; close(): Promise<unknown>; unsubscribe(): Promise<unknown> } | null = null;
  private subscribing: Promise<void> | null = null;

  constructor(
    private readonly client: RedisClient,
    prefix: string,
    private readonly logger: Logger,
  ) {
    this.channel = `${prefix}events`;
    this.local.setMaxListeners(0);
  }

  publish(event: LiveEvent): void {
    if (!this.client.isReady) return;
    this.client.publish(this.channel, JSON.stringify(event)).catch((err: unknown) => {
      this.logger.debug({ err: (err as Error).message }, 'live event not published');
    });
  }

  /**
   * Calls `listener` for every event from any instance until `unsubscribe` is called. Returns at
   * once: the Redis subscription opens in the background (during an outage, once Redis answers),
   * so a live view opens even then; `subscribed` settles when events flow.
   */
  subscribe(listener: LiveEventListener): { unsubscribe: () => void; subscribed: Promise<boolean> } {
    this.local.on('event', listener);
    const subscribed = this.ensureSubscribed().then(
      () => true,
      (err: unknown) => {
        this.logger.debug({ err: (err as Error).message }, 'live events not subscribed; retried by the next viewer');
        return false;
      },
    );
    return { unsubscribe: () => this.local.off('event', listener), subscribed };
  }

  private ensureSubscribed(): Promise<void> {
    this.subscribing ??= (async () => {
      const subscriber = this.client.duplicate();
      subscriber.on('error', (err: Error) => this.logger.debug({ err: err.message }, 'live events subscriber error'));
      await subscriber.connect();
      await subscriber.subscribe(this.channel, (message) => {
        try {
          this.local.emit('event', JSON.parse(message) as LiveEvent);
        } catch {
          // not ours; ignore
        }
      });
      this.subscriber = subscriber;
    })().catch((err: unknown) => {
      this.subscribing = null;
      throw err;
    });
    return this.subscribing;
  }

  /** Open listeners in this process (live admin streams). */
  get listenerCount(): number {
    return this.local.listenerCount('event');
  }

  async close(): Promise<void> {
    this.local.removeAllListeners();
    const subscriber = this.subscriber;
    this.subscriber = null;
    this.subscribing = null;
    if (subscriber) await subscriber.close().catch(() => undefined);
  }
}
