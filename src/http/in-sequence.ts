// Several middlewares as one router layer. Express's router pays for every layer a request
// passes through: its path is matched, a mounted one trims and restores req.url (and parseurl
// parses the new one), and `next` goes back through the router's loop. For middlewares that
// always run together, in this order, on every request of a mount (the hot path), one layer
// does the same work for less.
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Runs `handlers` in order as the router would run them as consecutive layers of one mount:
 * a handler that throws, or whose promise rejects, ends the sequence with that error (the
 * router then skips to error handlers, as it would have); `next('route')` is a plain `next()`
 * for a middleware layer; any other argument (an error, `'router'`) leaves the sequence with it.
 */
export function inSequence(...handlers: RequestHandler[]): RequestHandler {
  return function sequence(req: Request, res: Response, next: NextFunction): void {
    let index = 0;
    const step = (err?: unknown): void => {
      if (err && err !== 'route') return next(err);
      const handler = handlers[index++];
      if (handler === undefined) return next();
      try {
        const returned = handler(req, res, step) as unknown;
        if (returned instanceof Promise) returned.then(undefined, (error: unknown) => next(error || new Error('Rejected promise')));
      } catch (error) {
        next(error);
      }
    };
    step();
  };
}
