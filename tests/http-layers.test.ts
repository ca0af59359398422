// The two hot-path shortcuts of src/http: several middlewares as one router layer
// (in-sequence.ts) and `trust proxy` answered from memory (trust-proxy.ts). Each must behave
// exactly as what it replaces; no Redis or PostgreSQL is needed for that.
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { inSequence } from '../src/http/in-sequence.ts';
import { rememberTrustAnswers } from '../src/http/trust-proxy.ts';

const mark = (name: string): RequestHandler => (req, _res, next) => {
  (req as unknown as { seen: string[] }).seen.push(name);
  next();
};

function appWith(sequence: RequestHandler) {
  const app = express();
  app.use((req, _res, next) => {
    (req as unknown as { seen: string[] }).seen = [];
    next();
  });
  app.use(sequence);
  app.get('/', (req, res) => {
    res.json({ seen: (req as unknown as { seen: string[] }).seen });
  });
  const onError: ErrorRequestHandler = (err: Error, req, res, _next) => {
    res.status(500).json({ error: err.message, seen: (req as unknown as { seen: string[] }).seen });
  };
  app.use(onError);
  return app;
}

describe('inSequence', () => {
  it('runs the handlers in order, then the rest of the app', async () => {
    const res = await request(appWith(inSequence(mark('a'), mark('b'), mark('c')))).get('/');
    expect(res.body).toEqual({ seen: ['a', 'b', 'c'] });
  });

  it('an error passed to next, thrown, or a rejected promise skips the rest to the error handler', async () => {
    const viaNext: RequestHandler = (_req, _res, next) => next(new Error('passed'));
    const thrown: RequestHandler = () => {
      throw new Error('thrown');
    };
    const rejected: RequestHandler = async () => {
      throw new Error('rejected');
    };
    for (const [failing, message] of [[viaNext, 'passed'], [thrown, 'thrown'], [rejected, 'rejected']] as const) {
      const res = await request(appWith(inSequence(mark('a'), failing, mark('never')))).get('/');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: message, seen: ['a'] });
    }
  });

  it("next('route') from a middleware is a plain next, as it is for a middleware layer", async () => {
    const route: RequestHandler = (_req, _res, next) => next('route');
    const res = await request(appWith(inSequence(mark('a'), route, mark('b')))).get('/');
    expect(res.body).toEqual({ seen: ['a', 'b'] });
  });

  it('a handler that answers ends the request there', async () => {
    const answer: RequestHandler = (_req, res) => {
      res.status(204).end();
    };
    const res = await request(appWith(inSequence(answer, mark('never')))).get('/');
    expect(res.status).toBe(204);
  });
});

describe('rememberTrustAnswers', () => {
  function proxied(trust: string[] | boolean) {
    const app = express();
    app.set('trust proxy', trust);
    rememberTrustAnswers(app, trust);
    app.get('/', (req, res) => {
      res.json({ ip: req.ip, protocol: req.protocol, ips: req.ips });
    });
    return app;
  }

  it('answers as the compiled list does, for the peer and for every hop of X-Forwarded-For, asked again and again', async () => {
    const app = proxied(['loopback']);
    for (let i = 0; i < 3; i++) {
      // 127.0.0.1 (the peer) and 10.0.0.2 are not both trusted: only loopback is, so the walk stops at 10.0.0.2.
      const res = await request(app).get('/').set('X-Forwarded-For', '203.0.113.9, 10.0.0.2, 127.0.0.1').set('X-Forwarded-Proto', 'https');
      expect(res.body).toEqual({ ip: '10.0.0.2', protocol: 'https', ips: ['10.0.0.2', '127.0.0.1'] });
    }
    const untrusted = proxied(['10.0.0.0/8']);
    const res = await request(untrusted).get('/').set('X-Forwarded-For', '203.0.113.9').set('X-Forwarded-Proto', 'https');
    expect(res.body.protocol).toBe('http');
    expect(res.body.ip).toMatch(/127\.0\.0\.1$/);
  });

  it('leaves true and false as Express compiled them', async () => {
    const app = proxied(false);
    const before = app.get('trust proxy fn') as unknown;
    rememberTrustAnswers(app, false);
    expect(app.get('trust proxy fn')).toBe(before);
  });
});
