// Requests that Node's HTTP parser refuses before Express sees them: headers over Node's size
// limit (--max-http-header-size, 16 KiB by default), a garbled request line, a bad character in
// a header, a request that took too long to arrive. Node would answer with an empty 400 or 431;
// these get the app's `{"error":{"code","message"}}` like every other error.
import { STATUS_CODES, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../logger.ts';
import { ERRORS, type ErrorCode } from './errors.ts';

/** Node's codes for what it reports here; every other parse error (HPE_…) is `bad_request`. */
const NODE_ERROR_CODES = new Map<string, ErrorCode>([
  ['HPE_HEADER_OVERFLOW', 'headers_too_large'],
  ['HPE_CHUNK_EXTENSIONS_OVERFLOW', 'payload_too_large'],
  ['ERR_HTTP_REQUEST_TIMEOUT', 'request_timeout'],
]);

export function clientErrorCode(nodeCode: string | undefined): ErrorCode {
  return NODE_ERROR_CODES.get(nodeCode ?? '') ?? 'bad_request';
}

/**
 * The whole HTTP/1.1 response, written by hand: there is no request or response object yet.
 * The parser cannot go on after an error, so the connection closes.
 */
export function clientErrorResponse(code: ErrorCode): string {
  const { status, message } = ERRORS[code];
  const body = JSON.stringify({ error: { code, message } });
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    'X-Content-Type-Options: nosniff',
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

/**
 * Runs `answer` once an earlier request's response on this connection (pipelining) has all been
 * handed to the socket, so the answer follows it instead of cutting into it or taking its place.
 * The socket's `_httpMessage` is how Node's own handler (socketOnError in lib/_http_server.js)
 * finds that response.
 */
function afterEarlierResponse(socket: Duplex, answer: () => void): void {
  const earlier = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!earlier || earlier.writableEnded) answer();
  else earlier.once('close', answer);
}

/** Answers the parser's errors on `server` with JSON; a connection already gone is only closed. */
export function installClientErrorHandler(server: Server, logger: Logger): void {
  server.on('clientError', function clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const code = clientErrorCode(err.code);
    // The code only: the error's rawPacket is the request itself, cookies and all.
    logger.info({ err: err.code, code, status: ERRORS[code].status, remoteAddress: (socket as Socket).remoteAddress }, 'request refused by the HTTP parser');
    afterEarlierResponse(socket, () => {
      if (!socket.writable) return void socket.destroy();
      // Closed once the answer is out, whether or not the client closes its side.
      socket.end(clientErrorResponse(code), () => socket.destroy());
    });
  });
}
