/**
 * Hash routing (`#/researcher/query`): the hub serves one index.html and every deep link
 * works after a reload without server-side routes.
 */
import { useEffect, useState, type ReactNode } from 'react';

/** The current route as path segments, e.g. ['auditor', 'trace', '12']. */
export function useRoute(): string[] {
  const [hash, setHash] = useState(() => location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
}

/** Navigates to a route (segments are URI-encoded). */
export function navigate(...segments: (string | number)[]): void {
  location.hash = `#/${segments.map((s) => encodeURIComponent(String(s))).join('/')}`;
}

/** A link to a route; `aria-current="page"` when it is the one shown. */
export function Link(props: { to: string; current?: boolean; children: ReactNode; className?: string }) {
  return (
    <a href={`#/${props.to}`} className={props.className} aria-current={props.current ? 'page' : undefined}>
      {props.children}
    </a>
  );
}

/** One page of a role: `path` is matched against the route's first segments. */
export interface RouteDef {
  path: string;
  /** Key under common `nav.*` naming the page in the navigation (omitted: not in the nav). */
  nav?: 'catalog' | 'keys' | 'requests' | 'grants' | 'query' | 'pending' | 'activeGrants' | 'usage' | 'consent' | 'log' | 'trace' | 'accounts' | 'credits';
  render: (rest: string[]) => ReactNode;
}
