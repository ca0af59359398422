// GET /admin/events: Server-Sent Events of session events from every instance.
import type { Request, Response } from 'express';
import type { LiveEvents } from '../analytics/live-events.ts';

/** Comment lines keep proxies and browsers from timing the stream out. */
const HEARTBEAT_MS = 15_000;

export function createEventStream(live: LiveEvents) {
  return function eventStream(req: Request, res: Response): void {
    const { unsubscribe, subscribed } = live.subscribe((event) => {
      res.write(`event: session\ndata: ${JSON.stringify(event)}\n\n`);
    });
    res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    // Headers go out at once (even while Redis is away); this line once events from every instance flow.
    void subscribed.then((ok) => ok && !res.writableEnded && res.write(': connected\n\n'));
    const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    // Closing the tab (or the server shutting down) frees the listener and the timer.
    req.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  };
}
