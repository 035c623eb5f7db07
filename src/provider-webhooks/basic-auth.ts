// HTTP Basic credentials (RFC 7617) checked in constant time: both sides are
// hashed first, so neither the length nor the first differing byte leaks.
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function basicAuthMatches(authorization: string | undefined, user: string, password: string): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  const given = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
  // Both compared whatever happens, so a wrong user takes as long as a wrong password.
  const sep = given.indexOf(':');
  const okUser = timingSafeEqual(digest(sep < 0 ? '' : given.slice(0, sep)), digest(user));
  const okPassword = timingSafeEqual(digest(sep < 0 ? '' : given.slice(sep + 1)), digest(password));
  return m !== null && sep >= 0 && okUser && okPassword;
}
