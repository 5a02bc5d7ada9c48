// The one way Socketship calls the application's backend: signed JSON POSTs to one URL over a
// keep-alive pool of its own (webhook batches, poster.ts; publish hook calls, publish-hook.ts).
// The URL's userinfo, if any, is sent as Basic auth and stays inside this closure; `origin` is all
// a log line may name of it (the path or query may carry a credential too).
import { Agent as HttpAgent, request as httpRequest, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { urlToHttpOptions } from 'node:url';
import { sign, SIGNATURE_HEADER } from './signature.ts';

export interface SignedChannelOptions {
  /** An absolute http: or https: URL. */
  url: string;
  /** WEBHOOK_SECRET: signs every body (signature.ts). */
  secret: string;
  /** Sockets the pool may hold open to the backend. */
  maxSockets: number;
  userAgent: string;
  /** The clock the signature's time is read from, in ms; Date.now by default. */
  now?: () => number;
}

export interface SignedChannel {
  /** `<protocol>//<host>` of the URL, for logs. */
  readonly origin: string;
  /** Starts one POST of `body`, signed now; the caller handles the response, errors and deadline. */
  post(body: string): ClientRequest;
  /** Closes the pool's sockets. */
  close(): void;
}

export function createSignedChannel(options: SignedChannelOptions): SignedChannel {
  const { secret } = options;
  const now = options.now ?? Date.now;
  const target = new URL(options.url);
  const secure = target.protocol === 'https:';
  // urlToHttpOptions decodes the userinfo into `auth` (Basic).
  const { hostname, port, path, auth } = urlToHttpOptions(target);
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets, maxFreeSockets: options.maxSockets };
  const agent = secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  const request = secure ? httpsRequest : httpRequest;
  return {
    origin: `${target.protocol}//${target.host}`,
    post(body) {
      const req = request({
        agent,
        method: 'POST',
        hostname,
        port,
        path,
        auth,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': options.userAgent,
          [SIGNATURE_HEADER]: sign(secret, body, now() / 1000),
        },
      });
      req.end(body);
      return req;
    },
    close: () => agent.destroy(),
  };
}
