// npm run token -- --sub alice --name Alice --rooms 'lobby,team-*' --ttl 1h
// Prints an HS256 token signed with AUTH_JWT_SECRET (from the environment or .env), for local
// development and for backends that mint their own tokens the same way.
import dotenv from 'dotenv';
import { SignJWT } from 'jose';
import { parseArgs } from 'node:util';
import { ConfigError, parseConfig } from '../src/config/config.ts';

dotenv.config({ quiet: true });

const USAGE = `usage: npm run token -- --sub <user> [--name <display name>] [--rooms 'lobby,team-*'] [--ttl 1h]
  --sub    the user (required)
  --name   the display name the server shows (default: the sub)
  --rooms  rooms the user may join, names or prefix-* patterns, comma-separated (default: all)
  --ttl    lifetime: 90s, 30m, 1h, 7d (default 1h)
Signs with AUTH_JWT_SECRET (environment or .env); adds iss/aud when AUTH_ISSUER/AUTH_AUDIENCE are set.`;

/** Seconds in "90s", "30m", "1h", "7d". */
export function parseTtl(text: string): number | undefined {
  const match = /^(\d+)([smhd])$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

const { values } = parseArgs({ options: { sub: { type: 'string' }, name: { type: 'string' }, rooms: { type: 'string' }, ttl: { type: 'string', default: '1h' }, help: { type: 'boolean' } } });
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.sub) fail(`--sub is required\n${USAGE}`);
const ttl = parseTtl(values.ttl);
if (ttl === undefined) fail(`--ttl ${values.ttl}: expected a number with s, m, h or d, like 1h`);
let auth;
try {
  auth = parseConfig(process.env).identity.auth;
} catch (err) {
  fail(err instanceof ConfigError ? `Configuration error: ${err.message}` : String(err));
}
if (!auth?.secret) fail('AUTH_JWT_SECRET is not set (environment or .env): it signs the token; see .env.example');
const rooms = values.rooms?.split(',').map((r) => r.trim()).filter(Boolean);
const jwt = new SignJWT({ ...(values.name ? { name: values.name } : {}), ...(rooms ? { rooms } : {}) })
  .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
  .setSubject(values.sub)
  .setIssuedAt()
  .setExpirationTime(`${ttl}s`);
if (auth.issuer) jwt.setIssuer(auth.issuer);
if (auth.audience) jwt.setAudience(auth.audience);
console.log(await jwt.sign(auth.secret));
