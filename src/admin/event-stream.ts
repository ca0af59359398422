// GET /admin/events: Server-Sent Events of session events from every instance.
import type { Request, Response } from 'express';
import type { LiveEvents } from '../analytics/live-events.ts';

/** Comment lines keep proxies and browsers from timing the stream out. */
const HEARTBEAT_MS = 15_000;
/**
 * How long EventSource waits before it reconnects once the stream ends at shutdown. This
 * instance already refuses new connections by then, so the reconnect reaches another one.
 */
const RECONNECT_AFTER_SHUTDOWN_MS = 1_000;
/** The last message of a stream ended at shutdown; the dashboard ignores the event itself. */
const SHUTDOWN_MESSAGE = `retry: ${RECONNECT_AFTER_SHUTDOWN_MS}\nevent: shutdown\ndata: ${JSON.stringify({ message: 'This server is shutting down; reconnecting.' })}\n\n`;

/**
 * The open streams of one app. A stream is a request that never finishes by itself, so the
 * shutdown drain (server.ts) would wait its whole grace period for it: shutdown ends them first.
 */
class OpenStreams {
  private readonly open = new Set<Response>();
  private ended = false;

  /** false once shutdown has begun: the caller ends the stream at once. */
  add(res: Response): boolean {
    if (this.ended) return false;
    this.open.add(res);
    return true;
  }

  delete(res: Response): void {
    this.open.delete(res);
  }

  endAll(): void {
    this.ended = true;
    for (const res of this.open) res.end(SHUTDOWN_MESSAGE);
    this.open.clear();
  }
}

/**
 * One registry per LiveEvents, which is one per app (createApp): tests run several apps in one
 * process, and shutting one down must not end another's streams.
 */
const registries = new WeakMap<LiveEvents, OpenStreams>();

function openStreamsOf(live: LiveEvents): OpenStreams {
  let streams = registries.get(live);
  if (!streams) registries.set(live, (streams = new OpenStreams()));
  return streams;
}

/**
 * Ends every open stream of this app with a last `shutdown` event (and a short `retry:`), and
 * any stream asked for after this the same way.
 */
export function endEventStreams(live: LiveEvents): void {
  openStreamsOf(live).endAll();
}

export function createEventStream(live: LiveEvents) {
  const streams = openStreamsOf(live);
  return function eventStream(_req: Request, res: Response): void {
    res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    if (!streams.add(res)) {
      res.end(SHUTDOWN_MESSAGE);
      return;
    }
    // A write after the end (an event arriving between endAll() and 'close') would be an error.
    const send = (text: string) => {
      if (!res.writableEnded) res.write(text);
    };
    const { unsubscribe, subscribed } = live.subscribe((event) => send(`event: session\ndata: ${JSON.stringify(event)}\n\n`));
    res.flushHeaders();
    // Headers go out at once (even while Redis is away); this line once events from every instance flow.
    void subscribed.then((ok) => ok && send(': connected\n\n'));
    const heartbeat = setInterval(() => send(': ping\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    // The response closes when the tab is closed or when shutdown ends it: free the listener and the timer.
    res.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(res);
    });
  };
}
