/**
 * What an event row keeps about the client, with privacy in mind: the address truncated to its
 * network (/24 for IPv4, /48 for IPv6) as seen through trusted proxies only (Express's req.ip
 * with TRUST_PROXY), the user agent and its class, and the referring host.
 */
import net from 'node:net';
import { isbot } from 'isbot';

export function truncateIp(ip: string | undefined): string | null {
  if (!ip) return null;
  const v4 = ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  if (net.isIPv4(v4)) return `${v4.split('.').slice(0, 3).join('.')}.0`;
  if (net.isIPv6(ip)) {
    const full = expandIpv6(ip);
    return full ? `${full.slice(0, 3).join(':')}::` : null;
  }
  return null;
}

function expandIpv6(ip: string): string[] | undefined {
  const [head, tail] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail !== undefined && tail !== '' ? tail.split(':') : [];
  if (tail === undefined) return left.length === 8 ? left.map((p) => p.replace(/^0+(?=.)/, '')) : undefined;
  const zeros = Array(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((p) => p.replace(/^0+(?=.)/, '') || '0');
}

const agentClasses = new Map<string, 'bot' | 'human'>();

/** isbot runs one large regular expression; the same few agents come back again and again. */
export function agentClass(userAgent: string | undefined): 'bot' | 'human' | 'unknown' {
  if (!userAgent) return 'unknown';
  let known = agentClasses.get(userAgent);
  if (!known) {
    known = isbot(userAgent) ? 'bot' : 'human';
    if (agentClasses.size > 2000) agentClasses.clear();
    agentClasses.set(userAgent, known);
  }
  return known;
}

export function referrerHost(referrer: string | undefined): string | null {
  if (!referrer) return null;
  try {
    const url = new URL(referrer);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.host.toLowerCase().slice(0, 255) : null;
  } catch {
    return null;
  }
}

/** Header values are capped before they reach the database. */
export function capped(value: string | undefined, max = 512): string | null {
  return value ? value.slice(0, max) : null;
}
