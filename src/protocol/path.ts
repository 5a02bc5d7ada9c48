/** The one WebSocket endpoint. */
export const WS_PATH = '/ws';

/** The path part of a request target, without the query. */
export function pathOf(url: string | undefined): string {
  const target = url ?? '/';
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}

/** The request target with the value of `access_token` masked: what logs may keep of a URL. */
export function redactQuery(url: string | undefined): string {
  const target = url ?? '/';
  return target.replace(/([?&]access_token=)[^&#]*/gi, '$1***');
}
