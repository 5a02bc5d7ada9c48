/** The one WebSocket endpoint. */
export const WS_PATH = '/ws';

/** The path part of a request target, without the query. */
export function pathOf(url: string | undefined): string {
  const target = url ?? '/';
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}
