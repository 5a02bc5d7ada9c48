/**
 * The credentials of `Authorization: Bearer <token>` (RFC 6750 2.1): the token, '' when the
 * header is there but not a Bearer credential, undefined when there is no header. The one parser
 * of the header, for upgrade tokens and the server API's key alike.
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return /^Bearer +(\S+) *$/i.exec(header)?.[1] ?? '';
}
